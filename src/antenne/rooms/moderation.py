"""Moderation of the live room: room settings, mutes and chat rules, and what staff tell one
attendee. Raised hands, the stage and the people list are `rooms.hands`, `rooms.stage` and
`rooms.people`. Called by `antenne.live` through
`sync_to_async`; every rule lives here, the live modules only publish what changed.

Every write first re-checks the writer's right to be in the room (`require_in_room`,
`require_staff`): a registration revoked, a speaker link withdrawn, an animator removed or a
session ended since joining stops the person here."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.db import transaction
from django.db.models import (
    Exists,
    OuterRef,
    Value,
)
from django.utils import timezone
from django.utils.crypto import salted_hmac
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext

from antenne.accounts.models import User
from antenne.core import actions
from antenne.core.audit import log_action
from antenne.core.exceptions import Invalid, NotFound, PermissionDenied
from antenne.events.models import Session
from antenne.registrations.models import Registration
from antenne.rooms import push
from antenne.rooms.models import ChatMessage, Mute, RoomSettings, StageInvitation
from antenne.rooms.participants import Participant, require_staff

SETTINGS_FIELDS = ("chat_enabled", "slow_mode_seconds", "show_attendee_names", "questions_enabled")
MAX_SLOW_MODE_SECONDS = 600
PEOPLE_LIMIT = 2000
OPEN_STAGE = (StageInvitation.State.INVITED, StageInvitation.State.ACCEPTED)


@dataclass(frozen=True)
class Person:
    """An attendee as moderation events show them to speakers and staff."""

    registration_id: int
    name: str


def person_of(participant: Participant, registration_id: int, *, lock: bool = False) -> Person:
    """A registration of the participant's session, else `room.not_found`."""
    registrations = Registration.objects.filter(
        pk=registration_id, session_id=participant.session_id
    )
    if lock:
        registrations = registrations.select_for_update()
    row = registrations.values_list("pk", "first_name").first()
    if row is None:
        raise NotFound(_("No such registration."), code="room.not_found")
    return Person(registration_id=row[0], name=row[1])


# ---------------------------------------------------------------------------------------------
# Room settings


def room_settings(session_id: int) -> RoomSettings:
    """The session's settings, or the defaults (unsaved) when staff never changed them."""
    found = RoomSettings.objects.filter(session_id=session_id).first()
    return found if found is not None else RoomSettings(session_id=session_id)


def settings_data(room: RoomSettings) -> dict[str, Any]:
    return {name: getattr(room, name) for name in SETTINGS_FIELDS}


def audit_moderation(participant: Participant, action: str, **data: Any) -> None:
    """Moderation is a write like any other: it leaves an audit entry on the session, by the
    staff member who did it."""
    session = Session.objects.get(pk=participant.session_id)
    actor = User.objects.filter(pk=participant.user_id).first() if participant.user_id else None
    log_action(session, action, actor=actor, data=data)


def change_room_settings(
    *, participant: Participant, changes: dict[str, Any]
) -> tuple[RoomSettings, bool]:
    """Apply `changes` (a subset of SETTINGS_FIELDS; None means unchanged). Returns the
    settings and whether anything changed."""
    require_staff(participant)
    changes = {k: v for k, v in changes.items() if k in SETTINGS_FIELDS and v is not None}
    seconds = changes.get("slow_mode_seconds")
    if seconds is not None and not 0 <= seconds <= MAX_SLOW_MODE_SECONDS:
        # The payload schema bounds it already; the service holds the rule too.
        raise Invalid(_("Slow mode is 0 to 600 seconds."), code="room.settings_invalid")
    with transaction.atomic():
        room, _created = RoomSettings.objects.select_for_update().get_or_create(
            session_id=participant.session_id
        )
        changed = [name for name, value in changes.items() if getattr(room, name) != value]
        for name in changed:
            setattr(room, name, changes[name])
        if changed:
            room.save(update_fields=changed)
            audit_moderation(
                participant,
                actions.ROOM_SETTINGS_CHANGED,
                **{name: getattr(room, name) for name in changed},
            )
    return room, bool(changed)


# ---------------------------------------------------------------------------------------------
# Mutes and chat rules


