"""The workspace calendar (week and month, in the viewer's zone) and the members' personal
iCalendar feed."""

from __future__ import annotations

import re
import zoneinfo
from datetime import UTC, date, datetime, timedelta
from html.parser import HTMLParser

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from antenne.accounts import services as account_services
from antenne.core import actions
from antenne.core.models import AuditEntry
from antenne.core.permissions import Role
from antenne.events import services as event_services
from antenne.events.models import Session
from tests.conftest import client_for
from tests.factories import EventFactory, SessionFactory, TeamFactory, UserFactory
from tests.ical import parse, physical_lines

pytestmark = pytest.mark.django_db

PARIS = zoneinfo.ZoneInfo("Europe/Paris")
TRICKY_TITLE = 'Café; "data", 2027\nsuite'


def viewer(zone: str = "Europe/Paris", role: str = Role.MEMBER) -> Client:
    client = client_for(UserFactory(role=role, time_zone=zone))
    client.cookies["django_language"] = "en"
    return client


def paris_10am(day: date, **extra) -> Session:
    return SessionFactory(
        starts_at=datetime(day.year, day.month, day.day, 10, 0, tzinfo=PARIS), **extra
    )


class _Cells(HTMLParser):
    VOID = frozenset({"br", "img", "input", "hr", "meta", "link", "wbr"})

    def __init__(self) -> None:
        super().__init__()
        self.stack: list[str | None] = []
        self.texts: dict[str, list[str]] = {}

    def handle_starttag(self, tag, attrs):
        if tag not in self.VOID:
            element_id = dict(attrs).get("id") or ""
            self.stack.append(element_id if element_id.startswith("day-") else None)

    def handle_endtag(self, tag):
        if tag not in self.VOID:
            self.stack.pop()

    def handle_data(self, data):
        for element_id in filter(None, self.stack):
            self.texts.setdefault(element_id, []).append(data)


def days_shown(client: Client, query: str) -> dict[str, str]:
    """What each day of the calendar shows, by ISO date, whitespace collapsed."""
    response = client.get(f"/app/calendar/?{query}")
    assert response.status_code == 200
    html = response.content.decode()
    table = html[html.index("<table") : html.index("</table>") + len("</table>")]
    parser = _Cells()
    parser.feed(table)
    assert not parser.stack, "the calendar table is not well formed"
    return {k[4:]: " ".join("".join(v).split()) for k, v in parser.texts.items()}


def entry_html(client: Client, query: str, session: Session) -> str:
    html = client.get(f"/app/calendar/?{query}").content.decode()
    found = re.search(rf'<li id="session-{session.pk}"[^>]*>.*?</li>', html, re.S)
    assert found, f"session {session.pk} is not in the calendar"
    return found.group(0)


# --- The calendar, in the viewer's zone --------------------------------------------------

# A session set at 10:00 in Paris, seen from Montreal. Montreal moves its clocks two weeks
# before Paris in spring (2027-03-14 vs 03-28) and one week after in autumn (11-07 vs 10-31):
# in between, the gap is 5 hours instead of 6.
DST_CASES = [
    ("2027-03-07", "09:00", "04:00"),  # both on winter time
    ("2027-03-21", "09:00", "05:00"),  # Montreal on summer time, Paris not yet
    ("2027-03-28", "08:00", "04:00"),  # Paris switches that very night
    ("2027-10-24", "08:00", "04:00"),  # both on summer time
    ("2027-10-31", "09:00", "05:00"),  # Paris back on winter time that night, Montreal not
    ("2027-11-07", "09:00", "04:00"),  # Montreal switches that night
]


@pytest.mark.parametrize(("day", "utc", "montreal"), DST_CASES)
@pytest.mark.parametrize("view", ["week", "month"])
def test_a_10am_paris_session_shows_at_the_right_hour_in_paris_and_montreal(
    view, day, utc, montreal
):
    session = paris_10am(date.fromisoformat(day))
    assert session.starts_at.astimezone(UTC).strftime("%H:%M") == utc
    title = session.event.title
    query = f"view={view}&date={day}"
    in_paris = days_shown(viewer("Europe/Paris"), query)
    assert f"10:00–11:00 {title}" in in_paris[day]
    in_montreal = days_shown(viewer("America/Montreal"), query)
    end = f"{int(montreal[:2]) + 1:02d}:00"
    assert f"{montreal}–{end} {title}" in in_montreal[day]
    # Shown once, on that day only.
    assert sum(title in text for text in in_montreal.values()) == 1


