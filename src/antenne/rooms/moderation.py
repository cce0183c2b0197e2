"""Moderation of the live room: room settings, mutes and chat rules, raised hands, invitations
to the stage, and the list of connected people. Called by `antenne.live` through
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
    Case,
    Count,
    Exists,
    F,
    IntegerField,
    OuterRef,
    Q,
    QuerySet,
    Subquery,
    Value,
    When,
)
from django.utils import timezone
from django.utils.crypto import salted_hmac
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext

from antenne.core import actions
from antenne.core.exceptions import Conflict, Invalid, NotFound, PermissionDenied
from antenne.events.models import Session, Speaker
from antenne.registrations.models import Registration
from antenne.rooms.models import ChatMessage, Mute, Presence, RoomSettings, StageInvitation
from antenne.rooms.services import Participant, require_in_room, require_staff

SETTINGS_FIELDS = ("chat_enabled", "slow_mode_seconds", "show_attendee_names", "questions_enabled")
MAX_SLOW_MODE_SECONDS = 600
PEOPLE_LIMIT = 2000
OPEN_STAGE = (StageInvitation.State.INVITED, StageInvitation.State.ACCEPTED)


@dataclass(frozen=True)
class Person:
    """An attendee as moderation events show them to speakers and staff."""

    registration_id: int
    name: str


def _person(participant: Participant, registration_id: int, *, lock: bool = False) -> Person:
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
    from antenne.accounts.models import User
    from antenne.core.audit import log_action
    from antenne.events.models import Session

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
    person = _person(participant, registration_id)
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
    person = _person(participant, registration_id)
    deleted, _rows = Mute.objects.filter(
        session_id=participant.session_id, registration_id=person.registration_id
    ).delete()
    if deleted:
        audit_moderation(
            participant, actions.ROOM_PERSON_UNMUTED, registration_id=person.registration_id
        )
    return person, bool(deleted)


# ---------------------------------------------------------------------------------------------
# Raised hands: one per person (a hand raised on any of their connections counts once).


def _open_presences(session_id: int, registration_id: int) -> QuerySet[Presence]:
    return Presence.objects.filter(
        session_id=session_id, registration_id=registration_id, left_at__isnull=True
    )


def raise_hand(*, participant: Participant, presence_id: int | None) -> bool:
    """The attendee raises their hand on this connection. False if it was raised already."""
    if participant.registration_id is None or presence_id is None:
        raise PermissionDenied(_("Only attendees raise their hand."), code="permission.denied")
    require_in_room(participant)
    if is_muted(session_id=participant.session_id, registration_id=participant.registration_id):
        raise muted_error()
    with transaction.atomic():
        # One raise at a time per person, whatever their number of connections.
        list(Registration.objects.select_for_update().filter(pk=participant.registration_id))
        mine = _open_presences(participant.session_id, participant.registration_id)
        if mine.filter(hand_raised_at__isnull=False).exists():
            return False
        return bool(mine.filter(pk=presence_id).update(hand_raised_at=timezone.now()))


def lower_hand(*, participant: Participant) -> bool:
    """The attendee lowers their hand (on all their connections). False if it was down."""
    if participant.registration_id is None:
        raise PermissionDenied(_("Only attendees raise their hand."), code="permission.denied")
    require_in_room(participant)
    return _lower(participant.session_id, participant.registration_id)


def lower_hand_for(*, participant: Participant, registration_id: int) -> tuple[Person, bool]:
    """Staff lower someone's hand."""
    require_staff(participant)
    person = _person(participant, registration_id)
    return person, _lower(participant.session_id, person.registration_id)


def _lower(session_id: int, registration_id: int) -> bool:
    return bool(
        _open_presences(session_id, registration_id)
        .filter(hand_raised_at__isnull=False)
        .update(hand_raised_at=None)
    )


def close_hand(*, presence_id: int) -> tuple[int, Person] | None:
    """After a connection closed: its raised hand goes down. Returns (session id, person)
    when the person has no hand raised any more, so the live room can tell staff."""
    row = (
        Presence.objects.filter(pk=presence_id, hand_raised_at__isnull=False)
        .values_list("session_id", "registration_id", "registration__first_name")
        .first()
    )
    if row is None or row[1] is None:
        return None
    session_id, registration_id, name = row
    Presence.objects.filter(pk=presence_id).update(hand_raised_at=None)
    if _open_presences(session_id, registration_id).filter(hand_raised_at__isnull=False).exists():
        return None
    return session_id, Person(registration_id=registration_id, name=name)


