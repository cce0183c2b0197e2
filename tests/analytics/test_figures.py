"""A session's report figures, against the fixture's hand-worked values (conftest.py)."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest
from django.utils import timezone

from antenne.analytics import figures, summaries
from antenne.analytics.models import SessionSummary
from antenne.registrations import services as registrations
from antenne.rooms.models import Presence
from tests.analytics.conftest import at
from tests.factories import RegistrationFactory, SessionFactory

pytestmark = pytest.mark.django_db


def test_figures_of_the_small_webinar(webinar):
    start = webinar.start
    got = figures.compute(webinar.session)

    assert got["registrants"] == 5
    assert got["by_status"] == {"confirmed": 3, "waitlisted": 1, "revoked": 1}
    assert (got["attendees"], got["attendees_web"], got["attendees_phone"]) == (2, 1, 1)
    assert got["staff"] == 1
    assert got["attendance_rate"] == 66.7  # 2 of 3 confirmed
    # Connections T+0→30, T+10→40, T+20→50: three at once from T+20.
    assert got["peak_viewers"] == 3
    assert got["peak_at"] == at(start, 20).isoformat()
    # 90 connection-minutes over a 60-minute broadcast.
    assert got["average_viewers"] == 1.5
    # Alice 40 min (her devices overlap), Bob 30 min.
    assert got["average_watch_seconds"] == 2100
    assert got["median_watch_seconds"] == 2100
    zone = webinar.session.local_start.tzinfo
    days = [(start - timedelta(days=n)).astimezone(zone).date().isoformat() for n in (2, 1)]
    assert got["registrations_per_day"] == [[days[0], 2], [days[1], 3]]
    assert got["sources"] == [
        {"utm_source": "", "utm_medium": "", "utm_campaign": "", "registrants": 3, "attendees": 0},
        {
            "utm_source": "newsletter",
            "utm_medium": "email",
            "utm_campaign": "mars",
            "registrants": 2,
            "attendees": 2,
        },
    ]
    # Public messages not deleted: Alice's, Bob's, the animator's.
    assert (got["messages"], got["chatters"]) == (3, 2)
    assert (got["questions"], got["answered"], got["upvotes"]) == (2, 1, 2)
    assert [q["text"] for q in got["top_questions"]] == ["Quand sort le rapport ?", "-Et après ?"]
    assert got["polls"] == [
        {
            "question": "Utile ?",
            "state": "closed",
            "multiple": False,
            "voters": 2,
            "options": [["Oui", 1], ["Non", 1]],
        },
        {
            "question": "Sujets",
            "state": "closed",
            "multiple": True,
            "voters": 1,
            "options": [["A", 1], ["B", 0], ["C", 1]],
        },
    ]
    assert got["emails"]["totals"] == {
        "pending": 0,
        "sending": 0,
        "sent": 2,
        "failed": 1,
        "withheld": 1,
    }
    assert got["emails"]["kinds"]["reminder"]["failed"] == 1


def test_the_curve_samples_the_connections_open_each_minute(webinar):
    curve = figures.compute(webinar.session)["curve"]
    values = {datetime.fromisoformat(moment): n for moment, n in curve}
    start = webinar.start
    assert values[at(start, 0)] == 1
    assert values[at(start, 15)] == 2
    assert values[at(start, 25)] == 3
    assert values[at(start, 45)] == 1
    assert values[at(start, 50)] == 0  # Bob left at T+50
    assert len(curve) <= figures.CURVE_POINTS


def test_the_chart_peaks_at_the_peak_figure_and_spans_the_broadcast(animator):
    """A short overlap in a long broadcast (the curve's intervals are longer than a
    minute): the curve still reaches the peak, and runs from the start to the end."""
    start = (timezone.now() - timedelta(hours=5)).replace(microsecond=0)
    end = start + timedelta(hours=3)
    session = SessionFactory(
        event__owner=animator, started_at=start, ended_at=end, state="ended", starts_at=start
    )
    for joined, left in [(30, 100), (99.9, 100.1), (120, 150)]:  # minutes after the start
        Presence.objects.create(
            session=session,
            registration=RegistrationFactory(session=session),
            joined_at=start + timedelta(minutes=joined),
            left_at=start + timedelta(minutes=left),
        )
    got = figures.compute(session)
    assert got["peak_viewers"] == 2
    moments = [datetime.fromisoformat(moment) for moment, _n in got["curve"]]
    assert max(n for _moment, n in got["curve"]) == 2
    assert moments[0] == start  # from the start, though nobody came for 30 minutes
    assert moments[-1] <= end < moments[-1] + (moments[1] - moments[0])  # to the end
    assert len(moments) <= figures.CURVE_POINTS


def test_peak_counts_a_reconnection_once():
    start = timezone.now()
    got = figures.viewers(
        [(start, at(start, 10)), (at(start, 10), at(start, 20))], window=(start, at(start, 20))
    )
    assert got["peak_viewers"] == 1
    assert got["average_viewers"] == 1.0


def test_an_empty_session_has_zero_figures(animator):
    got = figures.compute(SessionFactory(animators=[animator]))
    assert (got["registrants"], got["attendees"], got["peak_viewers"]) == (0, 0, 0)
    assert got["attendance_rate"] is None
    assert got["curve"] == []
    assert got["registrations_per_day"] == []
    assert got["average_watch_seconds"] == got["median_watch_seconds"] == 0


def test_an_erased_person_leaves_the_figures(webinar, animator):
    registrations.erase_registration(actor=animator, registration=webinar.alice)
    got = figures.compute(webinar.session)
    assert (got["registrants"], got["attendees"], got["attendees_web"]) == (4, 1, 0)
    assert got["peak_viewers"] == 1
    assert (got["messages"], got["chatters"]) == (2, 1)
    assert [q["text"] for q in got["top_questions"]] == ["-Et après ?"]
    assert got["polls"][0]["options"] == [["Oui", 0], ["Non", 1]]


def test_dashboard_figures_are_cached_until_their_rows_change(webinar, animator):
    session = webinar.session
    first = summaries.figures_of([session])[session.pk]
    assert first["attendees"] == 2
    assert SessionSummary.objects.get(session=session).figures == first

    # Unchanged rows: the stored figures are served as they are.
    SessionSummary.objects.filter(session=session).update(figures={**first, "attendees": 99})
    assert summaries.figures_of([session])[session.pk]["attendees"] == 99

    # A row changes (a person erased): computed again.
    registrations.erase_registration(actor=animator, registration=webinar.bob)
    again = summaries.figures_of([session])[session.pk]
    assert again["attendees"] == 1
    Presence.objects.create(session=session, registration=webinar.formula, joined_at=webinar.start)
    assert summaries.figures_of([session])[session.pk]["attendees"] == 2


def test_sessions_not_over_are_not_cached(animator):
    session = SessionFactory(animators=[animator])
    summaries.figures_of([session])
    assert not SessionSummary.objects.exists()


def test_totals_add_up_sessions(webinar, animator):
    other = SessionFactory(animators=[animator])
    by_session = summaries.figures_of([webinar.session, other])
    totals = summaries.totals(list(by_session.values()))
    assert (totals["sessions"], totals["registrants"], totals["attendees"]) == (2, 5, 2)
    assert totals["attendance_rate"] == 66.7
    assert totals["average_watch_seconds"] == 2100
