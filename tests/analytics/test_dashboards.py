"""The report page and the dashboards as their users read them, and what they cost."""

from __future__ import annotations

import re
from datetime import datetime

import pytest
from django.utils import timezone

from antenne.events.models import Session, Speaker
from antenne.rooms.models import Presence
from tests.analytics.conftest import at
from tests.conftest import client_for
from tests.factories import EventFactory, RegistrationFactory, SessionFactory, TeamFactory

pytestmark = pytest.mark.django_db


def english(user):
    client = client_for(user)
    client.cookies["django_language"] = "en"
    return client


def text(response) -> str:
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", response.content.decode()))


def test_the_report_shows_the_figures_charts_and_sources(webinar, animator):
    response = english(animator).get(f"/app/sessions/{webinar.session.pk}/report/")
    page = response.content.decode()
    shown = text(response)
    assert "Registrants 5 3 confirmed · 1 waiting · 1 revoked" in shown
    assert "Attendees 2 1 on the web · 1 by telephone · 1 organiser" in shown
    assert "Attendance rate 66.7 %" in shown
    assert "Peak of concurrent viewers 3 1.5 on average" in shown
    assert "Average watch time 35 min 00 s median 35 min 00 s" in shown
    assert 'role="img" aria-labelledby="viewers-title viewers-desc"' in page
    assert "peak of 3 at" in shown
    assert "newsletter email mars 2 2" in shown
    assert "Quand sort le rapport ? Alice Martin 2 Answered" in shown
    assert "Utile ? — 2 voters" in shown
    assert "Reminder 2 0 1 0" in shown  # sent, pending, failed, withheld


def test_the_report_costs_the_same_queries_whatever_the_audience(
    webinar, animator, django_assert_max_num_queries
):
    client = english(animator)
    url = f"/app/sessions/{webinar.session.pk}/report/"
    with django_assert_max_num_queries(60) as before:
        assert client.get(url).status_code == 200
    for n in range(40):
        registration = RegistrationFactory(session=webinar.session)
        Presence.objects.create(
            session=webinar.session,
            registration=registration,
            joined_at=at(webinar.start, n % 50),
            left_at=at(webinar.start, 55),
        )
    with django_assert_max_num_queries(len(before.captured_queries)):
        assert client.get(url).status_code == 200


def test_the_session_page_links_to_the_report_for_its_viewers(webinar, animator, member):
    url = f"/app/sessions/{webinar.session.pk}/"
    report = f"/app/sessions/{webinar.session.pk}/report/"
    assert report in english(animator).get(url).content.decode()
    assert report not in english(member).get(url).content.decode()
    Speaker.objects.create(session=webinar.session, user=member, email=member.email, name="M")
    assert report in english(member).get(url).content.decode()


def test_the_webinar_dashboard_adds_up_its_sessions(webinar, animator):
    SessionFactory(event=webinar.session.event, animators=[animator])  # coming, empty
    SessionFactory(event=webinar.session.event, state=Session.State.CANCELLED)
    response = english(animator).get(f"/app/events/{webinar.session.event_id}/report/")
    shown = text(response)
    assert shown.count("Scheduled") == 1
    assert "Cancelled" not in shown
    assert "All sessions 5 2 66.7 % 3 35 min 00 s" in shown


def test_the_workspace_dashboard_counts_sessions_per_team_and_month(admin):
    year = timezone.localdate().year - 1
    zone = timezone.get_current_timezone()
    archives, budget = TeamFactory(name="Archives"), TeamFactory(name="Budget")
    for team, month, state in [
        (archives, 1, "ended"),
        (archives, 1, "ended"),
        (archives, 3, "ended"),
        (budget, 3, "ended"),
        (budget, 3, "cancelled"),  # not counted
    ]:
        SessionFactory(
            event=EventFactory(team=team),
            starts_at=datetime(year, month, 10, 10, tzinfo=zone),
            state=state,
        )
    SessionFactory(event=EventFactory(team=budget))  # another year
    response = english(admin).get(f"/app/reports/?year={year}")
    shown = text(response)
    assert f"Workspace dashboard, {year}" in shown
    assert "Archives 2 0 1 0 0 0 0 0 0 0 0 0 3" in shown
    assert "Budget 0 0 1 0 0 0 0 0 0 0 0 0 1" in shown
    assert "Total 2 0 2 0 0 0 0 0 0 0 0 0 4" in shown


def test_the_workspace_dashboards_months_do_not_collide_in_french(admin):
    """June and July are "juin" and "juil.", not "jui" twice; the full name is there too."""
    page = client_for(admin).get("/app/reports/")  # French
    heads = re.findall(r'<th scope="col"><abbr title="([^"]+)">([^<]+)</abbr></th>', text_of(page))
    assert heads[5:7] == [("juin", "juin"), ("juillet", "juil.")]
    assert len({short for _full, short in heads}) == 12


def text_of(response) -> str:
    assert response.status_code == 200
    return response.content.decode()
