"""Telephone figures, report section, dashboard figure and export sheet, worked out by
hand from calls made here on top of the small webinar (conftest.py: broadcast T→T+60,
Bob listened by telephone T+20→T+50).

Calls of the session (their PIN named it):
- Bob's, with his personal PIN: started T+19, joined T+20, ended T+50, completed, one
  wrong PIN first; 1,000 packets received, 10 lost, 1,500 sent;
- an anonymous caller with the session's PIN: T+30→T+45, completed; 500 received, 5 lost,
  700 sent;
- another anonymous caller: T+40→T+41, a technical failure; 40 received, 40 lost, 50 sent.
So: 3 calls, 3 joined, 1 identified, 1 failure; three callers at once from T+40; 30 + 15 +
1 = 46 minutes of listening, 15.3 on average; 55 of 1,595 packets lost: 3.45 %.

Calls that named no session, this year: one too many wrong PINs (5), one refused
(throttled), one without a PIN, one hung up before joining; one last year, not counted."""

from __future__ import annotations

from datetime import datetime

import pytest
from django.utils import timezone, translation

from antenne.analytics import columns, figures, rows, summaries
from antenne.analytics.selectors import gateway_calls
from antenne.registrations import services as registrations
from antenne.rooms.models import PhoneCall, Presence
from tests.analytics.conftest import at, presence
from tests.analytics.test_dashboards import english, text
from tests.analytics.test_exports import SHEETS_FR, made, read_csv, read_xlsx, utc
from tests.factories import RegistrationFactory, SessionFactory

BOB_NUMBER = "+33 6 •• •• •• 42"


def call(when: datetime | None = None, **fields) -> PhoneCall:
    made_call = PhoneCall.objects.create(call_id=f"c{PhoneCall.objects.count()}", **fields)
    if when is not None:  # started_at is set on creation
        PhoneCall.objects.filter(pk=made_call.pk).update(started_at=when)
        made_call.refresh_from_db()
    return made_call


@pytest.fixture
def calls(webinar) -> list[PhoneCall]:
    session, start = webinar.session, webinar.start
    bob_line = Presence.objects.get(session=session, registration=webinar.bob, device="phone")
    anonymous = presence(session, start, 30, 45, device="phone")
    failing = presence(session, start, 40, 41, device="phone")
    return [
        call(
            at(start, 19),
            session=session,
            presence=bob_line,
            caller_masked=BOB_NUMBER,
            outcome="completed",
            wrong_pins=1,
            joined_at=at(start, 20),
            ended_at=at(start, 50),
            packets_received=1000,
            packets_lost=10,
            packets_sent=1500,
        ),
        call(
            at(start, 30),
            session=session,
            presence=anonymous,
            caller_masked="+33 1 •• •• •• 07",
            outcome="completed",
            joined_at=at(start, 30),
            ended_at=at(start, 45),
            packets_received=500,
            packets_lost=5,
            packets_sent=700,
        ),
        call(
            at(start, 40),
            session=session,
            presence=failing,
            caller_masked="=2+3",  # whatever the trunk sent: never a formula in a sheet
            outcome="failed",
            joined_at=at(start, 40),
            ended_at=at(start, 41),
            packets_received=40,
            packets_lost=40,
            packets_sent=50,
        ),
    ]


@pytest.fixture
def stray_calls(webinar) -> None:
    """Calls that never named a session."""
    start = webinar.start
    call(at(start, 5), outcome="wrong_pin", wrong_pins=5, ended_at=at(start, 6))
    call(at(start, 7), outcome="throttled", ended_at=at(start, 7))
    call(at(start, 8), outcome="no_pin", ended_at=at(start, 9))
    call(at(start, 9), outcome="caller_hung_up", wrong_pins=1, ended_at=at(start, 9))
    call(at(start, -366 * 24 * 60), outcome="wrong_pin", wrong_pins=5)  # last year