def hands_count(session_id: int) -> int:
    """People with a hand raised on an open connection: a registration counts once, and so
    does each telephone caller without a personal PIN (no registration to count by)."""
    counts = Presence.objects.filter(
        session_id=session_id, left_at__isnull=True, hand_raised_at__isnull=False
    ).aggregate(
        registered=Count("registration_id", distinct=True),
        anonymous=Count("pk", filter=Q(registration_id__isnull=True)),
    )
    return int(counts["registered"]) + int(counts["anonymous"])


# ---------------------------------------------------------------------------------------------
# The stage


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


def invite_to_stage(
    *, participant: Participant, registration_id: int
) -> tuple[StageInvitation, Person, bool]:
    """Staff invite a connected attendee on stage. Inviting again while the invitation is
    pending returns it (so it can be sent again: the invitee may have reconnected). Returns
    the invitation, the person and whether it was created."""
    require_staff(participant)
    with transaction.atomic():
        person = _person(participant, registration_id, lock=True)
        if not _open_presences(participant.session_id, person.registration_id).exists():
            raise Conflict(
                _("This person is not in the room right now."), code="stage.not_connected"
            )
        current = _open_invitation(participant.session_id, person.registration_id)
        if current is not None and current.state == StageInvitation.State.ACCEPTED:
            raise Conflict(_("This person is on stage already."), code="stage.already_on_stage")
        if current is not None:
            return current, person, False
        invitation = StageInvitation.objects.create(
            session_id=participant.session_id,
            registration_id=person.registration_id,
            by_id=participant.user_id,
        )
        audit_moderation(
            participant, actions.ROOM_STAGE_INVITED, registration_id=person.registration_id
        )
    return invitation, person, True


def _open_invitation(session_id: int, registration_id: int) -> StageInvitation | None:
    return (
        StageInvitation.objects.select_for_update()
        .filter(session_id=session_id, registration_id=registration_id, state__in=OPEN_STAGE)
        .order_by("-id")
        .first()
    )


def answer_invitation(
    *, participant: Participant, invitation_id: int, accept: bool
) -> tuple[StageInvitation, Person, bool]:
    """The invitee accepts or declines. Answering the same again changes nothing (False)."""
    if participant.registration_id is None:
        raise NotFound(_("No such invitation."), code="stage.not_found")
    require_in_room(participant)
    wanted = StageInvitation.State.ACCEPTED if accept else StageInvitation.State.DECLINED
    with transaction.atomic():
        invitation = (
            StageInvitation.objects.select_for_update()
            .filter(
                pk=invitation_id,
                session_id=participant.session_id,
                registration_id=participant.registration_id,
            )
            .first()
        )
        if invitation is None:
            raise NotFound(_("No such invitation."), code="stage.not_found")
        person = Person(registration_id=participant.registration_id, name=participant.name)
        if invitation.state == wanted:
            return invitation, person, False
        if invitation.state != StageInvitation.State.INVITED:
            raise Conflict(
                _("This invitation has been answered or withdrawn."), code="stage.not_pending"
            )
        invitation.state = wanted
        invitation.save(update_fields=["state", "updated_at"])
    return invitation, person, True


def leave_stage(*, participant: Participant) -> tuple[StageInvitation, Person]:
    """The person on stage steps down by themselves."""
    if participant.registration_id is None:
        raise NotFound(_("You are not on stage."), code="stage.not_on_stage")
    require_in_room(participant)
    with transaction.atomic():
        invitation = (
            StageInvitation.objects.select_for_update()
            .filter(
                session_id=participant.session_id,
                registration_id=participant.registration_id,
                state=StageInvitation.State.ACCEPTED,
            )
            .first()
        )
        if invitation is None:
            raise NotFound(_("You are not on stage."), code="stage.not_on_stage")
        invitation.state = StageInvitation.State.ENDED
        invitation.save(update_fields=["state", "updated_at"])
    return invitation, Person(registration_id=participant.registration_id, name=participant.name)


