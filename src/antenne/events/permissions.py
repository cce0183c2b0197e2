"""Who may manage a webinar or a session: its owner, the animators of its sessions, admins.
Every domain and interface asks here (`require_session_manager` raises
`permission.not_animator`)."""

from __future__ import annotations

from typing import Any

from django.utils.translation import gettext_lazy as _

from antenne.core.exceptions import PermissionDenied
from antenne.core.permissions import Role, is_admin
from antenne.events.models import Event, Session


def can_create_events(user: Any) -> bool:
    return bool(
        user.is_authenticated and user.is_active and user.role in (Role.ADMIN, Role.ANIMATOR)
    )


def can_manage_event(user: Any, event: Event) -> bool:
    if is_admin(user):
        return True
    if not can_create_events(user):
        return False
    return event.owner_id == user.pk or event.sessions.filter(animators=user).exists()


def can_manage_session(user: Any, session: Session) -> bool:
    if is_admin(user):
        return True
    if not can_create_events(user):
        return False
    return session.event.owner_id == user.pk or session.animators.filter(pk=user.pk).exists()


def _require(allowed: bool) -> None:
    if not allowed:
        raise PermissionDenied(
            _("Only the webinar's animators or an admin can do this."),
            code="permission.not_animator",
        )


def require_event_manager(actor: Any, event: Event) -> None:
    """Raise `permission.not_animator` unless `actor` manages `event` (every domain uses it)."""
    _require(can_manage_event(actor, event))


def require_session_manager(actor: Any, session: Session) -> None:
    """Raise `permission.not_animator` unless `actor` manages `session`."""
    _require(can_manage_session(actor, session))


def require_event_creator(actor: Any) -> None:
    """Raise `permission.not_animator` unless `actor` may create webinars (animators, admins)."""
    _require(can_create_events(actor))
