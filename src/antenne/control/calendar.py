"""The workspace calendar (week and month), in the viewer's time zone, and the page that
gives a member the address of their personal iCalendar feed."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from typing import Any
from urllib.parse import urlencode

from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET, require_POST

from antenne.accounts import services as account_services
from antenne.control.views import member_required
from antenne.events import selectors
from antenne.events.models import Session

VIEWS = ("week", "month")
# ?date= outside these years falls back to today (and keeps date arithmetic in range).
YEARS = range(1900, 2201)


@dataclass
class Entry:
    """A session as the calendar shows it: on the day it starts, in the viewer's zone."""

    session: Session
    start: datetime
    end: datetime

    @property
    def ends_another_day(self) -> bool:
        return self.end.date() != self.start.date()


@dataclass
class Day:
    date: date
    in_period: bool
    is_today: bool
    entries: list[Entry] = field(default_factory=list)


def _requested(request: HttpRequest, today: date) -> tuple[str, date]:
    view = request.GET.get("view", "week")
    if view not in VIEWS:
        view = "week"
    try:
        day = date.fromisoformat(request.GET.get("date", ""))
    except ValueError:
        day = today
    return view, day if day.year in YEARS else today


def _month_bounds(day: date) -> tuple[date, date]:
    first = day.replace(day=1)
    following = (first + timedelta(days=32)).replace(day=1)
    return first, following - timedelta(days=1)


def _link(view: str, day: date | None = None) -> str:
    query = {"view": view} | ({"date": day.isoformat()} if day else {})
    return f"{reverse('control:calendar')}?{urlencode(query)}"


def _days(request: HttpRequest, first: date, last: date, period: tuple[date, date]) -> list[Day]:
    """Every day from `first` to `last` with the sessions starting on it, local time."""
    zone = timezone.get_current_timezone()
    today = timezone.localdate()
    days = {
        first + timedelta(days=n): Day(
            date=first + timedelta(days=n),
            in_period=period[0] <= first + timedelta(days=n) <= period[1],
            is_today=first + timedelta(days=n) == today,
        )
        for n in range((last - first).days + 1)
    }
    sessions = selectors.sessions_between(
        actor=request.user,
        start=datetime.combine(first, time.min, tzinfo=zone),
        end=datetime.combine(last + timedelta(days=1), time.min, tzinfo=zone),
    )
    for session in sessions:
        start = timezone.localtime(session.starts_at)
        if start.date() in days:  # a session spanning midnight shows on its first day only
            end = timezone.localtime(session.ends_at)
            days[start.date()].entries.append(Entry(session=session, start=start, end=end))
    return list(days.values())


@require_GET
@member_required
def calendar(request: HttpRequest) -> HttpResponse:
    today = timezone.localdate()
    view, day = _requested(request, today)
    if view == "week":
        first = day - timedelta(days=day.weekday())  # weeks start on Monday
        last = first + timedelta(days=6)
        period = (first, last)
        previous, following = first - timedelta(days=7), first + timedelta(days=7)
    else:
        period = _month_bounds(day)
        first = period[0] - timedelta(days=period[0].weekday())
        last = period[1] + timedelta(days=6 - period[1].weekday())
        previous = (period[0] - timedelta(days=1)).replace(day=1)
        following = period[1] + timedelta(days=1)
    days = _days(request, first, last, period)
    context: dict[str, Any] = {
        "view": view,
        "day": day,
        "period_first": period[0],
        "period_last": period[1],
        "days": days,
        "weeks": [days[n : n + 7] for n in range(0, len(days), 7)],
        "zone": timezone.get_current_timezone_name(),
        "count": sum(len(d.entries) for d in days if d.in_period),
        "previous_url": _link(view, previous),
        "next_url": _link(view, following),
        "today_url": _link(view),
        "week_url": _link("week", day),
        "month_url": _link("month", day),
        "shows_today": period[0] <= today <= period[1],
    }
    return render(request, "control/calendar.html", context)


@never_cache  # the page shows a secret
@require_GET
@member_required
def calendar_feed(request: HttpRequest) -> HttpResponse:
    token = account_services.ensure_calendar_token(user=request.user)  # type: ignore[arg-type]
    feed_url = account_services.absolute_url(reverse("public:calendar_feed", args=[token]))
    return render(request, "control/calendar_feed.html", {"feed_url": feed_url})


@require_POST
@member_required
def calendar_feed_reset(request: HttpRequest) -> HttpResponse:
    account_services.reset_calendar_token(actor=request.user, user=request.user)  # type: ignore[arg-type]
    messages.success(
        request,
        _(
            "Your calendar address was replaced: the previous one no longer works. Subscribe "
            "again with the new one."
        ),
    )
    return redirect("control:calendar_feed")
