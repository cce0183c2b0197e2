"""Polls of the live room: staff create a draft, open it, close it; everyone joined answers
once while it is open. Called by `antenne.live.polls` through `sync_to_async`; every rule
lives here.

An answer is one `PollVote` row per person (`voter_key`) and poll, its choices stored sorted,
so the results are one indexed GROUP BY over the poll's answers (one group per distinct
combination of choices: at most the number of options for a single-choice poll)."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from django.db import IntegrityError, transaction
from django.db.models import Count
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from antenne.core.exceptions import Conflict, Invalid, NotFound
from antenne.rooms.models import Poll, PollVote
from antenne.rooms.participants import Participant, require_in_room, require_staff
from antenne.rooms.qa import voter_key

MIN_OPTIONS, MAX_OPTIONS = 2, 10
MAX_QUESTION, MAX_OPTION = 300, 200
SNAPSHOT_LIMIT = 20


@dataclass(frozen=True)
class Results:
    counts: list[int]  # per option, in the options' order
    voters: int

    def as_dict(self) -> dict[str, object]:
        return {"counts": self.counts, "voters": self.voters}


def poll_data(poll: Poll, results: Results | None) -> dict[str, Any]:
    """A poll as pages get it; `results` None when this audience may not see them yet."""
    return {
        "id": poll.pk,
        "question": poll.question,
        "options": list(poll.options),
        "multiple": poll.multiple,
        "results_live": poll.results_live,
        "state": poll.state,
        "results": results.as_dict() if results is not None else None,
    }


def create_poll(
    *,
    participant: Participant,
    question: str,
    options: list[str],
    multiple: bool = False,
    results_live: bool = False,
) -> Poll:
    """A draft poll, seen by speakers and staff only until opened."""
    require_staff(participant)
    question = question.strip()
    options = [option.strip() for option in options]
    if not question:
        raise Invalid(_("The poll's question is empty."), code="poll.empty")
    if len(question) > MAX_QUESTION:
        raise Invalid(_("The poll's question is too long."), code="poll.too_long")
    if not MIN_OPTIONS <= len(options) <= MAX_OPTIONS:
        raise Invalid(_("A poll has 2 to 10 options."), code="poll.options_count")
    if not all(options) or any(len(option) > MAX_OPTION for option in options):
        raise Invalid(_("Each option has 1 to 200 characters."), code="poll.option_invalid")
    if len({option.casefold() for option in options}) != len(options):
        raise Invalid(_("Two options are the same."), code="poll.duplicate_option")
    return Poll.objects.create(
        session_id=participant.session_id,
        question=question,
        options=options,
        multiple=multiple,
        results_live=results_live,
    )


def _poll(participant: Participant, poll_id: int, *, lock: bool = False) -> Poll:
    """The poll if it belongs to the participant's session (drafts: for speakers and staff
    only), else `poll.not_found`."""
    polls = Poll.objects.filter(pk=poll_id, session_id=participant.session_id)
    if not participant.is_backstage:
        polls = polls.exclude(state=Poll.State.DRAFT)
    if lock:
        polls = polls.select_for_update()
    poll = polls.first()
    if poll is None:
        raise NotFound(_("No such poll."), code="poll.not_found")
    return poll


def open_poll(*, participant: Participant, poll_id: int) -> Poll:
    require_staff(participant)
    with transaction.atomic():
        poll = _poll(participant, poll_id, lock=True)
        if poll.state != Poll.State.DRAFT:
            raise Conflict(_("This poll has already been opened."), code="poll.not_draft")
        poll.state, poll.opened_at = Poll.State.OPEN, timezone.now()
        poll.save(update_fields=["state", "opened_at"])
    return poll


def close_poll(*, participant: Participant, poll_id: int) -> Poll:
    require_staff(participant)
    with transaction.atomic():
        poll = _poll(participant, poll_id, lock=True)
        if poll.state != Poll.State.OPEN:
            raise Conflict(_("This poll is not open."), code="poll.not_open")
        poll.state, poll.closed_at = Poll.State.CLOSED, timezone.now()
        poll.save(update_fields=["state", "closed_at"])
    return poll


def close_open_polls(*, session_id: int) -> list[tuple[Poll, Results]]:
    """Close every poll of the session still open (the session ended), with their final
    results. The rows are locked, so an answer cannot slip in after the count."""
    with transaction.atomic():
        still_open = list(
            Poll.objects.select_for_update()
            .filter(session_id=session_id, state=Poll.State.OPEN)
            .order_by("pk")
        )
        now = timezone.now()
        for poll in still_open:
            poll.state, poll.closed_at = Poll.State.CLOSED, now
        Poll.objects.bulk_update(still_open, ["state", "closed_at"])
        results = results_of(still_open)
    return [(poll, results[poll.pk]) for poll in still_open]


def clean_choices(poll: Poll, choices: list[int]) -> list[int]:
    """The chosen option indexes, sorted, or Invalid: at least one, each an index of the
    poll's options, no repeats, exactly one unless the poll is multiple choice."""
    if not choices:
        raise Invalid(_("Choose at least one option."), code="poll.no_choice")
    if any(not 0 <= choice < len(poll.options) for choice in choices):
        raise Invalid(_("This option does not exist."), code="poll.invalid_choice")
    if len(set(choices)) != len(choices):
        raise Invalid(_("An option is chosen twice."), code="poll.duplicate_choice")
    if not poll.multiple and len(choices) != 1:
        raise Invalid(_("Choose one option only."), code="poll.single_choice")
    return sorted(choices)


