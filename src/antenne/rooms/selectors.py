"""Reads over attendance."""

from __future__ import annotations

from django.db.models import QuerySet

from antenne.events.models import Session
from antenne.rooms.models import Presence


def attendee_presences(session: Session) -> QuerySet[Presence]:
    return Presence.objects.filter(session=session, role=Presence.Role.ATTENDEE)


def attended_registration_ids(session: Session) -> QuerySet[Presence, int]:
    """Registrations of `session` that joined its room at least once (web or telephone),
    as a subquery-friendly queryset of ids."""
    return (
        attendee_presences(session)
        .filter(registration__isnull=False)
        .values_list("registration_id", flat=True)
        .distinct()
    )