@pytest.mark.django_db
def test_telephone_figures_of_the_session(webinar, calls, stray_calls):
    got = figures.telephone_figures(webinar.session)
    assert got == {
        "calls": 3,
        "joined": 3,
        "identified": 1,
        "wrong_pins": 1,
        "packets_received": 1540,
        "packets_lost": 55,
        "packets_sent": 2250,
        "by_outcome": [
            {"outcome": "completed", "count": 2, "failure": False},
            {"outcome": "failed", "count": 1, "failure": True},
        ],
        "failures": 1,
        "peak_callers": 3,
        "peak_at": at(webinar.start, 40).isoformat(),
        "listening_minutes": 46.0,
        "average_listening_minutes": 15.3,
        "loss_percent": 3.45,
    }
    assert figures.compute(webinar.session)["telephone"] == got


@pytest.mark.django_db
def test_a_session_without_calls_has_empty_figures(webinar):
    got = figures.telephone_figures(SessionFactory(event=webinar.session.event))
    assert (got["calls"], got["by_outcome"], got["peak_callers"]) == (0, [], 0)
    assert (got["listening_minutes"], got["loss_percent"]) == (0.0, None)


@pytest.mark.django_db
def test_calls_that_named_no_session_are_counted_for_the_gateway(webinar, calls, stray_calls):
    start = webinar.start
    year = timezone.localtime(start).year
    zone = timezone.get_current_timezone()
    got = gateway_calls(
        start=datetime(year, 1, 1, tzinfo=zone), end=datetime(year + 1, 1, 1, tzinfo=zone)
    )
    assert got == {
        "calls": 4,
        "wrong_pins": 6,
        "by_outcome": [
            {"outcome": "caller_hung_up", "count": 1, "failure": False},
            {"outcome": "wrong_pin", "count": 1, "failure": True},
            {"outcome": "throttled", "count": 1, "failure": True},
            {"outcome": "no_pin", "count": 1, "failure": True},
        ],
        "failures": 3,
    }


@pytest.mark.django_db
def test_the_report_shows_the_telephone_section(webinar, animator, calls, settings):
    settings.PHONE_NUMBER = None
    response = english(animator).get(f"/app/sessions/{webinar.session.pk}/report/")
    page, shown = response.content.decode(), text(response)
    assert "<caption>Telephone calls</caption>" in page
    assert '<th scope="row">Calls</th><td>3</td>' in page
    for line in [
        "Callers who joined the session 3",
        "Callers identified by a personal PIN 1",
        "Failed calls 1",
        "Wrong PINs typed 1",
        "Peak of concurrent callers 3",
        "Listening time in all 46.0 min",
        "Average listening time per caller 15.3 min",
        "Audio packets received from callers 1540",
        "Audio packets from callers lost 55",
        "Packet loss 3.45 %",
        "Audio packets sent to callers 2250",
        "Completed 2 no",
        "Technical failure 1 yes",
        "Total 3 1",
        "counted for the whole gateway",
    ]:
        assert line in shown, line
    # In French, decimals with a comma.
    client = english(animator)
    client.cookies["django_language"] = "fr"
    shown_fr = text(client.get(f"/app/sessions/{webinar.session.pk}/report/"))
    assert "46,0 min" in shown_fr
    assert "3,45 %" in shown_fr


@pytest.mark.django_db
def test_no_telephone_section_without_calls_or_number(webinar, animator, settings):
    url = f"/app/sessions/{webinar.session.pk}/report/"
    settings.PHONE_NUMBER = None
    assert 'id="telephone"' not in english(animator).get(url).content.decode()
    settings.PHONE_NUMBER = "+33 1 23 45 67 89"
    shown = text(english(animator).get(url))
    assert "Telephone calls Figure Value Calls 0" in shown
    assert "No call." in shown


@pytest.mark.django_db
def test_the_workspace_dashboard_shows_calls_that_named_no_session(
    webinar, admin, calls, stray_calls, settings
):
    settings.PHONE_NUMBER = None
    year = timezone.localtime(webinar.start).year
    shown = text(english(admin).get(f"/app/reports/?year={year}"))
    assert "Telephone calls that named no session" in shown
    assert "Calls that never typed a valid PIN cannot be attributed to a session" in shown
    assert "6 wrong PINs typed." in shown
    for line in [
        "Caller hung up before joining 1 no",
        "Too many wrong PINs 1 yes",
        "Refused: too many wrong PINs from this number 1 yes",
        "No PIN typed 1 yes",
        "Total 4 3",
    ]:
        assert line in shown, line
    shown = text(english(admin).get(f"/app/reports/?year={year - 2}"))
    assert "Telephone calls that named no session" not in shown