def answer_poll(*, participant: Participant, poll_id: int, choices: list[int]) -> Poll:
    """One answer per person, while the poll is open. The poll row is locked for the
    insert, so an answer cannot slip in after `close_poll` computed the final counts."""
    require_in_room(participant)
    voter = voter_key(participant)
    try:
        with transaction.atomic():
            poll = _poll(participant, poll_id, lock=True)
            if poll.state != Poll.State.OPEN:
                raise Conflict(_("This poll is not open."), code="poll.not_open")
            PollVote.objects.create(
                poll=poll,
                registration_id=participant.registration_id,
                voter=voter,
                choices=clean_choices(poll, choices),
            )
    except IntegrityError:
        raise Conflict(
            _("You have already answered this poll."), code="poll.already_voted"
        ) from None
    return poll


def results_of(polls: Iterable[Poll]) -> dict[int, Results]:
    """Counts per option and number of voters of each poll, in one grouped query."""
    by_id = {poll.pk: poll for poll in polls}
    counts = {pk: [0] * len(poll.options) for pk, poll in by_id.items()}
    voters = dict.fromkeys(by_id, 0)
    if by_id:
        groups = (
            PollVote.objects.filter(poll_id__in=list(by_id))
            .order_by()
            .values_list("poll_id", "choices")
            .annotate(n=Count("id"))
        )
        for poll_id, choices, n in groups:
            voters[poll_id] += n
            for choice in choices:
                if 0 <= choice < len(counts[poll_id]):
                    counts[poll_id][choice] += n
    return {pk: Results(counts[pk], voters[pk]) for pk in by_id}


def open_poll_results(*, poll_id: int) -> tuple[Poll, Results] | None:
    """The running results of a poll still open (None once closed: `poll.closed` carries
    the final ones)."""
    poll = Poll.objects.filter(pk=poll_id, state=Poll.State.OPEN).first()
    if poll is None:
        return None
    return poll, results_of([poll])[poll.pk]


def polls_for(*, participant: Participant, limit: int = SNAPSHOT_LIMIT) -> list[Poll]:
    """The session's latest polls a newcomer sees: open and closed ones (drafts too for
    speakers and staff), oldest first."""
    polls = Poll.objects.filter(session_id=participant.session_id)
    if not participant.is_backstage:
        polls = polls.exclude(state=Poll.State.DRAFT)
    return list(reversed(polls.order_by("-id")[:limit]))


def answers_of(*, participant: Participant, poll_ids: list[int]) -> dict[int, list[int]]:
    """The participant's own answers to `poll_ids` (poll id → chosen indexes)."""
    if not poll_ids:
        return {}
    rows = PollVote.objects.filter(voter=voter_key(participant), poll_id__in=poll_ids)
    return dict(rows.values_list("poll_id", "choices"))