def remove_from_stage(
    *, participant: Participant, registration_id: int
) -> tuple[StageInvitation, Person]:
    """Staff take someone off the stage, or withdraw a pending invitation."""
    require_staff(participant)
    with transaction.atomic():
        person = _person(participant, registration_id, lock=True)
        invitation = _open_invitation(participant.session_id, person.registration_id)
        if invitation is None:
            raise NotFound(
                _("This person is neither on stage nor invited."), code="stage.not_on_stage"
            )
        was = invitation.state
        invitation.state = StageInvitation.State.ENDED
        invitation.save(update_fields=["state", "updated_at"])
        audit_moderation(
            participant,
            actions.ROOM_STAGE_REMOVED,
            registration_id=person.registration_id,
            was=was,
        )
    return invitation, person


# ---------------------------------------------------------------------------------------------
# People


def connected_people(*, participant: Participant, limit: int = PEOPLE_LIMIT) -> dict[str, Any]:
    """Open connections of the room for speakers and staff, in one query: backstage people
    first, then raised hands in the order they were raised, then by arrival. At most `limit`
    rows (`truncated` says there were more)."""
    if not participant.is_backstage:
        raise PermissionDenied(_("You may not do this here."), code="permission.denied")
    same_person = {
        "session_id": OuterRef("session_id"),
        "registration_id": OuterRef("registration_id"),
    }
    rows = (
        Presence.objects.filter(session_id=participant.session_id, left_at__isnull=True)
        .annotate(
            backstage_first=Case(
                When(role=Presence.Role.ATTENDEE, then=Value(1)),
                default=Value(0),
                output_field=IntegerField(),
            ),
            muted=Exists(Mute.objects.filter(**same_person)),
            stage=Subquery(
                StageInvitation.objects.filter(**same_person, state__in=OPEN_STAGE)
                .order_by("-id")
                .values("state")[:1]
            ),
            speaker_name=Subquery(
                Speaker.objects.filter(
                    session_id=OuterRef("session_id"), user_id=OuterRef("user_id")
                ).values("name")[:1]
            ),
        )
        .order_by("backstage_first", F("hand_raised_at").asc(nulls_last=True), "joined_at", "id")
        .values_list(
            "pk",
            "role",
            "device",
            "registration_id",
            "registration__first_name",
            "speaker__name",
            "speaker_name",
            "user__full_name",
            "user__email",
            "hand_raised_at",
            "muted",
            "stage",
            "joined_at",
            # A telephone caller's call (reverse one-to-one: a LEFT JOIN, null for others).
            "phone_call__caller_masked",
            "phone_call__floor",
        )[: limit + 1]
    )
    people = []
    for row in rows:
        (pk, role, device, registration_id, first_name, by_link, speaker_name) = row[:7]
        full_name, email, hand_raised_at, muted, stage, joined_at, number, floor = row[7:]
        # A speaker by their link's name, or their account's (None when neither is known).
        name: str | None
        if role == Presence.Role.ATTENDEE:
            name = first_name
        elif role == Presence.Role.SPEAKER:
            name = by_link or speaker_name or full_name or None
        else:
            name = full_name or email
        people.append(
            {
                "presence_id": pk,
                "registration_id": registration_id,
                "name": name,
                "role": role,
                "device": device,
                "hand_raised_at": hand_raised_at.isoformat() if hand_raised_at else None,
                "muted": muted,
                "stage": stage,
                "joined_at": joined_at.isoformat(),
                "phone": _phone(device, number, floor),
            }
        )
    return {"people": people[:limit], "truncated": len(people) > limit}


def _phone(device: str, number: str | None, floor: bool | None) -> dict[str, Any] | None:
    """A telephone caller's masked number and whether they have the floor; None for anyone
    else. A caller without a personal PIN has no name: the console shows the number."""
    if device != Presence.Device.PHONE or floor is None:
        return None
    return {"number": number or "", "floor": floor}


def participant_state(participant: Participant) -> dict[str, Any]:
    """What a joining client needs of moderation: the room settings, and for an attendee
    their stage `target`, whether they are muted and their open stage invitation."""
    room = room_settings(participant.session_id)
    state: dict[str, Any] = {"settings": settings_data(room), "target": "", "muted": False}
    state["stage"] = None
    if participant.registration_id is not None:
        state["target"] = stage_target(participant.registration_id)
        state["muted"] = is_muted(
            session_id=participant.session_id, registration_id=participant.registration_id
        )
        invitation = (
            StageInvitation.objects.filter(
                session_id=participant.session_id,
                registration_id=participant.registration_id,
                state__in=OPEN_STAGE,
            )
            .order_by("-id")
            .values("pk", "state")
            .first()
        )
        if invitation is not None:
            state["stage"] = {"invitation_id": invitation["pk"], "state": invitation["state"]}
    return state
