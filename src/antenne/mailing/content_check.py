"""Signs that a mass email was copied from another webinar: another webinar's title, a date
that is not the session's, a link to another webinar or someone's personal link, a replay
placeholder with no replay. The animator confirms each flag before the email goes out."""

from __future__ import annotations

import hashlib
import re
import unicodedata
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import date
from urllib.parse import urlsplit

from django.conf import settings
from django.utils.formats import date_format
from django.utils.translation import gettext as _

from antenne.events.models import Event, Session

OTHER_EVENT = "other_event"
DATE = "date"
LINK = "link"
PERSONAL_LINK = "personal_link"
MISSING_REPLAY = "missing_replay"

MIN_TITLE_LENGTH = 6  # shorter titles ("Atelier") are ordinary words
_FIELD_ORDER = {"subject": 0, "body": 1}


@dataclass(frozen=True)
class Flag:
    id: str
    kind: str
    language: str
    field: str
    match: str
    message: str


# As in `mailing.placeholders`: `{{` and `}}` are literal braces, `{…}` a placeholder.
_TOKEN = re.compile(r"\{\{|\}\}|\{(?P<name>[^{}\n]{0,60})\}")
_URL = re.compile(r"https?://[^\s<>\"«»]+")
_URL_TRAILING = ".,;:!?)]»\"'"
_WORD = re.compile(r"\w+")

_MONTHS = {
    **dict.fromkeys(("janvier", "janv", "january", "jan"), 1),
    **dict.fromkeys(("fevrier", "fevr", "fev", "february", "feb"), 2),
    **dict.fromkeys(("mars", "march", "mar"), 3),
    **dict.fromkeys(("avril", "avr", "april", "apr"), 4),
    **dict.fromkeys(("mai", "may"), 5),
    **dict.fromkeys(("juin", "june", "jun"), 6),
    **dict.fromkeys(("juillet", "juil", "july", "jul"), 7),
    **dict.fromkeys(("aout", "august", "aug"), 8),
    **dict.fromkeys(("septembre", "september", "sept", "sep"), 9),
    **dict.fromkeys(("octobre", "october", "oct"), 10),
    **dict.fromkeys(("novembre", "november", "nov"), 11),
    **dict.fromkeys(("decembre", "december", "dec"), 12),
}
_WEEKDAYS = {
    name: number
    for names in (
        ("lundi", "mardi", "mercredi", "jeudi", "vendredi", "samedi", "dimanche"),
        ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday"),
    )
    for number, name in enumerate(names)
}
# Abbreviated weekdays are read (so "mar. 3 nov." is one date) but not checked: "mar", "sun"
# or "mer" may be other words.
_WEEKDAY_ABBR = "lun|mar|mer|jeu|ven|sam|dim|mon|tues|tue|wed|thurs|thu|fri|sat|sun"
_APOSTROPHES = "\u2019\u2018\u02bc"


def _alternation(words: Iterable[str]) -> str:
    return "|".join(sorted(words, key=len, reverse=True))


_MONTH = _alternation(_MONTHS)
# Matched against folded text: casefolded, accents dropped, whitespace runs made one space.
_TEXT_DATE = re.compile(
    rf"(?<!\w)(?:(?P<wd>{_alternation(_WEEKDAYS)}|{_WEEKDAY_ABBR})\.?,? )?"
    rf"(?:(?P<d1>\d{{1,2}})(?:er|st|nd|rd|th)? (?:of )?(?P<m1>{_MONTH})"
    rf"|(?P<m2>{_MONTH})\.? (?P<d2>\d{{1,2}})(?:st|nd|rd|th)?)(?!\w)"
    r"(?:\.?,? (?P<y>\d{4})(?!\w))?"
)
_NUMERIC_DATE = re.compile(
    r"(?<![\w./-])(?:"
    r"(?P<iy>\d{4})-(?P<im>\d{1,2})-(?P<id>\d{1,2})"
    r"|(?P<sd>\d{1,2})/(?P<sm>\d{1,2})(?:/(?P<sy>\d{4}|\d{2}))?"
    r"|(?P<pd>\d{1,2})\.(?P<pm>\d{1,2})\.(?P<py>\d{4})"
    r")(?![\w/-]|\.\d)"
)
_OWN_LINKS = (  # (path pattern, kind, which id must match)
    (re.compile(r"/join/[^/]+"), PERSONAL_LINK, None),
    (re.compile(r"/e/(\d+)(?:/|$)"), LINK, "event"),
    (re.compile(r"/app/events/(\d+)(?:/|$)"), LINK, "event"),
    (re.compile(r"/app/sessions/(\d+)(?:/|$)"), LINK, "session"),
)


