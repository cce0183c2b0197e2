"""Poll actions: `poll.create`, `poll.open`, `poll.close` (staff) and `poll.vote` (anyone
joined). Room events: `poll.created` (backstage), `poll.opened`, `poll.results` (public when
the poll shows results live, else backstage), `poll.closed` (with the final results).

Results are not counted per vote: a vote schedules one `poll.results` per poll and tick in
this process, which reads the counts with one grouped query, however many votes came in
meanwhile. Every process does the same for its own voters, from the same database."""

from __future__ import annotations

import asyncio
import logging
from typing import Annotated, Any

from asgiref.sync import sync_to_async
from pydantic import ConfigDict, Field

from antenne.live import hub
from antenne.live.actions import Context, action, staff
from antenne.live.protocol import Payload
from antenne.rooms import polls
from antenne.rooms.models import Poll
from antenne.rooms.participants import Participant
from antenne.rooms.push import Audience, publish

logger = logging.getLogger("antenne.live")

NO_NUL = r"^[^\x00]*$"


class PollCreatePayload(Payload):
    model_config = ConfigDict(strict=True)

    question: str = Field(min_length=1, max_length=polls.MAX_QUESTION, pattern=NO_NUL)
    options: list[
        Annotated[str, Field(min_length=1, max_length=polls.MAX_OPTION, pattern=NO_NUL)]
    ] = Field(min_length=polls.MIN_OPTIONS, max_length=polls.MAX_OPTIONS)
    multiple: bool = False
    results_live: bool = False


class PollIdPayload(Payload):
    model_config = ConfigDict(strict=True)

    poll_id: int = Field(ge=1)


class PollVotePayload(Payload):
    model_config = ConfigDict(strict=True)

    poll_id: int = Field(ge=1)
    # Range, repeats and "one only" are checked against the poll (poll.* codes).
    choices: list[int] = Field(max_length=polls.MAX_OPTIONS)


def results_visible(poll: Poll, participant: Participant) -> bool:
    """Speakers and staff always; attendees when the poll shows results live, or once closed."""
    return participant.is_backstage or poll.results_live or poll.state == Poll.State.CLOSED


@action("poll.create", PollCreatePayload, staff)
async def create(ctx: Context, data: PollCreatePayload) -> dict[str, Any]:
    poll = await sync_to_async(polls.create_poll)(
        participant=ctx.participant,
        question=data.question,
        options=data.options,
        multiple=data.multiple,
        results_live=data.results_live,
    )
    empty = polls.Results([0] * len(poll.options), 0)
    await publish(
        ctx.session_id, "poll.created", polls.poll_data(poll, empty), audience=Audience.BACKSTAGE
    )
    return {"id": poll.pk}


@action("poll.open", PollIdPayload, staff)
async def open_(ctx: Context, data: PollIdPayload) -> dict[str, Any]:
    poll = await sync_to_async(polls.open_poll)(participant=ctx.participant, poll_id=data.poll_id)
    empty = polls.Results([0] * len(poll.options), 0) if poll.results_live else None
    await publish(ctx.session_id, "poll.opened", polls.poll_data(poll, empty))
    return {"id": poll.pk}


@action("poll.close", PollIdPayload, staff)
async def close(ctx: Context, data: PollIdPayload) -> dict[str, Any]:
    def write() -> tuple[Poll, polls.Results]:
        poll = polls.close_poll(participant=ctx.participant, poll_id=data.poll_id)
        return poll, polls.results_of([poll])[poll.pk]

    poll, results = await sync_to_async(write)()
    await publish(ctx.session_id, "poll.closed", polls.poll_data(poll, results))
    return {"id": poll.pk, "results": results.as_dict()}


@action("poll.vote", PollVotePayload)
async def vote(ctx: Context, data: PollVotePayload) -> dict[str, Any]:
    poll = await sync_to_async(polls.answer_poll)(
        participant=ctx.participant, poll_id=data.poll_id, choices=data.choices
    )
    _schedule_results(ctx.session_id, poll.pk)
    return {"id": poll.pk}


# poll id -> the pending results publish of this process (at most one per poll and tick).
_scheduled: dict[int, asyncio.Task[None]] = {}


def _schedule_results(session_id: int, poll_id: int) -> None:
    loop = asyncio.get_running_loop()
    pending = _scheduled.get(poll_id)
    if pending is not None and not pending.done() and pending.get_loop() is loop:
        return
    _scheduled[poll_id] = loop.create_task(_publish_results(session_id, poll_id))


async def _publish_results(session_id: int, poll_id: int) -> None:
    """After a tick, publish the poll's running results once for all the votes meanwhile:
    to everyone when the poll shows results live, else to speakers and staff only."""
    try:
        await asyncio.sleep(hub.TICK)
        if _scheduled.get(poll_id) is asyncio.current_task():
            del _scheduled[poll_id]  # votes from now on schedule the next publish
        found = await sync_to_async(polls.open_poll_results)(poll_id=poll_id)
        if found is None:
            return  # closed meanwhile: `poll.closed` carries the final results
        poll, results = found
        data = {"id": poll.pk, "results": results.as_dict()}
        await publish(
            session_id,
            "poll.results",
            data,
            audience=Audience.PUBLIC if poll.results_live else Audience.BACKSTAGE,
        )
    except asyncio.CancelledError:
        raise
    except Exception:
        logger.exception("publishing the results of poll %s failed", poll_id)


def poll_snapshot(participant: Participant) -> dict[str, Any]:
    """The polls part of the join reply (synchronous: call it inside the snapshot's
    `sync_to_async`): the session's last 20 polls this participant may see (drafts for
    speakers and staff), oldest first, with results where this participant may see them and
    `voted`, their own answer (chosen indexes) or null. Three queries."""
    found = polls.polls_for(participant=participant)
    visible = [poll for poll in found if results_visible(poll, participant)]
    results = polls.results_of(visible)
    answers = polls.answers_of(participant=participant, poll_ids=[poll.pk for poll in found])
    return {
        "polls": [
            {**polls.poll_data(poll, results.get(poll.pk)), "voted": answers.get(poll.pk)}
            for poll in found
        ]
    }
