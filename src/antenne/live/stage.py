"""Raised hands and the stage.

Hands: `hand.raise` / `hand.lower` (attendees, their own), `hand.lower_for` (staff). The
queue (`hand.raised` / `hand.lowered` with the person's registration id and name) goes to
speakers and staff only; when the room shows attendees' names, everyone also gets the
number of raised hands (`hands`).

Stage: `stage.invite` and `stage.remove` (staff), `stage.accept` / `stage.decline` (the
invitee), `stage.leave` (the person on stage steps down; their stream stops). Speakers and
staff get `stage.invited|accepted|declined|ended` with the person;
everyone gets `stage.invitation` `{invitation_id, state, target}`, where `target` is an HMAC
of the invitee's registration id (`participant_target`, given to each attendee at join):
exactly the invitee's client recognises itself, nobody else learns who it is."""

from __future__ import annotations

from typing import Any

from asgiref.sync import sync_to_async
from pydantic import Field

from antenne.live.actions import Context, action, staff
from antenne.live.moderation import PersonPayload, StrictPayload
from antenne.live.protocol import EmptyPayload
from antenne.media.signaling import taken_off_stage
from antenne.rooms import hands, moderation
from antenne.rooms import stage as room_stage
from antenne.rooms.models import Presence, StageInvitation
from antenne.rooms.participants import Participant
from antenne.rooms.push import Audience, publish


class InvitationPayload(StrictPayload):
    invitation_id: int = Field(ge=1)


def attendee(participant: Participant) -> bool:
    """Registrants (not speakers nor staff)."""
    return participant.role == Presence.Role.ATTENDEE and participant.registration_id is not None


def participant_target(participant: Participant) -> str:
    """This participant's stage `target` ("" for speakers and staff, who are not invited)."""
    if participant.registration_id is None:
        return ""
    return moderation.stage_target(participant.registration_id)


# -- Hands ----------------------------------------------------------------------------------


async def _hand_changed(session_id: int, person: moderation.Person, *, raised: bool) -> None:
    await publish(
        session_id,
        "hand.raised" if raised else "hand.lowered",
        {"registration_id": person.registration_id, "name": person.name},
        audience=Audience.BACKSTAGE,
    )

    def count() -> int | None:
        if not moderation.room_settings(session_id).show_attendee_names:
            return None
        return hands.hands_count(session_id)

    count_shown = await sync_to_async(count)()
    if count_shown is not None:
        await publish(session_id, "hands", {"count": count_shown})


def _me(ctx: Context) -> moderation.Person:
    assert ctx.participant.registration_id is not None  # noqa: S101 (attendee permission)
    return moderation.Person(ctx.participant.registration_id, ctx.participant.name)


@action("hand.raise", EmptyPayload, attendee)
async def raise_hand(ctx: Context, data: EmptyPayload) -> dict[str, Any]:
    changed = await sync_to_async(hands.raise_hand)(
        participant=ctx.participant, presence_id=ctx.presence_id
    )
    if changed:
        await _hand_changed(ctx.session_id, _me(ctx), raised=True)
    return {"raised": True}


@action("hand.lower", EmptyPayload, attendee)
async def lower_hand(ctx: Context, data: EmptyPayload) -> dict[str, Any]:
    changed = await sync_to_async(hands.lower_hand)(participant=ctx.participant)
    if changed:
        await _hand_changed(ctx.session_id, _me(ctx), raised=False)
    return {"raised": False}


@action("hand.lower_for", PersonPayload, staff)
async def lower_hand_for(ctx: Context, data: PersonPayload) -> dict[str, Any]:
    person, changed = await sync_to_async(hands.lower_hand_for)(
        participant=ctx.participant, registration_id=data.registration_id
    )
    if changed:
        await _hand_changed(ctx.session_id, person, raised=False)
        await moderation.tell_attendee(ctx.session_id, person.registration_id, "hand", False)
    return {"registration_id": person.registration_id, "raised": False}


async def presence_closed(presence_id: int) -> None:
    """For the consumer's `disconnect`, after `record_leave`: a hand raised on the closed
    connection goes down, and staff see it leave the queue."""
    closed = await sync_to_async(hands.close_hand)(presence_id=presence_id)
    if closed is not None:
        session_id, person = closed
        await _hand_changed(session_id, person, raised=False)


# -- Stage ----------------------------------------------------------------------------------

STAGE_EVENTS = {
    StageInvitation.State.INVITED: "stage.invited",
    StageInvitation.State.ACCEPTED: "stage.accepted",
    StageInvitation.State.DECLINED: "stage.declined",
    StageInvitation.State.ENDED: "stage.ended",
}


async def _stage_changed(invitation: StageInvitation, person: moderation.Person) -> None:
    data = {"invitation_id": invitation.pk, "state": invitation.state}
    await publish(
        invitation.session_id,
        STAGE_EVENTS[StageInvitation.State(invitation.state)],
        {**data, "registration_id": person.registration_id, "name": person.name},
        audience=Audience.BACKSTAGE,
    )
    target = moderation.stage_target(person.registration_id)
    await publish(invitation.session_id, "stage.invitation", {**data, "target": target})


def _reply(invitation: StageInvitation, person: moderation.Person) -> dict[str, Any]:
    return {
        "invitation_id": invitation.pk,
        "registration_id": person.registration_id,
        "state": invitation.state,
    }


@action("stage.invite", PersonPayload, staff)
async def invite(ctx: Context, data: PersonPayload) -> dict[str, Any]:
    invitation, person, _created = await sync_to_async(room_stage.invite_to_stage)(
        participant=ctx.participant, registration_id=data.registration_id
    )
    # Sent again when re-invited: the invitee may have reconnected since.
    await _stage_changed(invitation, person)
    return _reply(invitation, person)


@action("stage.accept", InvitationPayload, attendee)
async def accept(ctx: Context, data: InvitationPayload) -> dict[str, Any]:
    return await _answer(ctx, data.invitation_id, accept=True)


@action("stage.decline", InvitationPayload, attendee)
async def decline(ctx: Context, data: InvitationPayload) -> dict[str, Any]:
    return await _answer(ctx, data.invitation_id, accept=False)


async def _answer(ctx: Context, invitation_id: int, *, accept: bool) -> dict[str, Any]:
    invitation, person, changed, lowered = await sync_to_async(room_stage.answer_invitation)(
        participant=ctx.participant, invitation_id=invitation_id, accept=accept
    )
    if changed:
        await _stage_changed(invitation, person)
    if lowered:  # on stage, the hand has done its job: staff's queue and the person's pages
        await _hand_changed(ctx.session_id, person, raised=False)
        await moderation.tell_attendee(ctx.session_id, person.registration_id, "hand", False)
    return _reply(invitation, person)


@action("stage.leave", EmptyPayload, attendee)
async def leave(ctx: Context, data: EmptyPayload) -> dict[str, Any]:
    """The attendee on stage steps down: their stream stops, staff see it."""
    invitation, person = await sync_to_async(room_stage.leave_stage)(participant=ctx.participant)
    await taken_off_stage(ctx.session_id, person.registration_id)
    await _stage_changed(invitation, person)
    return _reply(invitation, person)


@action("stage.remove", PersonPayload, staff)
async def remove(ctx: Context, data: PersonPayload) -> dict[str, Any]:
    invitation, person = await sync_to_async(room_stage.remove_from_stage)(
        participant=ctx.participant, registration_id=data.registration_id
    )
    await taken_off_stage(ctx.session_id, person.registration_id)
    await _stage_changed(invitation, person)
    return _reply(invitation, person)