def is_muted(*, session_id: int, registration_id: int | None) -> bool:
    """For every place an attendee writes (chat, Q&A): raise `room.muted` when True."""
    return (
        registration_id is not None
        and Mute.objects.filter(session_id=session_id, registration_id=registration_id).exists()
    )


def muted_error() -> PermissionDenied:
    return PermissionDenied(_("A moderator has muted you in this session."), code="room.muted")


def check_can_chat(participant: Participant, *, backstage: bool) -> None:
    """The room's chat rules, for `services.post_chat`: a muted attendee cannot write
    (`room.muted`); a disabled chat refuses everyone but staff (`chat.disabled`; the
    backstage chat stays open); slow mode makes attendees wait between two messages
    (`chat.slow_mode`, with the seconds left in the message and `retry_after`)."""
    if backstage or participant.is_staff:
        return
    rows = Session.objects.filter(pk=participant.session_id)
    if participant.registration_id is not None:
        rows = rows.annotate(
            muted=Exists(
                Mute.objects.filter(
                    session_id=OuterRef("pk"), registration_id=participant.registration_id
                )
            )
        )
    else:
        rows = rows.annotate(muted=Value(False))
    row = rows.values_list(
        "muted", "room_settings__chat_enabled", "room_settings__slow_mode_seconds"
    ).first()
    if row is None:
        return
    muted, chat_enabled, slow_mode_seconds = row
    if muted:
        raise muted_error()
    if chat_enabled is False:
        raise PermissionDenied(_("The chat is closed for now."), code="chat.disabled")
    if not slow_mode_seconds or participant.registration_id is None:
        return  # speakers are not slowed
    last = (
        ChatMessage.objects.filter(
            session_id=participant.session_id,
            registration_id=participant.registration_id,
            backstage=False,
        )
        .order_by("-id")
        .values_list("created_at", flat=True)
        .first()
    )
    if last is None:
        return
    left = slow_mode_seconds - (timezone.now() - last).total_seconds()
    if left > 0:
        seconds = math.ceil(left)
        raise PermissionDenied(
            ngettext(
                "Slow mode: wait %(seconds)d second before your next message.",
                "Slow mode: wait %(seconds)d seconds before your next message.",
                seconds,
            )
            % {"seconds": seconds},
            code="chat.slow_mode",
            retry_after=seconds,
        )


def mute(*, participant: Participant, registration_id: int) -> tuple[Person, bool]:
    """Staff silence an attendee in the chat and Q&A. Returns the person and whether they
    were not muted yet."""
    require_staff(participant)
    person = person_of(participant, registration_id)
    _mute, created = Mute.objects.get_or_create(
        session_id=participant.session_id,
        registration_id=person.registration_id,
        defaults={"by_id": participant.user_id},
    )
    if created:
        audit_moderation(
            participant, actions.ROOM_PERSON_MUTED, registration_id=person.registration_id
        )
    return person, created


def unmute(*, participant: Participant, registration_id: int) -> tuple[Person, bool]:
    require_staff(participant)
    person = person_of(participant, registration_id)
    deleted, _rows = Mute.objects.filter(
        session_id=participant.session_id, registration_id=person.registration_id
    ).delete()
    if deleted:
        audit_moderation(
            participant, actions.ROOM_PERSON_UNMUTED, registration_id=person.registration_id
        )
    return person, bool(deleted)


async def tell_attendee(session_id: int, registration_id: int, key: str, value: Any) -> None:
    """Tell one attendee what staff changed for them (`attendee.state` `{target, muted}` or
    `{target, hand}`): public, named by the attendee's stage `target`, so exactly their
    client recognises itself and nobody else learns who it is."""
    await push.publish(
        session_id, "attendee.state", {"target": stage_target(registration_id), key: value}
    )


def stage_target(registration_id: int) -> str:
    """A registration's stage `target`: an HMAC of its id with the SECRET_KEY, which its own
    client is given at join. Public stage events name their invitee by it, so exactly that
    client recognises itself while nobody else learns who it is."""
    digest = salted_hmac(
        "antenne.rooms.stage_target",
        str(registration_id),
        secret=settings.SECRET_KEY,
        algorithm="sha256",
    )
    return digest.hexdigest()[:20]
