"""Reads of the analytics domain: who may see a report, the exports of a session, the
dashboards' listings.

Who sees what (every interface asks here):
- a session's report and exports: its animators, the webinar's owner, the speakers of the
  session who are workspace members (link not revoked), and admins;
- a webinar's dashboard: whoever manages the webinar (`events.permissions.can_manage_event`);
- the workspace's dashboard: admins."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from django.db.models import Count, QuerySet, Sum
from django.db.models.functions import TruncMonth
from django.utils.translation import gettext_lazy as _

from antenne.analytics.figures import FAILED_CALLS, calls_by_outcome, per_outcome, pop_outcomes
from antenne.analytics.models import Export
from antenne.core.exceptions import NotFound, PermissionDenied
from antenne.core.permissions import is_admin, is_member
from antenne.events.models import Event, Session
from antenne.events.permissions import can_manage_event, can_manage_session
from antenne.events.selectors import access_event, access_session
from antenne.rooms.models import PhoneCall

EXPORTS_SHOWN = 10


def can_view_report(user: Any, session: Session) -> bool:
    if not is_member(user):
        return False
    if can_manage_session(user, session):
        return True
    return session.speakers.filter(user_id=user.pk, revoked_at__isnull=True).exists()


def require_report_access(actor: Any, session: Session) -> None:
    """Raise `permission.not_report_viewer` unless `actor` may see `session`'s report."""
    if not can_view_report(actor, session):
        raise PermissionDenied(
            _("Only the session's animators and speakers, or an admin, can see its report."),
            code="permission.not_report_viewer",
        )


def access_report_session(*, actor: Any, pk: int) -> Session:
    """A session whose report the actor may see, for every interface."""
    session = access_session(actor=actor, pk=pk)
    require_report_access(actor, session)
    return session


def access_report_event(*, actor: Any, pk: int) -> Event:
    """A webinar whose dashboard the actor may see (its managers and admins)."""
    event = access_event(actor=actor, pk=pk)
    if not can_manage_event(actor, event):
        raise PermissionDenied(
            _("Only the webinar's animators or an admin can see its dashboard."),
            code="permission.not_animator",
        )
    return event


def require_workspace_reports(actor: Any) -> None:
    if not is_admin(actor):
        raise PermissionDenied(
            _("Only admins can see the workspace's dashboard."), code="permission.admin_only"
        )


def access_export(*, actor: Any, pk: int) -> Export:
    """An export, for someone who may see its session's report."""
    if not is_member(actor):
        raise PermissionDenied(
            _("Log in to the workspace to see this."), code="permission.member_only"
        )
    export = Export.objects.select_related("session__event").filter(pk=pk).first()
    if export is None:
        raise NotFound(_("No such export."), code="export.not_found")
    require_report_access(actor, export.session)
    return export


def exports_of(*, session: Session, limit: int = EXPORTS_SHOWN) -> list[Export]:
    """The session's latest exports, newest first, with who asked."""
    return list(Export.objects.filter(session=session).select_related("requested_by")[:limit])


def sessions_of_event(*, event: Event) -> QuerySet[Session]:
    """The webinar's sessions a dashboard sums up: every one but the cancelled."""
    return (
        Session.objects.filter(event=event)
        .exclude(state=Session.State.CANCELLED)
        .select_related("event__team")
        .order_by("starts_at")
    )


def sessions_between(*, start: datetime, end: datetime) -> QuerySet[Session]:
    """The workspace's sessions starting in [start, end), the cancelled left out."""
    return (
        Session.objects.filter(starts_at__gte=start, starts_at__lt=end)
        .exclude(state=Session.State.CANCELLED)
        .select_related("event__team")
        .order_by("starts_at")
    )


def webinars_per_team_per_month(*, start: datetime, end: datetime) -> list[dict[str, Any]]:
    """Per team and month (in the current time zone): sessions held or planned and distinct
    webinars, cancelled ones left out; one grouped query."""
    rows = (
        sessions_between(start=start, end=end)
        .annotate(month=TruncMonth("starts_at"))
        .order_by()
        .values("month", "event__team__name")
        .annotate(sessions=Count("pk"), webinars=Count("event_id", distinct=True))
        .order_by("event__team__name", "month")
    )
    return [
        {
            "team": row["event__team__name"],
            "month": row["month"].date() if hasattr(row["month"], "date") else row["month"],
            "sessions": row["sessions"],
            "webinars": row["webinars"],
        }
        for row in rows
    ]


def gateway_calls(*, start: datetime, end: datetime) -> dict[str, Any]:
    """Calls to the telephone gateway started in [start, end) that never named a session
    (no valid PIN typed, or refused before): they belong to no session's report. How many,
    per outcome (every outcome with a call), the failures among them, the wrong PINs
    typed; one aggregate query."""
    found = PhoneCall.objects.filter(
        session__isnull=True, started_at__gte=start, started_at__lt=end
    ).aggregate(calls=Count("pk"), wrong_pins=Sum("wrong_pins", default=0), **per_outcome())
    counts = pop_outcomes(found)
    return {
        **found,
        "by_outcome": calls_by_outcome(counts),
        "failures": sum(counts[outcome] for outcome in FAILED_CALLS),
    }
