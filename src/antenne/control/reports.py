"""Back office for analytics: a session's report (figures, charts, exports), a webinar's
dashboard, the workspace's dashboard, and the export files' download.

Who sees what is `analytics.selectors`' rule (the session's animators, its speakers who are
members, admins). Downloading needs that right too; with an emailed link, it also needs the
logged-in user to be the one the link was sent to."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from django.conf import settings
from django.contrib import messages
from django.http import FileResponse, HttpRequest, HttpResponse, JsonResponse
from django.http.response import HttpResponseBase
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import formats, timezone, translation
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_POST

from antenne.analytics import charts, exports, rows, selectors, services, summaries
from antenne.analytics import figures as session_figures
from antenne.analytics.models import Export
from antenne.control.views import member_required
from antenne.core.exceptions import AntenneError
from antenne.events.models import Event, Session
from antenne.events.permissions import can_manage_session
from antenne.registrations.models import RegistrationField

PREVIEW_ROWS = 20


def duration_text(seconds: float | int | None) -> str:
    """12 s, 4 min 05 s, 1 h 02 min."""
    seconds = int(seconds or 0)
    hours, rest = divmod(seconds, 3600)
    minutes, secs = divmod(rest, 60)
    if hours:
        return f"{hours} h {minutes:02d} min"
    if minutes:
        return f"{minutes} min {secs:02d} s"
    return f"{secs} s"


def _viewers_chart(session: Session, figures: dict[str, Any]) -> charts.Chart:
    curve = charts.parse_curve(figures["curve"])
    zone = session.local_start.tzinfo
    points = [(f"{moment.astimezone(zone):%H:%M}", n) for moment, n in curve]
    if not points:
        return charts.line_chart([], chart_id="viewers", title="", description="")
    peak_at = datetime.fromisoformat(figures["peak_at"]).astimezone(zone)
    return charts.line_chart(
        points,
        chart_id="viewers",
        title=_("Concurrent viewers over time"),
        description=_(
            "Connections open at once from %(start)s to %(end)s (%(zone)s): peak of "
            "%(peak)s at %(peak_at)s, %(average)s on average."
        )
        % {
            "start": points[0][0],
            "end": points[-1][0],
            "zone": session.time_zone,
            "peak": figures["peak_viewers"],
            "peak_at": f"{peak_at:%H:%M}",
            "average": formats.number_format(figures["average_viewers"]),
        },
    )


def _registrations_chart(session: Session, figures: dict[str, Any]) -> charts.Chart:
    """The running total of registrations, day by day, on to the session's day (or today,
    before it)."""
    until = min(session.local_start.date(), timezone.localdate(timezone=session.local_start.tzinfo))
    series = charts.daily_cumulative(figures["registrations_per_day"], until=until)
    points = [(formats.date_format(day, "SHORT_DATE_FORMAT"), n) for day, n in series]
    if not points:
        return charts.line_chart([], chart_id="registrations", title="", description="")
    busiest_day, busiest = max(
        ((date.fromisoformat(day), n) for day, n in figures["registrations_per_day"]),
        key=lambda item: item[1],
    )
    return charts.line_chart(
        points,
        chart_id="registrations",
        title=_("Registrations over time"),
        description=_(
            "Registrations in all, day by day, from %(first)s to %(last)s: %(total)s, the "
            "most on %(day)s (%(count)s)."
        )
        % {
            "first": points[0][0],
            "last": points[-1][0],
            "total": points[-1][1],
            "day": formats.date_format(busiest_day, "SHORT_DATE_FORMAT"),
            "count": busiest,
        },
    )


def _shown(figures: dict[str, Any]) -> dict[str, Any]:
    """The figures as the templates show them (durations in words)."""
    return {
        **figures,
        "average_watch": duration_text(figures["average_watch_seconds"]),
        "median_watch": duration_text(figures.get("median_watch_seconds")),
    }


def _preview(session: Session) -> tuple[list[str], list[list[str]]]:
    """The first registrants' rows as the export writes them (times in the session's zone)."""
    fields = list(RegistrationField.objects.filter(event_id=session.event_id))
    polls = rows.session_polls(session)
    header = rows.registrant_header(fields, polls, session)
    found = rows.registrant_rows(session, fields=fields, polls=polls, limit=PREVIEW_ROWS)
    return header, [[exports.cell_text(cell) for cell in row] for row in found]


@require_GET
@member_required
def session_report(request: HttpRequest, pk: int) -> HttpResponse:
    session = selectors.access_report_session(actor=request.user, pk=pk)
    frozen = summaries.frozen_figures(session)
    figures = frozen or session_figures.compute(session)
    header, preview = ([], []) if frozen else _preview(session)
    made = selectors.exports_of(session=session)
    return render(
        request,
        "control/reports/session.html",
        {
            "session": session,
            "event": session.event,
            "figures": _shown(figures),
            "frozen": frozen is not None,
            "viewers_chart": _viewers_chart(session, figures),
            "registrations_chart": _registrations_chart(session, figures),
            "header": header,
            "preview": preview,
            "exports": made,
            "formats": Export.Format.choices,
            "delimiters": Export.Delimiter.choices,
            "delimiter": services.default_delimiter(translation.get_language() or ""),
            "running": any(export.is_running for export in made),
            "can_manage": can_manage_session(request.user, session),
            "phone_on": bool(settings.PHONE_NUMBER),
            "retention_days": settings.RETENTION_DAYS,
        },
    )


@require_POST
@member_required
def session_export(request: HttpRequest, pk: int) -> HttpResponse:
    session = selectors.access_report_session(actor=request.user, pk=pk)
    try:
        services.request_export(
            actor=request.user,
            session=session,
            format=request.POST.get("format", ""),
            language=translation.get_language(),
            delimiter=request.POST.get("delimiter") or None,
        )
    except AntenneError as error:
        messages.error(request, error.message)
    else:
        messages.success(
            request,
            _("The export is being prepared. The link will also be emailed to you when done."),
        )
    return redirect(reverse("control:session_report", args=[session.pk]) + "#exports")


@require_GET
@member_required
def export_status(request: HttpRequest, pk: int) -> JsonResponse:
    """An export's state for the report page's progress bar."""
    export = selectors.access_export(actor=request.user, pk=pk)
    return JsonResponse(
        {
            "id": export.pk,
            "status": export.state,
            "progress": export.progress,
            "rows": export.rows,
            "download_url": (
                reverse("control:export_download", args=[export.pk]) if export.is_ready else None
            ),
        },
        headers={"Cache-Control": "no-store"},
    )


@require_GET
@member_required
def export_download(request: HttpRequest, pk: int) -> HttpResponseBase:
    """The file: from the report page (any authorised person) or from an emailed link (its
    recipient only, logged in, before it expires)."""
    export = selectors.access_export(actor=request.user, pk=pk)
    token = request.GET.get("t")
    try:
        if token is not None:
            services.check_link(export=export, user=request.user, token=token)
        path = services.open_export(
            actor=request.user, export=export, via="link" if token is not None else "page"
        )
    except AntenneError as error:
        return render(
            request,
            "errors/error.html",
            {"status": error.status, "code": error.code, "message": error.message},
            status=error.status,
        )
    response = FileResponse(path.open("rb"), as_attachment=True, filename=export.download_name)
    response["Cache-Control"] = "private, no-store"
    return response


def _session_rows(
    request: HttpRequest, sessions: list[Session]
) -> tuple[list[dict[str, Any]], dict[str, Any]]:
    by_session = summaries.figures_of(sessions)
    listed = [
        {
            "session": session,
            "figures": _shown(by_session[session.pk]),
            "can_view": selectors.can_view_report(request.user, session),
        }
        for session in sessions
    ]
    totals = summaries.totals([by_session[s.pk] for s in sessions])
    totals["average_watch"] = duration_text(totals["average_watch_seconds"])
    return listed, totals


@require_GET
@member_required
def event_report(request: HttpRequest, pk: int) -> HttpResponse:
    event: Event = selectors.access_report_event(actor=request.user, pk=pk)
    listed, totals = _session_rows(request, list(selectors.sessions_of_event(event=event)))
    return render(
        request,
        "control/reports/event.html",
        {"event": event, "rows": listed, "totals": totals},
    )


def _year(request: HttpRequest) -> int:
    this_year = timezone.localdate().year
    try:
        year = int(request.GET.get("year", this_year))
    except ValueError:
        return this_year
    return year if 2000 <= year <= this_year + 5 else this_year


@require_GET
@member_required
def workspace_report(request: HttpRequest) -> HttpResponse:
    selectors.require_workspace_reports(request.user)
    year = _year(request)
    zone = timezone.get_current_timezone()
    start, end = datetime(year, 1, 1, tzinfo=zone), datetime(year + 1, 1, 1, tzinfo=zone)
    listed, totals = _session_rows(request, list(selectors.sessions_between(start=start, end=end)))
    per_team = selectors.webinars_per_team_per_month(start=start, end=end)
    months = [date(year, month, 1) for month in range(1, 13)]
    teams: dict[str, dict[date, int]] = {}
    for row in per_team:
        teams.setdefault(row["team"], {})[row["month"]] = row["sessions"]
    table = [
        (team, [counts.get(month, 0) for month in months], sum(counts.values()))
        for team, counts in sorted(teams.items())
    ]
    return render(
        request,
        "control/reports/workspace.html",
        {
            "year": year,
            "years": range(timezone.localdate().year, 2019, -1),
            "rows": listed,
            "totals": totals,
            "months": months,
            "teams": table,
            "month_totals": [sum(counts[i] for _t, counts, _s in table) for i in range(12)],
            "gateway": selectors.gateway_calls(start=start, end=end),
            "phone_on": bool(settings.PHONE_NUMBER),
        },
    )
