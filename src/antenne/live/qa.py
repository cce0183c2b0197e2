"""Q&A actions: `qa.ask` and `qa.upvote` (anyone joined), `qa.answer`, `qa.dismiss` and
`qa.reopen` (staff). Room events: `qa.question`, `qa.votes`, `qa.state`.

A question goes out twice: the public variant in the room's frame, where the author is
"Anonymous" when they asked so and "Attendee" for attendees unless the room shows attendee
names; and the staff variant with the author's name always (anonymity holds for speakers). Pages
keep questions by id, so the staff copy, which arrives after the public one, wins."""

from __future__ import annotations

from typing import Any

from asgiref.sync import sync_to_async
from django.utils.translation import gettext
from pydantic import ConfigDict, Field

from antenne.live.actions import Context, action, staff
from antenne.live.protocol import Payload
from antenne.rooms import qa
from antenne.rooms.models import Presence, Question
from antenne.rooms.moderation import room_settings
from antenne.rooms.participants import Participant
from antenne.rooms.push import Audience, publish

NAMED_ROLES = {Presence.Role.SPEAKER, Presence.Role.STAFF}


class QaAskPayload(Payload):
    model_config = ConfigDict(strict=True)

    text: str = Field(min_length=1, max_length=qa.MAX_TEXT, pattern=r"^[^\x00]*$")
    anonymous: bool = False


class QuestionIdPayload(Payload):
    model_config = ConfigDict(strict=True)

    question_id: int = Field(ge=1)


def question_data(
    question: Question, *, role: str | None, backstage: bool, show_names: bool
) -> dict[str, Any]:
    """A question as pages get it. `backstage`: the speakers' and staff's variant, with the
    author's name whatever they chose; otherwise the author is hidden when anonymous (and so
    is their role), and attendees' names are hidden unless `show_names`."""
    if backstage or (not question.anonymous and (role in NAMED_ROLES or show_names)):
        author = question.author_name
    elif question.anonymous:
        author = gettext("Anonymous")
    else:
        author = gettext("Attendee")
    return {
        "id": question.pk,
        "text": question.text,
        "author": author,
        "anonymous": question.anonymous,
        "role": role if backstage or not question.anonymous else None,
        "votes": question.votes,
        "state": question.state,
        "at": question.created_at.isoformat(),
    }


async def _publish_question(
    session_id: int, question: Question, role: str | None, show_names: bool
) -> None:
    # Public first, then backstage: a speaker's or staff's page ends with the named copy.
    for backstage in (False, True):
        data = question_data(question, role=role, backstage=backstage, show_names=show_names)
        await publish(
            session_id,
            "qa.question",
            data,
            audience=Audience.STAFF if backstage else Audience.PUBLIC,
        )


@action("qa.ask", QaAskPayload)
async def ask(ctx: Context, data: QaAskPayload) -> dict[str, Any]:
    def write() -> tuple[Question, bool]:
        question = qa.ask_question(
            participant=ctx.participant,
            presence_id=ctx.presence_id,
            text=data.text,
            anonymous=data.anonymous,
        )
        return question, room_settings(ctx.session_id).show_attendee_names

    question, show_names = await sync_to_async(write)()
    await _publish_question(ctx.session_id, question, ctx.participant.role, show_names)
    return {"id": question.pk}


@action("qa.upvote", QuestionIdPayload)
async def upvote(ctx: Context, data: QuestionIdPayload) -> dict[str, Any]:
    question = await sync_to_async(qa.upvote_question)(
        participant=ctx.participant, presence_id=ctx.presence_id, question_id=data.question_id
    )
    await publish(ctx.session_id, "qa.votes", {"id": question.pk, "votes": question.votes})
    return {"id": question.pk, "votes": question.votes}


async def _set_state(ctx: Context, question_id: int, state: str) -> dict[str, Any]:
    def write() -> tuple[Question, str, str | None, bool]:
        question, previous = qa.set_question_state(
            participant=ctx.participant, question_id=question_id, state=state
        )
        if previous != Question.State.DISMISSED:
            return question, previous, None, False
        # Back from dismissed: pages that joined meanwhile never had it; send it again.
        return (
            question,
            previous,
            qa.author_role(question),
            room_settings(ctx.session_id).show_attendee_names,
        )

    question, previous, role, show_names = await sync_to_async(write)()
    if previous != state:
        if previous == Question.State.DISMISSED:
            await _publish_question(ctx.session_id, question, role, show_names)
        await publish(ctx.session_id, "qa.state", {"id": question.pk, "state": state})
    return {"id": question.pk, "state": state}


@action("qa.answer", QuestionIdPayload, staff)
async def answer(ctx: Context, data: QuestionIdPayload) -> dict[str, Any]:
    return await _set_state(ctx, data.question_id, Question.State.ANSWERED)


@action("qa.dismiss", QuestionIdPayload, staff)
async def dismiss(ctx: Context, data: QuestionIdPayload) -> dict[str, Any]:
    return await _set_state(ctx, data.question_id, Question.State.DISMISSED)


@action("qa.reopen", QuestionIdPayload, staff)
async def reopen(ctx: Context, data: QuestionIdPayload) -> dict[str, Any]:
    return await _set_state(ctx, data.question_id, Question.State.OPEN)


def qa_snapshot(participant: Participant) -> dict[str, Any]:
    """The Q&A part of the join reply (synchronous: call it inside the snapshot's
    `sync_to_async`): whether questions are open, the open and answered questions (and the
    dismissed ones for staff), 100 at most, most upvoted first, each in the variant this
    participant sees live, the ids of those they upvoted and of those they asked (`own`: the
    page offers no upvote on them, which the server refuses). Three queries."""
    settings = room_settings(participant.session_id)
    questions = qa.questions_for(participant=participant)
    ids = [question.pk for question in questions]
    return {
        "enabled": settings.questions_enabled,
        "questions": [
            question_data(
                question,
                role=qa.author_role(question),
                backstage=participant.is_staff,
                show_names=settings.show_attendee_names,
            )
            for question in questions
        ],
        "voted": qa.voted_question_ids(participant=participant, question_ids=ids),
        "own": qa.own_question_ids(participant=participant, questions=questions),
    }
