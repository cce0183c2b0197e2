"""Reads of the accounts domain, and the fetch-and-authorise helpers every interface uses."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from django.db.models import Q, QuerySet
from django.utils.translation import gettext_lazy as _

from antenne.accounts.models import AccessRequest, Team, User, normalize_email
from antenne.core.exceptions import NotFound, PermissionDenied
from antenne.core.models import AuditEntry
from antenne.core.permissions import is_admin, is_member


def _admin_only(actor: Any) -> None:
    if not is_admin(actor):
        raise PermissionDenied(
            _("Only a workspace admin can see this."), code="permission.admin_only"
        )


def access_member(*, actor: Any, pk: int) -> User:
    _admin_only(actor)
    user = User.objects.select_related("team").filter(pk=pk).first()
    if user is None:
        raise NotFound(_("No such member."), code="member.not_found")
    return user


def access_access_request(*, actor: Any, pk: int) -> AccessRequest:
    _admin_only(actor)
    found = AccessRequest.objects.select_related("decided_by", "user").filter(pk=pk).first()
    if found is None:
        raise NotFound(_("No such access request."), code="access_request.not_found")
    return found


def access_team(*, actor: Any, pk: int) -> Team:
    _admin_only(actor)
    team = Team.objects.filter(pk=pk).first()
    if team is None:
        raise NotFound(_("No such team."), code="team.not_found")
    return team


def list_members(
    *, actor: Any, search: str = "", role: str = "", team_id: int | None = None
) -> QuerySet[User]:
    _admin_only(actor)
    members = User.objects.select_related("team").order_by("email")
    if search:
        members = members.filter(Q(email__icontains=search) | Q(full_name__icontains=search))
    if role:
        members = members.filter(role=role)
    if team_id:
        members = members.filter(team_id=team_id)
    return members


def list_teams() -> QuerySet[Team]:
    return Team.objects.order_by("name")


def list_access_requests(*, actor: Any, status: str = "") -> QuerySet[AccessRequest]:
    _admin_only(actor)
    requests = AccessRequest.objects.select_related("decided_by").order_by("-updated_at")
    if status:
        requests = requests.filter(status=status)
    return requests


def count_pending_access_requests() -> int:
    return AccessRequest.objects.filter(status=AccessRequest.Status.PENDING).count()


def list_audit_entries(
    *,
    actor: Any,
    action: str = "",
    actor_email: str = "",
    object_type: str = "",
    since: datetime | None = None,
    until: datetime | None = None,
) -> QuerySet[AuditEntry]:
    _admin_only(actor)
    entries = AuditEntry.objects.order_by("-created_at", "-id")
    if action:
        entries = entries.filter(action__startswith=action)
    if actor_email:
        entries = entries.filter(actor_label__icontains=actor_email)
    if object_type:
        entries = entries.filter(object_type=object_type)
    if since:
        entries = entries.filter(created_at__gte=since)
    if until:
        entries = entries.filter(created_at__lt=until)
    return entries


def get_user_by_email(*, email: str) -> User:
    user = User.objects.filter(email=normalize_email(email)).first()
    if user is None:
        raise NotFound(_("No account has this address."), code="member.not_found")
    return user


def user_for_calendar_token(*, token: str) -> User | None:
    """The active member whose calendar feed URL holds `token`, if any."""
    if not token:
        return None
    user = User.objects.filter(calendar_token=token, is_active=True).first()
    return user if user is not None and is_member(user) else None
