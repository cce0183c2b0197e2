"""A small iCalendar (RFC 5545) writer: VEVENTs in a VCALENDAR, nothing more.

    calendar([VEvent(uid=..., start=..., end=..., summary=..., stamp=...)], name="...")

returns the whole object as text with CRLF line endings, long lines folded at 75 octets
(never inside a UTF-8 character) and TEXT values escaped. Times are written in UTC (`…Z`),
so no VTIMEZONE is needed and every client shows them in its own zone. Used by the
members' calendar feed and, later, the attendees' .ics files."""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

PRODID = "-//Antenne//Antenne webinars//EN"
CRLF = "\r\n"
MAX_OCTETS = 75

STATUSES = frozenset({"TENTATIVE", "CONFIRMED", "CANCELLED"})
# Control characters are not allowed in TEXT values (RFC 5545 §3.3.11), tab excepted.
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f]")
_NEWLINES = re.compile(r"\r\n|\r|\n")


@dataclass(frozen=True)
class VEvent:
    """One event. `start`, `end` and `stamp` are timezone-aware datetimes."""

    uid: str
    start: datetime
    end: datetime
    summary: str
    stamp: datetime
    description: str = ""
    location: str = ""
    url: str = ""
    status: str = ""  # "", or one of STATUSES
    sequence: int = 0

    def __post_init__(self) -> None:
        if any(value.utcoffset() is None for value in (self.start, self.end, self.stamp)):
            raise ValueError("iCalendar times must be timezone-aware")
        if self.status and self.status not in STATUSES:
            raise ValueError(f"unknown VEVENT status {self.status!r}")
        if self.sequence < 0:
            raise ValueError("SEQUENCE is a non-negative integer")
        if self.end < self.start:
            raise ValueError("an event cannot end before it starts")


def escape_text(value: str) -> str:
    """A TEXT value: backslash, semicolon and comma escaped, newlines as `\\n`."""
    value = _NEWLINES.sub("\n", value)
    value = _CONTROL.sub("", value)
    return value.replace("\\", "\\\\").replace(";", "\\;").replace(",", "\\,").replace("\n", "\\n")


def format_utc(value: datetime) -> str:
    """A DATE-TIME in UTC form, such as 20270328T080000Z."""
    if value.tzinfo is None:
        raise ValueError("iCalendar times must be timezone-aware")
    return value.astimezone(UTC).strftime("%Y%m%dT%H%M%SZ")


def format_duration(value: timedelta) -> str:
    """A positive DURATION, such as PT1H or P1DT30M (weeks are not used)."""
    seconds = int(value.total_seconds())
    if seconds <= 0:
        raise ValueError("a duration must be positive")
    days, seconds = divmod(seconds, 86400)
    hours, seconds = divmod(seconds, 3600)
    minutes, seconds = divmod(seconds, 60)
    clock = "".join(
        f"{amount}{unit}"
        for amount, unit in ((hours, "H"), (minutes, "M"), (seconds, "S"))
        if amount
    )
    return "P" + (f"{days}D" if days else "") + (f"T{clock}" if clock else "")


def fold(line: str) -> str:
    """Split a content line into lines of at most 75 octets, each continuation starting with
    one space (which counts), without ever cutting a UTF-8 character in two."""
    parts: list[str] = []
    current: list[str] = []
    size = 0
    limit = MAX_OCTETS
    for char in line:
        width = len(char.encode())
        if size + width > limit:
            parts.append("".join(current))
            current, size, limit = [], 0, MAX_OCTETS - 1
        current.append(char)
        size += width
    parts.append("".join(current))
    return (CRLF + " ").join(parts)


def content_line(name: str, value: str) -> str:
    """`NAME:value`, folded. `value` must already be in its value type's form (escaped TEXT,
    a date-time, a URI)."""
    if _NEWLINES.search(value) or _CONTROL.search(value):
        raise ValueError(f"{name}: a value cannot contain line breaks or control characters")
    return fold(f"{name}:{value}")


def _uri(value: str) -> str:
    # A URI has no escaping in iCalendar; only refuse what would break the line.
    return _CONTROL.sub("", _NEWLINES.sub("", value))


def _event_lines(event: VEvent) -> list[str]:
    lines = [
        content_line("UID", escape_text(event.uid)),
        content_line("DTSTAMP", format_utc(event.stamp)),
        content_line("DTSTART", format_utc(event.start)),
        content_line("DTEND", format_utc(event.end)),
        content_line("SEQUENCE", str(event.sequence)),
        content_line("SUMMARY", escape_text(event.summary)),
    ]
    if event.description:
        lines.append(content_line("DESCRIPTION", escape_text(event.description)))
    if event.location:
        lines.append(content_line("LOCATION", escape_text(event.location)))
    if event.url:
        lines.append(content_line("URL", _uri(event.url)))
    if event.status:
        lines.append(content_line("STATUS", event.status))
    return ["BEGIN:VEVENT", *lines, "END:VEVENT"]


def calendar(
    events: Iterable[VEvent],
    *,
    name: str = "",
    method: str = "",
    refresh_interval: timedelta | None = None,
    prodid: str = PRODID,
) -> str:
    """The whole VCALENDAR object as text, CRLF-terminated.

    `name` is shown by clients as the calendar's title (NAME, and X-WR-CALNAME which older
    clients read); `method` is e.g. "PUBLISH" for a file to import, empty for a feed;
    `refresh_interval` tells subscribing clients how often to fetch the feed again."""
    lines = ["BEGIN:VCALENDAR", "VERSION:2.0", content_line("PRODID", prodid)]
    if method:
        lines.append(content_line("METHOD", method))
    lines.append("CALSCALE:GREGORIAN")
    if name:
        lines.append(content_line("NAME", escape_text(name)))
        lines.append(content_line("X-WR-CALNAME", escape_text(name)))
    if refresh_interval is not None:
        lines.append(
            content_line("REFRESH-INTERVAL;VALUE=DURATION", format_duration(refresh_interval))
        )
        lines.append(content_line("X-PUBLISHED-TTL", format_duration(refresh_interval)))
    for event in events:
        lines.extend(_event_lines(event))
    lines.append("END:VCALENDAR")
    return CRLF.join(lines) + CRLF