def test_days_and_weeks_are_the_viewers():
    # Monday 29 March 01:00 in Paris is still Sunday 28 March, 19:00, in Montreal.
    session = SessionFactory(starts_at=datetime(2027, 3, 29, 1, 0, tzinfo=PARIS))
    title = session.event.title
    in_paris = days_shown(viewer("Europe/Paris"), "view=week&date=2027-03-29")
    assert f"01:00–02:00 {title}" in in_paris["2027-03-29"]
    assert "2027-03-28" not in in_paris  # weeks start on Monday
    in_montreal = days_shown(viewer("America/Montreal"), "view=week&date=2027-03-28")
    assert f"19:00–20:00 {title}" in in_montreal["2027-03-28"]
    assert "2027-03-29" not in in_montreal
    assert title not in " ".join(
        days_shown(viewer("America/Montreal"), "view=week&date=2027-03-29").values()
    )


def test_a_session_spanning_midnight_shows_on_its_start_day():
    session = SessionFactory(
        starts_at=datetime(2027, 6, 10, 23, 30, tzinfo=PARIS), duration_minutes=90
    )
    title = session.event.title
    for view in ("week", "month"):
        days = days_shown(viewer(), f"view={view}&date=2027-06-10")
        assert f"23:30–01:00 (11 Jun) {title}" in days["2027-06-10"]
        assert title not in days["2027-06-11"]


def test_week_lists_only_its_own_seven_days_with_team_animators_and_link():
    team = TeamFactory(name="Lab Données")
    animator = UserFactory(role=Role.ANIMATOR, full_name="Inès Animatrice")
    event = EventFactory(team=team, title="Open data 101")
    inside = paris_10am(date(2027, 6, 16), event=event, animators=[animator])
    before = paris_10am(date(2027, 6, 13))  # the Sunday before
    after = paris_10am(date(2027, 6, 21))  # the Monday after
    client = viewer()
    days = days_shown(client, "view=week&date=2027-06-16")
    assert sorted(days) == [f"2027-06-{d}" for d in range(14, 21)]
    assert "10:00–11:00 Open data 101 Lab Données · Inès Animatrice" in days["2027-06-16"]
    shown = " ".join(days.values())
    assert before.event.title not in shown
    assert after.event.title not in shown
    assert f'href="/app/sessions/{inside.pk}/"' in entry_html(
        client, "view=week&date=2027-06-16", inside
    )
    html = client.get("/app/calendar/?view=week&date=2027-06-16").content.decode()
    assert "<caption>1 session from Monday 14 June 2027 to Sunday 20 June 2027" in html


def test_month_shows_the_whole_grid_and_counts_its_own_sessions():
    march = paris_10am(date(2027, 3, 31))
    grid_tail = paris_10am(date(2027, 4, 2))  # a Friday, on the last row of March's grid
    april = paris_10am(date(2027, 4, 10))
    client = viewer()
    days = days_shown(client, "view=month&date=2027-03-15")
    assert min(days) == "2027-03-01"
    assert max(days) == "2027-04-04"
    assert len(days) == 35
    assert march.event.title in days["2027-03-31"]
    assert grid_tail.event.title in days["2027-04-02"]
    assert april.event.title not in " ".join(days.values())
    html = client.get("/app/calendar/?view=month&date=2027-03-15").content.decode()
    assert "<caption>1 session in March 2027" in html
    assert '<td id="day-2027-04-02" class="antenne-cal-outside' in html
    assert '<th scope="col">Monday</th>' in html


def test_cancelled_sessions_are_shown_struck_through_and_labelled():
    live = paris_10am(date(2027, 5, 12))
    cancelled = paris_10am(date(2027, 5, 12), state=Session.State.CANCELLED)
    client = viewer()
    for view in ("week", "month"):
        entry = entry_html(client, f"view={view}&date=2027-05-12", cancelled)
        assert 'class="antenne-cancelled"' in entry
        assert '<span class="fr-badge fr-badge--sm fr-badge--error">cancelled</span>' in entry
        normal = entry_html(client, f"view={view}&date=2027-05-12", live)
        assert "antenne-cancelled" not in normal
        assert "cancelled</span>" not in normal


