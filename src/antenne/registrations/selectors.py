"""Reads of the registrations domain: a session's registrants for its organisers."""

from __future__ import annotations

from typing import Any

from django.db.models import Count, Q, QuerySet
from django.utils.translation import gettext_lazy as _

from antenne.core.exceptions import NotFound, PermissionDenied
from antenne.core.permissions import is_member
from antenne.events.models import Session
from antenne.events.permissions import require_session_manager
from antenne.registrations.models import Registration, RegistrationField


def access_registration(*, actor: Any, pk: int) -> Registration:
    """A registration, for a member; whether they may manage it is the caller's check
    (`can_manage_session` on its session)."""
    if not is_member(actor):
        raise PermissionDenied(
            _("Log in to the workspace to see this."), code="permission.member_only"
        )
    registration = Registration.objects.select_related("session__event").filter(pk=pk).first()
    if registration is None:
        raise NotFound(_("No such registration."), code="registration.not_found")
    return registration


def list_registrants(
    *, session: Session, search: str = "", status: str = ""
) -> QuerySet[Registration]:
    registrations = Registration.objects.filter(session=session)
    for word in search.split()[:5]:
        registrations = registrations.filter(
            Q(email__icontains=word) | Q(first_name__icontains=word) | Q(last_name__icontains=word)
        )
    if status in Registration.Status.values:
        registrations = registrations.filter(status=status)
    return registrations.order_by("-created_at", "-id")


def count_by_status(*, session: Session) -> dict[str, int]:
    """How many registrations of the session are in each status (every status present)."""
    counts = dict.fromkeys(Registration.Status.values, 0)
    rows = (
        Registration.objects.filter(session=session)
        .order_by()
        .values("status")
        .annotate(n=Count("pk"))
    )
    for row in rows:
        counts[row["status"]] = row["n"]
    return counts


def registration_fields(*, session: Session) -> list[RegistrationField]:
    return list(RegistrationField.objects.filter(event_id=session.event_id))


def answer_text(value: Any) -> str:
    """A custom answer as one line of text (lists joined, booleans as yes/no). The
    registration page stores `{"label": question, "value": answer}`, the API the answer
    itself: both read as the answer."""
    if isinstance(value, dict):
        value = value.get("value", "")
    if isinstance(value, bool):
        return str(_("yes") if value else _("no"))
    if isinstance(value, list | tuple):
        return ", ".join(str(v) for v in value)
    return "" if value is None else str(value)


def list_registrations(
    *, actor: Any, session: Session, status: str = "", search: str = ""
) -> QuerySet[Registration]:
    """A session's registrations, newest first, for its animators and admins (the API's
    listing): `status` keeps one status, `search` matches email, first or last name."""
    require_session_manager(actor, session)
    # PostgreSQL refuses NUL in a query parameter; it could match nothing anyway.
    return list_registrants(session=session, search=search.replace("\x00", "")[:100], status=status)