def expected_calls(calls: list[PhoneCall], bob) -> list[list]:
    names = {calls[0].pk: (bob.pk, "Bob Durand")}
    return [
        [
            c.pk,
            utc(c.started_at),
            utc(c.joined_at),
            utc(c.ended_at),
            {"completed": "Terminé", "failed": "Panne technique"}[c.outcome],
            c.caller_masked,
            *names.get(c.pk, ("", "")),
            c.wrong_pins,
            c.packets_received,
            c.packets_lost,
            c.packets_sent,
        ]
        for c in calls
    ]


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("fmt", ["csv", "xlsx"])
def test_the_export_has_one_row_per_call(webinar, animator, calls, stray_calls, fmt):
    export = made(animator, webinar.session, fmt, language="fr")  # outcomes in French
    sheets = read_csv(export, SHEETS_FR, ";") if fmt == "csv" else read_xlsx(export, SHEETS_FR)
    table = expected_calls(calls, webinar.bob)
    table[0][5] = "'" + BOB_NUMBER  # a masked number starts with "+": neutralised
    table[1][5] = "'" + table[1][5]
    table[2][5] = "'=2+3"
    if fmt == "csv":
        table = [
            [c.strftime("%Y-%m-%d %H:%M:%S") if isinstance(c, datetime) else str(c) for c in row]
            for row in table
        ]
    with translation.override("fr"):
        assert sheets["calls"][0] == [
            columns.label(c, zone="Europe/Paris") for c in rows.CALL_COLUMNS
        ]
    assert sheets["calls"][1:] == table


@pytest.mark.django_db(transaction=True)
def test_an_erased_registrant_is_no_longer_named_by_their_call(webinar, animator, calls):
    bob = webinar.bob
    registrations.erase_registration(actor=animator, registration=bob)
    sheets = read_csv(made(animator, webinar.session, "csv"))
    first = sheets["calls"][1]
    assert first[0] == str(calls[0].pk)
    assert (first[6], first[7]) == ("", "")
    flat = " ".join(" ".join(row) for row in sheets["calls"])
    for trace in ["Bob", "Durand", bob.email, str(bob.pk)]:
        assert trace not in flat.replace(str(calls[0].pk), ""), trace
    got = figures.telephone_figures(webinar.session)
    assert (got["calls"], got["identified"]) == (3, 0)


@pytest.mark.django_db
def test_a_kept_summary_is_recomputed_when_a_call_comes_in(webinar, calls):
    session = webinar.session
    assert summaries.figures_of([session])[session.pk]["telephone"]["calls"] == 3
    call(at(webinar.start, 59), session=session, outcome="session_over")
    got = summaries.figures_of([session])[session.pk]["telephone"]
    assert (got["calls"], got["failures"]) == (4, 2)


@pytest.mark.django_db
def test_queries_do_not_grow_with_calls(webinar, animator, calls, django_assert_max_num_queries):
    session = webinar.session
    url = f"/app/sessions/{session.pk}/report/"
    client = english(animator)

    def read() -> None:
        figures.telephone_figures(session)
        list(rows.call_rows(session))

    with django_assert_max_num_queries(10) as few:
        read()
    with django_assert_max_num_queries(80) as page:
        assert client.get(url).status_code == 200
    for n in range(30):
        registration = RegistrationFactory(session=session)
        line = Presence.objects.create(
            session=session,
            registration=registration if n % 2 else None,
            device="phone",
            joined_at=at(webinar.start, n),
            left_at=at(webinar.start, n + 10),
        )
        call(at(webinar.start, n), session=session, presence=line, outcome="completed")
    with django_assert_max_num_queries(len(few.captured_queries)):
        read()
    with django_assert_max_num_queries(len(page.captured_queries)):
        assert client.get(url).status_code == 200
    assert figures.telephone_figures(session)["calls"] == 33