def test_previous_next_and_today_links():
    client = viewer()
    html = client.get("/app/calendar/?view=week&date=2027-03-31").content.decode()
    assert 'href="/app/calendar/?view=week&amp;date=2027-03-22" rel="prev"' in html
    assert 'href="/app/calendar/?view=week&amp;date=2027-04-05" rel="next"' in html
    assert 'href="/app/calendar/?view=week">Today</a>' in html
    assert 'href="/app/calendar/?view=month&amp;date=2027-03-31">Month</a>' in html
    html = client.get("/app/calendar/?view=month&date=2027-03-31").content.decode()
    assert 'href="/app/calendar/?view=month&amp;date=2027-02-01" rel="prev"' in html
    assert 'href="/app/calendar/?view=month&amp;date=2027-04-01" rel="next"' in html
    html = client.get("/app/calendar/?view=month&date=2027-01-31").content.decode()
    assert 'date=2026-12-01" rel="prev"' in html
    assert 'date=2027-02-01" rel="next"' in html


@pytest.mark.parametrize("query", ["", "view=year&date=yesterday", "date=99999-01-01"])
def test_by_default_and_on_bad_input_the_week_of_today(query):
    today = timezone.now().astimezone(PARIS).date()
    days = days_shown(viewer(), query)
    monday = today - timedelta(days=today.weekday())
    assert sorted(days) == [(monday + timedelta(days=n)).isoformat() for n in range(7)]
    html = viewer().get(f"/app/calendar/?{query}").content.decode()
    assert f'<tr id="day-{today.isoformat()}" class="antenne-cal-today">' in html


def test_the_calendar_costs_the_same_queries_for_one_session_or_many():
    client = viewer()
    paris_10am(date(2027, 9, 1))
    client.get("/app/calendar/?view=month&date=2027-09-01")  # warm the session
    with CaptureQueriesContext(connection) as one:
        client.get("/app/calendar/?view=month&date=2027-09-01")
    for day in range(2, 12):
        paris_10am(date(2027, 9, day), animators=UserFactory.create_batch(2, role=Role.ANIMATOR))
    with CaptureQueriesContext(connection) as many:
        response = client.get("/app/calendar/?view=month&date=2027-09-01")
    assert response.content.decode().count('<li id="session-') == 11
    assert len(many) == len(one)


def test_the_nav_leads_to_the_calendar():
    html = viewer().get("/app/").content.decode()
    assert '<a class="fr-nav__link" href="/app/calendar/"' in html


# --- The personal feed -------------------------------------------------------------------


def feed_url_of(client: Client) -> str:
    html = client.get("/app/calendar/feed/").content.decode()
    found = re.search(r'value="https://antenne\.test(/calendar/[A-Za-z0-9_-]{40,}\.ics)"', html)
    assert found, "the feed address is not on the page"
    return found.group(1)


def test_the_feed_page_gives_a_stable_personal_address(member):
    client = client_for(member)
    first = feed_url_of(client)
    assert feed_url_of(client) == first
    member.refresh_from_db()
    assert first == f"/calendar/{member.calendar_token}.ics"
    other = feed_url_of(client_for(UserFactory()))
    assert other != first
    created = AuditEntry.objects.filter(action=actions.CALENDAR_FEED_CREATED)
    assert created.count() == 2


def test_the_feed_lists_the_workspace_sessions_for_calendar_applications(member):
    now = timezone.now()
    team = TeamFactory(name="Lab; Données, Paris")
    animator = UserFactory(role=Role.ANIMATOR, full_name="Inès Animatrice")
    event = EventFactory(title=TRICKY_TITLE, team=team)
    coming = SessionFactory(
        event=event, starts_at=datetime(2027, 3, 28, 10, 0, tzinfo=PARIS), animators=[animator]
    )
    cancelled = SessionFactory(
        starts_at=datetime(2027, 10, 31, 10, 0, tzinfo=PARIS), state=Session.State.CANCELLED
    )
    recent = SessionFactory(starts_at=now - timedelta(days=29))
    old = SessionFactory(starts_at=now - timedelta(days=31))
    url = feed_url_of(client_for(member))

    response = Client().get(url)  # a calendar application: no cookie at all
    assert response.status_code == 200
    assert response["Content-Type"] == "text/calendar; charset=utf-8"
    assert not response.cookies
    text = response.content.decode()
    for octets in physical_lines(text):  # CRLF only; folded lines within 75 octets
        assert len(octets) <= 75
    calendar = parse(text)
    assert calendar.get("VERSION") == "2.0"
    assert calendar.has("PRODID")
    events = {e.get("UID"): e for e in calendar.events}
    assert set(events) == {f"session-{s.pk}@antenne.test" for s in (coming, cancelled, recent)}, (
        "one event per session from 30 days ago onward"
    )
    assert f"session-{old.pk}@antenne.test" not in events

    vevent = events[f"session-{coming.pk}@antenne.test"]
    assert vevent.get("DTSTART") == "20270328T080000Z"
    assert vevent.get("DTEND") == "20270328T090000Z"
    assert re.fullmatch(r"\d{8}T\d{6}Z", vevent.get("DTSTAMP"))
    assert vevent.text("SUMMARY") == TRICKY_TITLE
    assert vevent.get("SUMMARY") == 'Café\\; "data"\\, 2027\\nsuite'
    assert vevent.get("STATUS") == "CONFIRMED"
    assert vevent.get("SEQUENCE") == "0"
    session_url = f"https://antenne.test/app/sessions/{coming.pk}/"
    assert vevent.get("URL") == session_url
    description = vevent.text("DESCRIPTION")
    assert "Lab; Données, Paris" in description
    assert "Inès Animatrice" in description
    assert session_url in description

    gone = events[f"session-{cancelled.pk}@antenne.test"]
    assert gone.get("STATUS") == "CANCELLED"
    assert gone.get("DTSTART") == "20271031T090000Z"  # Paris is back on winter time


