"""The room side of telephone dial-in: staff give a caller the floor or take it
back (`set_floor`, the live action `phone.floor`), and the gateway raises or lowers a
caller's hand when they press *1 (`phone_hand`).

A caller in the room is a `rooms.Presence` (role attendee, device phone; `registration`
set when they typed a personal PIN) held by a `PhoneCall`. Rules live here; what follows a
change goes to the room after commit (`rooms.push`):

- the gateway's processes of the session (group `live.push.telephony_group(session_id)`) get
  `{"type": "phone.floor", "presence_id", "floor"}` and publish or stop the caller's voice;
- the room's speakers and staff get the same events as for a browser: `hand.raised` /
  `hand.lowered` (with the caller's `presence_id` and masked number, since a caller without
  a personal PIN has neither registration nor name), `hands` for everyone when the room
  shows names, and `phone.floor` when the floor changes, so the console redraws its people
  list."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from asgiref.sync import sync_to_async
from django.db import transaction
from django.db.models import QuerySet
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from antenne.core import actions
from antenne.core.exceptions import Conflict, NotFound
from antenne.rooms import hands, moderation, push
from antenne.rooms.models import PhoneCall, Presence
from antenne.rooms.participants import Participant, require_in_room, require_staff


@dataclass(frozen=True)
class Caller:
    """A telephone caller's attendance row and call, as the room sees them."""

    presence_id: int
    session_id: int
    registration_id: int | None
    name: str | None  # the registration's first name; None without a personal PIN
    number: str  # masked: "+33 6 •• •• •• 42"
    call_id: int
    floor: bool
    left_at: datetime | None

    @property
    def connected(self) -> bool:
        return self.left_at is None

    def event_data(self) -> dict[str, Any]:
        """Who, in the room's backstage events: like a browser attendee's `{registration_id,
        name}`, with what names a caller without a personal PIN."""
        return {
            "registration_id": self.registration_id,
            "name": self.name,
            "presence_id": self.presence_id,
            "phone": {"number": self.number},
        }


def _caller(presence_id: int, *, session_id: int | None = None) -> Caller:
    """The caller on attendance row `presence_id` (of `session_id` when given), in one query.
    `room.not_found` when there is no such row, `phone.not_a_caller` when it is not a
    telephone call's."""
    rows = Presence.objects.filter(pk=presence_id)
    if session_id is not None:
        rows = rows.filter(session_id=session_id)
    row = rows.values_list(
        "session_id",
        "device",
        "left_at",
        "registration_id",
        "registration__first_name",
        "phone_call__pk",
        "phone_call__caller_masked",
        "phone_call__floor",
    ).first()
    if row is None:
        raise NotFound(_("This person is not in this room."), code="room.not_found")
    session, device, left_at, registration_id, first_name, call_id, number, floor = row
    if device != Presence.Device.PHONE or call_id is None:
        raise Conflict(_("This person is not on the telephone."), code="phone.not_a_caller")
    return Caller(
        presence_id=presence_id,
        session_id=session,
        registration_id=registration_id,
        name=first_name if registration_id is not None else None,
        number=number,
        call_id=call_id,
        floor=floor,
        left_at=left_at,
    )


def _hung_up() -> Conflict:
    return Conflict(_("This caller has hung up."), code="phone.hung_up")


def _raised_hands(caller: Caller) -> QuerySet[Presence]:
    """The open connections that carry this caller's hand: all of their registration's (a
    hand is one per person), or the call's own row without a personal PIN."""
    if caller.registration_id is not None:
        return Presence.objects.filter(
            session_id=caller.session_id,
            registration_id=caller.registration_id,
            left_at__isnull=True,
            hand_raised_at__isnull=False,
        )
    return Presence.objects.filter(
        pk=caller.presence_id, left_at__isnull=True, hand_raised_at__isnull=False
    )


def _lower(caller: Caller) -> bool:
    return bool(_raised_hands(caller).update(hand_raised_at=None))


# ---------------------------------------------------------------------------------------------
# Staff: the floor


