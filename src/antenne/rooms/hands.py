"""Raised hands in the live room: one per person (a hand raised on any of their connections
counts once); attendees raise and lower their own, staff lower anyone's."""

from __future__ import annotations

from django.db import transaction
from django.db.models import (
    Count,
    Q,
    QuerySet,
)
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from antenne.core.exceptions import PermissionDenied
from antenne.registrations.models import Registration
from antenne.rooms.models import Presence
from antenne.rooms.moderation import Person, is_muted, muted_error, person_of
from antenne.rooms.participants import Participant, require_in_room, require_staff


def open_presences(session_id: int, registration_id: int) -> QuerySet[Presence]:
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
        mine = open_presences(participant.session_id, participant.registration_id)
        if mine.filter(hand_raised_at__isnull=False).exists():
            return False
        return bool(mine.filter(pk=presence_id).update(hand_raised_at=timezone.now()))


def lower_hand(*, participant: Participant) -> bool:
    """The attendee lowers their hand (on all their connections). False if it was down."""
    if participant.registration_id is None:
        raise PermissionDenied(_("Only attendees raise their hand."), code="permission.denied")
    require_in_room(participant)
    return lower_person(participant.session_id, participant.registration_id)


def lower_hand_for(*, participant: Participant, registration_id: int) -> tuple[Person, bool]:
    """Staff lower someone's hand."""
    require_staff(participant)
    person = person_of(participant, registration_id)
    return person, lower_person(participant.session_id, person.registration_id)


def lower_person(session_id: int, registration_id: int) -> bool:
    """The person's hand goes down on all their connections. False if it was down."""
    return bool(
        open_presences(session_id, registration_id)
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
    if open_presences(session_id, registration_id).filter(hand_raised_at__isnull=False).exists():
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