def test_moved_and_cancelled_sessions_update_in_calendar_clients(member, admin):
    session = SessionFactory(starts_at=datetime(2027, 6, 1, 10, 0, tzinfo=PARIS))
    url = feed_url_of(client_for(member))
    uid = f"session-{session.pk}@antenne.test"

    def seen() -> dict[str, str]:
        vevent = {e.get("UID"): e for e in parse(Client().get(url).content.decode()).events}[uid]
        return {k: vevent.get(k) for k in ("DTSTART", "SEQUENCE", "STATUS", "DTSTAMP")}

    before = seen()
    event_services.reschedule_session(
        actor=admin,
        session=session,
        starts_at=datetime(2027, 6, 2, 14, 0, tzinfo=PARIS),
        time_zone="Europe/Paris",
        duration_minutes=60,
    )
    moved = seen()
    assert (moved["DTSTART"], moved["SEQUENCE"]) == ("20270602T120000Z", "1")
    assert moved["DTSTAMP"] >= before["DTSTAMP"]
    event_services.cancel_session(actor=admin, session=session)
    assert seen() | {"DTSTAMP": ""} == {
        "DTSTART": "20270602T120000Z",
        "SEQUENCE": "2",
        "STATUS": "CANCELLED",
        "DTSTAMP": "",
    }


def test_resetting_the_address_stops_the_old_one(member):
    client = client_for(member)
    old = feed_url_of(client)
    assert Client().get(old).status_code == 200
    response = client.post("/app/calendar/feed/reset/")
    assert response["Location"] == "/app/calendar/feed/"
    new = feed_url_of(client)
    assert new != old
    assert Client().get(old).status_code == 404
    assert Client().get(new).status_code == 200
    entry = AuditEntry.objects.get(action=actions.CALENDAR_FEED_RESET)
    assert (entry.actor, entry.object_id) == (member, str(member.pk))
    assert client.get("/app/calendar/feed/reset/").status_code == 405  # POST only


def test_a_deactivated_members_feed_is_gone_for_good(member, admin):
    url = feed_url_of(client_for(member))
    account_services.set_active(actor=admin, user=member, active=False)
    assert Client().get(url).status_code == 404
    account_services.set_active(actor=admin, user=member, active=True)
    assert Client().get(url).status_code == 404  # the old URL stays dead (issue 16 §12)
    member.refresh_from_db()  # logging in again, as the member would
    new = feed_url_of(client_for(member))  # a reactivated member gets a new one
    assert new != url
    assert Client().get(new).status_code == 200


def test_guessing_tokens_is_rate_limited_but_polling_a_real_feed_is_not(member, settings):
    settings.RATE_LIMIT_SECRET = (3, 600)
    url = feed_url_of(client_for(member))
    calendar_app = Client()
    for _ in range(6):  # many subscribers behind one address poll often
        assert calendar_app.get(url).status_code == 200
    assert [calendar_app.get(f"/calendar/guess{n}.ics").status_code for n in range(4)] == [
        404,
        404,
        404,
        429,
    ]
    assert calendar_app.get(url).status_code == 429  # the guesser's address is held back
    assert Client(REMOTE_ADDR="192.0.2.7").get(url).status_code == 200
