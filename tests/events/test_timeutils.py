"""Wall-clock times to UTC across daylight-saving changes."""

from __future__ import annotations

import zoneinfo
from datetime import UTC, date, datetime, time

import pytest

from antenne.core.exceptions import Invalid
from antenne.events.timeutils import aware_to_utc, local_to_utc

PARIS = "Europe/Paris"
MONTREAL = zoneinfo.ZoneInfo("America/Montreal")


def test_last_sunday_of_march_in_paris():
    # 2027-03-28: Paris goes from UTC+1 to UTC+2 at 02:00. 10:00 is 08:00 UTC.
    instant = local_to_utc(date(2027, 3, 28), time(10, 0), PARIS)
    assert instant == datetime(2027, 3, 28, 8, 0, tzinfo=UTC)
    # Montreal switched two weeks earlier (UTC-4): 04:00 there.
    assert instant.astimezone(MONTREAL).strftime("%H:%M") == "04:00"
    # The day before, Paris is UTC+1: 10:00 is 09:00 UTC, 05:00 in Montreal.
    before = local_to_utc(date(2027, 3, 27), time(10, 0), PARIS)
    assert before == datetime(2027, 3, 27, 9, 0, tzinfo=UTC)
    assert before.astimezone(MONTREAL).strftime("%H:%M") == "05:00"


def test_last_sunday_of_october_in_paris():
    # 2027-10-31: Paris goes back to UTC+1; Montreal is still UTC-4 until 2027-11-07.
    instant = local_to_utc(date(2027, 10, 31), time(10, 0), PARIS)
    assert instant == datetime(2027, 10, 31, 9, 0, tzinfo=UTC)
    assert instant.astimezone(MONTREAL).strftime("%H:%M") == "05:00"
    week_after = local_to_utc(date(2027, 11, 7), time(10, 0), PARIS)
    assert week_after.astimezone(MONTREAL).strftime("%H:%M") == "04:00"


def test_skipped_time_is_refused():
    with pytest.raises(Invalid) as error:
        local_to_utc(date(2027, 3, 28), time(2, 30), PARIS)
    assert error.value.code == "session.time_nonexistent"


def test_repeated_time_means_its_first_occurrence():
    # 02:30 happens twice on 2027-10-31 in Paris; the first one is still UTC+2.
    assert local_to_utc(date(2027, 10, 31), time(2, 30), PARIS) == datetime(
        2027, 10, 31, 0, 30, tzinfo=UTC
    )


def test_api_timestamps_with_and_without_offset():
    naive = datetime(2027, 3, 28, 10, 0)  # noqa: DTZ001 (wall-clock time is the point)
    assert aware_to_utc(naive, PARIS) == datetime(2027, 3, 28, 8, 0, tzinfo=UTC)
    with_offset = datetime.fromisoformat("2027-03-28T10:00:00-04:00")
    assert aware_to_utc(with_offset, PARIS) == datetime(2027, 3, 28, 14, 0, tzinfo=UTC)
    with pytest.raises(Invalid):
        aware_to_utc(with_offset, "Mars/Olympus_Mons")
