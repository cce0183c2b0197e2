"""The iCalendar writer: what a calendar application reads must be exactly what we meant."""

from __future__ import annotations

import zoneinfo
from datetime import UTC, datetime, timedelta

import pytest

from antenne.core import ical
from antenne.core.ical import VEvent, calendar, escape_text, fold
from tests.ical import parse, physical_lines, unfold

PARIS = zoneinfo.ZoneInfo("Europe/Paris")
TRICKY = 'Café; "data", 2027\nsuite \\ fin'


def event(**overrides) -> VEvent:
    values = {
        "uid": "session-1@antenne.example",
        "start": datetime(2027, 3, 28, 10, 0, tzinfo=PARIS),
        "end": datetime(2027, 3, 28, 11, 30, tzinfo=PARIS),
        "summary": "Ouvrir ses données",
        "stamp": datetime(2027, 1, 5, 8, 0, tzinfo=UTC),
    }
    return VEvent(**(values | overrides))


def test_text_values_escape_backslash_semicolon_comma_and_newlines():
    assert escape_text(TRICKY) == 'Café\\; "data"\\, 2027\\nsuite \\\\ fin'
    assert escape_text("a\r\nb\rc\nd") == "a\\nb\\nc\\nd"
    # Control characters would break the line structure or be refused by clients.
    assert escape_text("bell\x07 and\x00 nul\tTab") == "bell and nul\tTab"


def test_a_tricky_title_reads_back_exactly_and_cannot_inject_properties():
    text = calendar([event(summary=TRICKY + "\r\nEND:VEVENT\r\nBEGIN:VEVENT")])
    parsed = parse(text)
    assert len(parsed.events) == 1
    assert parsed.events[0].text("SUMMARY") == TRICKY + "\nEND:VEVENT\nBEGIN:VEVENT"
    summary = next(line for line in unfold(text) if line.startswith("SUMMARY:"))
    assert summary.startswith('SUMMARY:Café\\; "data"\\, 2027\\nsuite \\\\ fin\\nEND:VEVENT')


def test_the_calendar_has_crlf_lines_its_header_and_utc_times():
    text = calendar([event(status="CANCELLED", sequence=2, url="https://a.example/x?y=1,2")])
    lines = unfold(text)
    assert lines[:5] == [
        "BEGIN:VCALENDAR",
        "VERSION:2.0",
        f"PRODID:{ical.PRODID}",
        "CALSCALE:GREGORIAN",
        "BEGIN:VEVENT",
    ]
    assert lines[-2:] == ["END:VEVENT", "END:VCALENDAR"]
    physical_lines(text)  # CRLF only, never a bare LF
    vevent = parse(text).events[0]
    # 10:00 in Paris on the day summer time starts is 08:00 UTC.
    assert vevent.get("DTSTART") == "20270328T080000Z"
    assert vevent.get("DTEND") == "20270328T093000Z"
    assert vevent.get("DTSTAMP") == "20270105T080000Z"
    assert vevent.get("UID") == "session-1@antenne.example"
    assert vevent.get("STATUS") == "CANCELLED"
    assert vevent.get("SEQUENCE") == "2"
    assert vevent.get("URL") == "https://a.example/x?y=1,2"  # a URI is not TEXT-escaped


def test_optional_header_lines():
    text = calendar(
        [], name="Agenda, équipe", method="PUBLISH", refresh_interval=timedelta(hours=1)
    )
    root = parse(text)
    assert root.get("METHOD") == "PUBLISH"
    assert root.text("NAME") == root.text("X-WR-CALNAME") == "Agenda, équipe"
    assert "REFRESH-INTERVAL;VALUE=DURATION:PT1H" in unfold(text)
    assert not root.events


@pytest.mark.parametrize("char", ["a", "é", "€", "🎙"])
@pytest.mark.parametrize("offset", range(4))
def test_folding_keeps_lines_within_75_octets_and_never_splits_a_character(char, offset):
    line = "DESCRIPTION:" + "x" * offset + char * 120
    folded = fold(line)
    physical = (folded + "\r\n").encode().split(b"\r\n")[:-1]
    assert len(physical) > 1
    for number, octets in enumerate(physical):
        assert len(octets) <= 75
        assert number == 0 or octets.startswith(b" ")
        octets.decode("utf-8")  # strict: a cut character would raise here
    assert unfold(folded) == [line]
    # Lines are filled: each one but the last would overflow with the next character.
    width = len(char.encode())
    assert all(len(octets) > 75 - width for octets in physical[:-1])


def test_a_short_line_is_not_folded():
    assert fold("SUMMARY:" + "x" * 67) == "SUMMARY:" + "x" * 67  # exactly 75 octets
    assert fold("SUMMARY:" + "x" * 68).split("\r\n") == ["SUMMARY:" + "x" * 67, " x"]


def test_every_line_of_a_long_multilingual_event_fits():
    text = calendar(
        [event(summary="Données ouvertes 🎙 " * 10, description="Équipe: Étalab\n" * 20)]
    )
    for octets in physical_lines(text):
        assert len(octets) <= 75
        octets.decode("utf-8")
    vevent = parse(text).events[0]
    assert vevent.text("SUMMARY") == "Données ouvertes 🎙 " * 10
    assert vevent.text("DESCRIPTION") == "Équipe: Étalab\n" * 20


def test_invalid_events_are_refused():
    with pytest.raises(ValueError, match="timezone-aware"):
        calendar([event(start=datetime(2027, 3, 28, 10, 0))])  # noqa: DTZ001
    with pytest.raises(ValueError, match="status"):
        event(status="MAYBE")
    with pytest.raises(ValueError, match="end before"):
        event(end=datetime(2027, 3, 28, 9, 0, tzinfo=PARIS))


def test_durations():
    assert ical.format_duration(timedelta(minutes=90)) == "PT1H30M"
    assert ical.format_duration(timedelta(days=1, seconds=5)) == "P1DT5S"
    assert ical.format_duration(timedelta(days=2)) == "P2D"
