"""Q&A of the live room: ask, upvote once, staff mark answered, dismiss or reopen. Called by
`antenne.live.qa` through `sync_to_async`; every rule lives here.

Who is who: a question keeps its author's registration (attendees) and presence (the
connection it was asked from, which gives the role of speakers and staff). A vote is one
`QuestionVote` row per person and question, keyed by `voter_key`."""

from __future__ import annotations

from django.db import IntegrityError, transaction
from django.db.models import F
from django.utils.translation import gettext_lazy as _

from antenne.core.exceptions import Conflict, Invalid, NotFound, PermissionDenied
from antenne.rooms.models import Presence, Question, QuestionVote
from antenne.rooms.moderation import is_muted, muted_error, room_settings
from antenne.rooms.participants import Participant, require_in_room, require_staff

MAX_TEXT = 1000
SNAPSHOT_LIMIT = 100


def voter_key(participant: Participant) -> str:
    """One person, whatever their connection: "r:<registration>", else "u:<user>" (staff,
    speakers with an account), else "s:<speaker>" (guest speakers)."""
    if participant.registration_id is not None:
        return f"r:{participant.registration_id}"
    if participant.user_id is not None:
        return f"u:{participant.user_id}"
    if participant.speaker_id is not None:
        return f"s:{participant.speaker_id}"
    raise PermissionDenied(_("Join with your personal link."), code="join.unauthenticated")


def ask_question(
    *, participant: Participant, presence_id: int | None, text: str, anonymous: bool = False
) -> Question:
    """A new open question. Refused when staff closed the Q&A (staff themselves may still
    ask, to seed questions) and for muted attendees."""
    text = text.strip()
    if not text:
        raise Invalid(_("The question is empty."), code="qa.empty")
    if len(text) > MAX_TEXT:
        raise Invalid(_("The question is too long."), code="qa.too_long")
    require_in_room(participant)
    if not participant.is_staff and not room_settings(participant.session_id).questions_enabled:
        raise Conflict(_("Questions are closed for now."), code="qa.disabled")
    if is_muted(session_id=participant.session_id, registration_id=participant.registration_id):
        raise muted_error()
    return Question.objects.create(
        session_id=participant.session_id,
        registration_id=participant.registration_id,
        presence_id=presence_id,
        author_name=participant.name[:200],
        anonymous=anonymous,
        text=text,
    )


def author_role(question: Question) -> str | None:
    """attendee / speaker / staff, or None when unknown (the presence row is gone)."""
    if question.registration_id is not None:
        return Presence.Role.ATTENDEE
    return question.presence.role if question.presence is not None else None


def _question(participant: Participant, question_id: int, *, lock: bool = False) -> Question:
    """The question if it belongs to the participant's session, else `qa.not_found`."""
    questions = Question.objects.filter(pk=question_id, session_id=participant.session_id)
    # (FOR UPDATE cannot lock the nullable side of a join: no select_related then.)
    questions = questions.select_for_update() if lock else questions.select_related("presence")
    question = questions.first()
    if question is None:
        raise NotFound(_("No such question."), code="qa.not_found")
    return question


def _is_author(question: Question, participant: Participant, presence_id: int | None) -> bool:
    if participant.registration_id is not None:
        return question.registration_id == participant.registration_id
    if question.registration_id is not None:
        return False
    if (
        participant.user_id is not None
        and question.presence is not None
        and question.presence.user_id == participant.user_id
    ):
        return True
    return presence_id is not None and question.presence_id == presence_id


def upvote_question(
    *, participant: Participant, presence_id: int | None, question_id: int
) -> Question:
    """One upvote per person and open question (not one's own); the count is kept in
    `Question.votes`, incremented in the database (F()) so concurrent votes all count."""
    require_in_room(participant)
    voter = voter_key(participant)
    question = _question(participant, question_id)
    if question.state != Question.State.OPEN:
        raise Conflict(_("This question is not open any more."), code="qa.not_open")
    if _is_author(question, participant, presence_id):
        raise Conflict(_("You cannot upvote your own question."), code="qa.own_question")
    try:
        with transaction.atomic():
            QuestionVote.objects.create(
                question=question, registration_id=participant.registration_id, voter=voter
            )
            Question.objects.filter(pk=question.pk).update(votes=F("votes") + 1)
    except IntegrityError:
        raise Conflict(
            _("You have already upvoted this question."), code="qa.already_voted"
        ) from None
    question.votes = Question.objects.values_list("votes", flat=True).get(pk=question.pk)
    return question


def set_question_state(
    *, participant: Participant, question_id: int, state: str
) -> tuple[Question, str]:
    """Staff mark a question answered, dismiss it, or reopen it. Returns the question and its
    previous state (doing it twice is not an error: the state is then unchanged)."""
    if state not in Question.State.values:
        raise ValueError(f"unknown question state {state!r}")
    require_staff(participant)
    with transaction.atomic():
        question = _question(participant, question_id, lock=True)
        previous = question.state
        if previous != state:
            question.state = state
            question.save(update_fields=["state"])
    return question, previous


def questions_for(*, participant: Participant, limit: int = SNAPSHOT_LIMIT) -> list[Question]:
    """What a newcomer sees: open and answered questions, most upvoted first (dismissed ones
    too for staff, who may reopen them)."""
    states = [Question.State.OPEN, Question.State.ANSWERED]
    if participant.is_staff:
        states.append(Question.State.DISMISSED)
    questions = Question.objects.filter(session_id=participant.session_id, state__in=states)
    return list(questions.select_related("presence").order_by("-votes", "id")[:limit])


def own_question_ids(*, participant: Participant, questions: list[Question]) -> list[int]:
    """Which of `questions` the participant asked, from any of their connections (the page
    offers no upvote on those: the server refuses it). `questions` come from
    `questions_for` (their presence is loaded)."""
    return sorted(q.pk for q in questions if _is_author(q, participant, None))


def voted_question_ids(*, participant: Participant, question_ids: list[int]) -> list[int]:
    """Which of `question_ids` the participant upvoted (the page disables those buttons)."""
    if not question_ids:
        return []
    return sorted(
        QuestionVote.objects.filter(
            voter=voter_key(participant), question_id__in=question_ids
        ).values_list("question_id", flat=True)
    )