def _fold(text: str) -> tuple[str, list[int]]:
    """`text` casefolded, without accents, with each whitespace run as one space and
    typographic apostrophes as `'`; and for each folded character, its index in `text`."""
    chars: list[str] = []
    origin: list[int] = []
    for index, char in enumerate(text):
        if char.isspace():
            if not chars or chars[-1] != " ":
                chars.append(" ")
                origin.append(index)
            continue
        for piece in unicodedata.normalize("NFKD", char).casefold():
            if not unicodedata.combining(piece):
                chars.append("'" if piece in _APOSTROPHES else piece)
                origin.append(index)
    return "".join(chars), origin


def _title_key(title: str) -> str:
    return re.sub(r"^\W+|\W+$", "", _fold(title)[0])


def _other_titles(session: Session) -> dict[str, list[tuple[str, str]]]:
    """Other events' titles worth looking for, by first word, longest first."""
    own, others = "", []
    for pk, title in Event.objects.values_list("pk", "title"):
        if pk == session.event_id:
            own = _fold(title)[0]
        else:
            others.append(title)
    index: dict[str, list[tuple[str, str]]] = {}
    for title in others:
        key = _title_key(title)
        if len(key) >= MIN_TITLE_LENGTH and key not in own:
            index.setdefault(_WORD.findall(key)[0], []).append((key, title))
    for candidates in index.values():
        candidates.sort(key=lambda candidate: len(candidate[0]), reverse=True)
    return index


def _text_date(found: re.Match[str]) -> tuple[int, int, int | None, int | None]:
    """Day, month, year and checked weekday of a date written with a month name."""
    year = found["y"]
    return (
        int(found["d1"] or found["d2"]),
        _MONTHS[found["m1"] or found["m2"]],
        None if year is None else int(year),
        _WEEKDAYS.get(found["wd"] or ""),
    )


def _numeric_date(found: re.Match[str]) -> tuple[int, int, int | None, None] | None:
    """Day, month and year of a date written in digits; None for a likely fraction."""
    if found["iy"]:
        day, month, year = found["id"], found["im"], found["iy"]
    elif found["pd"]:
        day, month, year = found["pd"], found["pm"], found["py"]
    else:
        day, month, year = found["sd"], found["sm"], found["sy"]
        if year is None and len(day) < 2 and len(month) < 2:
            return None  # "1/2", "1/4": a fraction more likely than a date
    if year is None:
        return int(day), int(month), None, None
    return int(day), int(month), int(year) + (2000 if len(year) == 2 else 0), None


def _date_message(
    day: int, month: int, year: int | None, weekday: int | None, session_date: date
) -> str | None:
    """Why a written date is flagged, or None when it is the session's date."""
    if not (1 <= day <= 31 and 1 <= month <= 12):
        return None  # not a date: a score, a ratio, a reference…
    formatted = date_format(session_date, "j F Y")
    try:
        date(year or 2000, month, day)  # 2000: a leap year, so "29/02" alone is valid
    except ValueError:
        return _("An impossible date (this session's date is %(date)s).") % {"date": formatted}
    if (year or session_date.year, month, day) != session_date.timetuple()[:3]:
        return _("A date that is not this session's date (%(date)s).") % {"date": formatted}
    if weekday is not None and weekday != session_date.weekday():
        return _("The day of the week does not match this session's date (%(date)s).") % {
            "date": date_format(session_date, "l j F Y")
        }
    return None