def set_floor(*, participant: Participant, presence_id: int, floor: bool) -> dict[str, Any]:
    """Staff give a telephone caller the floor (their voice is published in the room) or
    take it back. Same right as inviting someone on stage (`require_staff`). Giving the floor
    lowers the caller's hand. Doing it twice changes nothing and tells nobody again.

    Errors: `permission.not_staff` / `permission.not_animator` (and `room.closed`),
    `room.not_found` (no such row in this session), `phone.not_a_caller`, `phone.hung_up`.
    Returns `{"presence_id", "floor"}`."""
    require_staff(participant)
    with transaction.atomic():
        caller = _caller(presence_id, session_id=participant.session_id)
        call = PhoneCall.objects.select_for_update().get(pk=caller.call_id)
        if not caller.connected:
            raise _hung_up()
        changed = call.floor != floor
        if changed:
            call.floor = floor
            call.save(update_fields=["floor"])
            moderation.audit_moderation(
                participant,
                actions.ROOM_PHONE_FLOOR_GIVEN if floor else actions.ROOM_PHONE_FLOOR_TAKEN,
                presence_id=presence_id,
                phone_call_id=call.pk,
            )
        lowered = floor and _lower(caller)
        if changed:
            push.after_commit(_floor_changed, caller, floor=floor)
        if lowered:
            push.after_commit(_hand_changed, caller, raised=False)
    return {"presence_id": presence_id, "floor": floor}


async def _floor_changed(caller: Caller, *, floor: bool) -> None:
    await push.send_to_telephony(
        caller.session_id,
        {"type": "phone.floor", "presence_id": caller.presence_id, "floor": floor},
    )
    await _floor_shown(caller, floor=floor)


def floor_lost(*, presence_id: int) -> bool:
    """The gateway could not publish the caller's voice (the session is not live, the
    media engine refused): the floor is not theirs after all, and the console is told.
    Returns whether anything changed."""
    with transaction.atomic():
        caller = _caller(presence_id)
        changed = bool(PhoneCall.objects.filter(pk=caller.call_id, floor=True).update(floor=False))
        if changed:
            push.after_commit(_floor_shown, caller, floor=False)
    return changed


async def _floor_shown(caller: Caller, *, floor: bool) -> None:
    await push.publish(
        caller.session_id,
        "phone.floor",
        {**caller.event_data(), "floor": floor},
        audience=push.Audience.BACKSTAGE,
    )


# ---------------------------------------------------------------------------------------------
# The gateway: a caller's hand (*1)


def phone_hand(*, presence_id: int, raised: bool) -> bool:
    """The caller raises or lowers their hand from the telephone. Returns whether their hand
    is raised now. Raising follows the browser's rules (`hands.raise_hand`: one hand per
    person, `room.muted` for a muted registrant, `room.closed` once the session is over) and
    needs the call still in the room (`phone.hung_up`); lowering always works. Staff see it
    in the console as any other hand (`hand.raised` / `hand.lowered`)."""
    with transaction.atomic():
        caller = _caller(presence_id)
        changed = _raise(caller) if raised else _lower(caller)
        now_raised = _raised_hands(caller).exists()
        if changed:
            push.after_commit(_hand_changed, caller, raised=raised)
    return now_raised


def _raise(caller: Caller) -> bool:
    if not caller.connected:
        raise _hung_up()
    participant = Participant(
        session_id=caller.session_id,
        role=Presence.Role.ATTENDEE,
        name=caller.name or "",
        registration_id=caller.registration_id,
    )
    if caller.registration_id is not None:
        return hands.raise_hand(participant=participant, presence_id=caller.presence_id)
    require_in_room(participant)  # the session's state
    return bool(
        Presence.objects.filter(
            pk=caller.presence_id, left_at__isnull=True, hand_raised_at__isnull=True
        ).update(hand_raised_at=timezone.now())
    )


async def _hand_changed(caller: Caller, *, raised: bool) -> None:
    """As a browser's hand (`live.stage`): the queue backstage, the count for everyone when
    the room shows names, and a registrant's own pages told their hand went down."""
    await push.publish(
        caller.session_id,
        "hand.raised" if raised else "hand.lowered",
        caller.event_data(),
        audience=push.Audience.BACKSTAGE,
    )

    def count() -> int | None:
        if not moderation.room_settings(caller.session_id).show_attendee_names:
            return None
        return hands.hands_count(caller.session_id)

    count_shown = await sync_to_async(count)()
    if count_shown is not None:
        await push.publish(caller.session_id, "hands", {"count": count_shown})
    if not raised and caller.registration_id is not None:
        await moderation.tell_attendee(caller.session_id, caller.registration_id, "hand", False)
