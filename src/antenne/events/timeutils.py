"""Local wall-clock times to UTC and back, with daylight-saving gaps and folds handled."""

from __future__ import annotations

import zoneinfo
from datetime import UTC, date, datetime, time

from django.utils.translation import gettext_lazy as _

from antenne.core.exceptions import Invalid


def zone(name: str) -> zoneinfo.ZoneInfo:
    try:
        return zoneinfo.ZoneInfo(name)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        raise Invalid(_("Unknown time zone."), code="session.time_zone_invalid") from None


def local_to_utc(day: date, clock: time, zone_name: str) -> datetime:
    """The UTC instant of a wall-clock time in `zone_name`. A time skipped by a
    daylight-saving change is refused; a repeated one (autumn) means its first occurrence."""
    tz = zone(zone_name)
    local = datetime.combine(day, clock.replace(tzinfo=None), tzinfo=tz)
    instant = local.astimezone(UTC)
    if instant.astimezone(tz).replace(tzinfo=None) != local.replace(tzinfo=None):
        raise Invalid(
            _("This time does not exist in %(zone)s: the clocks skip it that day.")
            % {"zone": zone_name},
            code="session.time_nonexistent",
        )
    return instant


FIRST_YEAR, LAST_YEAR = 1970, 2999


def aware_to_utc(value: datetime, zone_name: str) -> datetime:
    """An API timestamp: with an offset it is taken as is; without, as wall-clock time in
    `zone_name`. Years outside 1970-2999 are refused (and never overflow a conversion)."""
    if not FIRST_YEAR <= value.year <= LAST_YEAR:
        raise Invalid(
            _("Dates must fall between the years %(first)s and %(last)s.")
            % {"first": FIRST_YEAR, "last": LAST_YEAR},
            code="session.date_out_of_range",
        )
    if value.tzinfo is None:
        return local_to_utc(value.date(), value.time(), zone_name)
    zone(zone_name)
    return value.astimezone(UTC)