def _link_message(url: str, session: Session) -> tuple[str, str] | None:
    """Kind and explanation for a link to this installation that has no place here."""
    try:
        parts = urlsplit(url)
        parts.hostname  # noqa: B018 (raises ValueError on a malformed host such as "[oops]")
    except ValueError:
        return None
    if (parts.hostname or "") != (urlsplit(settings.BASE_URL).hostname or "").lower():
        return None
    for pattern, kind, owner in _OWN_LINKS:
        found = pattern.match(parts.path)
        if found is None:
            continue
        if kind == PERSONAL_LINK:
            return kind, _(
                "Someone's personal join link: write {join_url} so that each registrant "
                "gets their own."
            )
        if owner == "event" and int(found[1]) != session.event_id:
            return kind, _("A link to the page of another webinar.")
        if owner == "session" and int(found[1]) != session.pk:
            return kind, _("A link to the page of another session.")
    return None


def _scan(
    raw: str, *, session: Session, titles: dict[str, list[tuple[str, str]]], replay_url: str
) -> Iterator[tuple[int, int, str, str]]:
    """(start, end, kind, message) of each finding in `raw`."""
    masked = list(raw)
    for token in _TOKEN.finditer(raw):
        if token["name"] is None:
            continue
        masked[token.start() : token.end()] = " " * (token.end() - token.start())
        if token["name"] == "replay_url" and not replay_url:
            message = _("The text uses {replay_url} but this session has no replay link yet.")
            yield token.start(), token.end(), MISSING_REPLAY, message
    folded, origin = _fold("".join(masked))

    def span(start: int, end: int) -> tuple[int, int]:
        stop = origin[end - 1] + 1
        while stop < len(raw) and unicodedata.combining(raw[stop]):
            stop += 1
        return origin[start], stop

    for found in _URL.finditer(folded):
        end = found.start() + len(found[0].rstrip(_URL_TRAILING))
        start, stop = span(found.start(), end)
        folded = folded[: found.start()] + " " * (end - found.start()) + folded[end:]
        link = _link_message(raw[start:stop], session)
        if link is not None:
            yield start, stop, *link

    free_from = 0
    for word in _WORD.finditer(folded):
        for key, title in titles.get(word[0], []) if word.start() >= free_from else []:
            end = word.start() + len(key)
            if folded.startswith(key, word.start()) and not _WORD.match(folded, end):
                free_from = end
                message = _('Names another webinar of the workspace: "%(title)s".')
                yield *span(word.start(), end), OTHER_EVENT, message % {"title": title}
                break

    session_date = session.local_start.date()
    for pattern, parse in ((_TEXT_DATE, _text_date), (_NUMERIC_DATE, _numeric_date)):
        for found in pattern.finditer(folded):
            parsed = parse(found)
            why = None if parsed is None else _date_message(*parsed, session_date)
            if why is not None:
                yield *span(found.start(), found.end()), DATE, why


def check_content(
    *, texts: dict[str, dict[str, str]], session: Session, replay_url: str = ""
) -> list[Flag]:
    """Flags for `texts` ({language: {"subject": …, "body": …}}, placeholders not filled in)
    about to be sent to the registrants of `session`, sorted by language, field (subject
    first) and position. The same finding twice in one field is one flag."""
    titles = _other_titles(session)
    found: dict[str, tuple[tuple[str, int, str, int, str], Flag]] = {}
    for language, fields in texts.items():
        for field, raw in fields.items():
            for start, end, kind, message in _scan(
                raw, session=session, titles=titles, replay_url=replay_url
            ):
                match = raw[start:end]
                key = f"{kind}|{language}|{field}|{match.casefold()}"
                flag_id = hashlib.sha256(key.encode()).hexdigest()[:16]
                order = (language, _FIELD_ORDER.get(field, 2), field, start, kind)
                if flag_id not in found or order < found[flag_id][0]:
                    found[flag_id] = (order, Flag(flag_id, kind, language, field, match, message))
    return [flag for _order, flag in sorted(found.values(), key=lambda item: item[0])]
