"""Who may do what to a webinar and its sessions. Every domain and interface asks here.

- The webinar itself (its page, registration questions, publication, owner, cancelling it
  with all its sessions): its owner and admins (`require_event_owner`, which raises
  `permission.not_owner`). These reach every session, so an animator of one session may not.
- A session (moving it, its animators, speakers, registrants, broadcast): its animators, the
  webinar's owner and admins (`require_session_manager`, `permission.not_animator`).
- Adding a session to a webinar and its dashboard: whoever manages the webinar, that is its
  owner, an animator of one of its sessions, or an admin (`require_event_manager`)."""

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


def can_own_event(user: Any, event: Event) -> bool:
    """Event-wide actions: the webinar's owner (while an animator) and admins."""
    if is_admin(user):
        return True
    return can_create_events(user) and event.owner_id == user.pk


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


def require_event_owner(actor: Any, event: Event) -> None:
    """Raise `permission.not_owner` unless `actor` owns `event` or is an admin: for what
    reaches every session of the webinar."""
    if not can_own_event(actor, event):
        raise PermissionDenied(
            _("Only the webinar's owner or an admin can do this."), code="permission.not_owner"
        )


def require_session_manager(actor: Any, session: Session) -> None:
    """Raise `permission.not_animator` unless `actor` manages `session`."""
    _require(can_manage_session(actor, session))


def require_event_creator(actor: Any) -> None:
    """Raise `permission.not_animator` unless `actor` may create webinars (animators, admins)."""
    _require(can_create_events(actor))
