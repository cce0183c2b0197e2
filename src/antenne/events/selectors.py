"""Reads of the events domain: listings, the calendar, the readiness checklist."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any
from urllib.parse import urlsplit

from django.conf import settings
from django.db import models
from django.db.models import Count, OuterRef, Prefetch, QuerySet, Subquery
from django.db.models.functions import Cast, Coalesce
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from antenne.accounts.models import Team, User
from antenne.core import actions
from antenne.core.exceptions import Invalid, NotFound, PermissionDenied
from antenne.core.models import AuditEntry
from antenne.core.permissions import is_member
from antenne.events.conflicts import MAX_SESSION_MINUTES, ConflictReport, find_conflicts
from antenne.events.models import Event, Session, Speaker
from antenne.events.permissions import (
    require_event_manager,
    require_event_owner,
    require_session_manager,
)


def _members_only(actor: Any) -> None:
    if not is_member(actor):
        raise PermissionDenied(
            _("Log in to the workspace to see this."), code="permission.member_only"
        )


def access_event(*, actor: Any, pk: int) -> Event:
    _members_only(actor)
    event = Event.objects.select_related("team", "owner").filter(pk=pk).first()
    if event is None:
        raise NotFound(_("No such webinar."), code="event.not_found")
    return event


def access_session(*, actor: Any, pk: int) -> Session:
    _members_only(actor)
    session = (
        Session.objects.select_related("event__team", "event__owner")
        .prefetch_related("animators", "speakers")
        .filter(pk=pk)
        .first()
    )
    if session is None:
        raise NotFound(_("No such session."), code="session.not_found")
    return session


def access_managed_event(*, actor: Any, pk: int) -> Event:
    """An event the actor may add sessions to (its owner, its sessions' animators and admins)."""
    event = access_event(actor=actor, pk=pk)
    require_event_manager(actor, event)
    return event


def access_owned_event(*, actor: Any, pk: int) -> Event:
    """An event whose event-wide settings the actor may change (its owner and admins)."""
    event = access_event(actor=actor, pk=pk)
    require_event_owner(actor, event)
    return event


def access_managed_session(*, actor: Any, pk: int) -> Session:
    """A session the actor may change (its animators and admins), for every interface."""
    session = access_session(actor=actor, pk=pk)
    require_session_manager(actor, session)
    return session


def access_speaker(*, actor: Any, session: Session, pk: int) -> Speaker:
    speaker = session.speakers.filter(pk=pk).first()
    if speaker is None:
        raise NotFound(_("No such speaker."), code="speaker.not_found")
    return speaker


def team_by_id(*, actor: Any, pk: int) -> Team:
    """A team to file a webinar under: any member may name any team."""
    _members_only(actor)
    team = Team.objects.filter(pk=pk).first()
    if team is None:
        raise Invalid(_("No such team."), code="event.team_invalid")
    return team


def users_by_id(*, actor: Any, pks: list[int], code: str) -> list[User]:
    """The accounts named by id in a request (animators, an owner), in the order given;
    an unknown id is an invalid value reported with `code`."""
    _members_only(actor)
    wanted = list(dict.fromkeys(pks))
    found = User.objects.in_bulk(wanted)
    missing = [pk for pk in wanted if pk not in found]
    if missing:
        raise Invalid(
            _("No account has the id %(ids)s.") % {"ids": ", ".join(map(str, missing))},
            code=code,
            ids=missing,
        )
    return [found[pk] for pk in wanted]


def slot_conflicts(
    *,
    actor: Any,
    starts_at: datetime,
    duration_minutes: int,
    exclude_session_id: int | None = None,
) -> ConflictReport:
    """What a proposed slot would run into, for a member choosing one."""
    _members_only(actor)
    if not 1 <= duration_minutes <= MAX_SESSION_MINUTES:
        raise Invalid(
            _("A session lasts between 1 minute and 24 hours."), code="session.duration_invalid"
        )
    return find_conflicts(
        starts_at=starts_at,
        duration_minutes=duration_minutes,
        exclude_session_id=exclude_session_id,
    )


def list_events(*, actor: Any, search: str = "", team_id: int | None = None) -> QuerySet[Event]:
    _members_only(actor)
    events = Event.objects.select_related("team", "owner").prefetch_related(
        Prefetch("sessions", queryset=Session.objects.order_by("starts_at"))
    )
    if search:
        events = events.filter(title__icontains=search)
    if team_id:
        events = events.filter(team_id=team_id)
    return events.order_by("-created_at")


def sessions_between(*, actor: Any, start: datetime, end: datetime) -> QuerySet[Session]:
    """Sessions overlapping [start, end), cancelled ones included (shown struck out)."""
    _members_only(actor)
    return (
        Session.objects.filter(starts_at__lt=end, starts_at__gte=start - timedelta(days=1))
        .select_related("event__team")
        .prefetch_related("animators")
        .order_by("starts_at")
    )


@dataclass
class ChecklistItem:
    key: str
    label: str
    ok: bool
    detail: str = ""
    fix_url: str = ""
    items: list[str] = field(default_factory=list)


def _is_resolved(session: Session, other: Session) -> bool:
    """A conflict is resolved once an organiser of either session saw it and confirmed."""
    return other.pk in session.confirmed_conflicts or session.pk in other.confirmed_conflicts


def readiness(session: Session) -> list[ChecklistItem]:
    """What the organisers' checklist asks before the day, item by item: each item says
    what is to do while it is not done, and what is done once it is."""
    event = session.event
    animators = list(session.animators.all())
    speakers = [s for s in session.speakers.all() if s.revoked_at is None]
    pending = [s for s in speakers if s.accepted_at is None]
    report = find_conflicts(
        starts_at=session.starts_at,
        duration_minutes=session.duration_minutes,
        exclude_session_id=session.pk,
    )
    unresolved = [c for c in report.conflicts if not _is_resolved(session, c.session)]
    kinds = {"overlap": _("overlaps"), "near": _("close by")}
    # No speaker is a choice (an animator alone), not an item left to do.
    if not speakers:
        speakers_label, speakers_detail = _("No speaker invited"), ""
    elif pending:
        speakers_label = _("Get the speakers to confirm")
        speakers_detail = _("%(accepted)s of %(total)s accepted") % {
            "accepted": len(speakers) - len(pending),
            "total": len(speakers),
        }
    else:
        speakers_label, speakers_detail = _("The speakers have confirmed"), ""
    published = event.published
    test_run = session.test_run_done_at is not None
    return [
        ChecklistItem(
            "animator",
            str(_("An animator is assigned") if animators else _("Assign an animator")),
            bool(animators),
            ", ".join(str(a) for a in animators),
            reverse("control:session_settings", args=[session.pk]) + "#animators",
        ),
        ChecklistItem(
            "speakers",
            str(speakers_label),
            not pending,
            str(speakers_detail),
            reverse("control:session_speakers", args=[session.pk]),
            [f"{s} — {_('accepted') if s.accepted_at else _('invited')}" for s in speakers],
        ),
        ChecklistItem(
            "conflicts",
            str(_("Resolve the slot conflicts") if unresolved else _("No slot conflict left")),
            not unresolved,
            ", ".join(f"{c.session.event.title} ({kinds[c.kind]})" for c in unresolved),
            reverse("control:session_settings", args=[session.pk]) + "#schedule",
        ),
        ChecklistItem(
            "published",
            str(
                _("The registration page is published")
                if published
                else _("Publish the registration page")
            ),
            published,
            "",
            reverse("control:event", args=[event.pk]) + ("#share" if published else "#publication"),
        ),
        ChecklistItem(
            "test_run",
            str(
                _("The test run in the green room is done")
                if test_run
                else _("Do a test run in the green room")
            ),
            test_run,
            "",
            reverse("control:session_live", args=[session.pk]) + "#test-run",
        ),
    ]


def sessions_needing_attention(
    *, actor: Any, within: timedelta = timedelta(days=2)
) -> list[tuple[Session, list[ChecklistItem]]]:
    """Upcoming sessions (until the end of tomorrow, at least) with red checklist items."""
    _members_only(actor)
    now = timezone.now()
    upcoming = (
        Session.objects.filter(
            state=Session.State.SCHEDULED, starts_at__gte=now, starts_at__lt=now + within
        )
        .select_related("event__team", "event__owner")
        .prefetch_related("animators", "speakers")
        .order_by("starts_at")
    )
    result = []
    for session in upcoming:
        red = [item for item in readiness(session) if not item.ok]
        if red:
            result.append((session, red))
    return result


def upcoming_sessions_of(*, actor: Any, limit: int = 10) -> QuerySet[Session]:
    """The actor's coming sessions, as animator or speaker."""
    _members_only(actor)
    return (
        Session.objects.filter(starts_at__gte=timezone.now() - timedelta(hours=6))
        .exclude(state__in=(Session.State.CANCELLED, Session.State.ENDED))
        .filter(models.Q(animators=actor) | models.Q(speakers__user=actor))
        .distinct()
        .select_related("event")
        .order_by("starts_at")[:limit]
    )


# Changes that move a session in a calendar: a client keeps the highest SEQUENCE it saw.
CALENDAR_REVISIONS = (actions.SESSION_RESCHEDULED, actions.SESSION_CANCELLED)


def sessions_for_feed(*, actor: Any, since: datetime) -> QuerySet[Session]:
    """Every session of the workspace starting at or after `since`, for a calendar feed.
    Each carries `revisions` (how many times it was moved or cancelled, the iCalendar
    SEQUENCE) and `revised_at` (when that last happened, or None)."""
    _members_only(actor)
    changes = AuditEntry.objects.filter(
        object_type=Session._meta.label_lower,
        object_id=Cast(OuterRef("pk"), output_field=models.CharField()),
        action__in=CALENDAR_REVISIONS,
    ).order_by()
    return (
        Session.objects.filter(starts_at__gte=since)
        .select_related("event__team")
        .prefetch_related("animators")
        .annotate(
            revisions=Coalesce(
                Subquery(changes.values("object_id").annotate(n=Count("pk")).values("n")), 0
            ),
            revised_at=Subquery(changes.order_by("-created_at", "-pk").values("created_at")[:1]),
        )
        .order_by("starts_at", "pk")
    )


def session_revision(session: Session) -> int:
    """How many times the session was moved or cancelled: its iCalendar SEQUENCE."""
    return AuditEntry.objects.filter(
        object_type=Session._meta.label_lower,
        object_id=str(session.pk),
        action__in=CALENDAR_REVISIONS,
    ).count()


def session_uid(session: Session) -> str:
    """The session's iCalendar UID: the same in every calendar file Antenne writes (the
    members' feed, the registrants' .ics), so a client merges them."""
    return f"session-{session.pk}@{urlsplit(settings.BASE_URL).hostname}"
