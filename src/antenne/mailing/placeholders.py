"""Named placeholders for organiser-editable email texts, filled in one pass.

A text is plain text: `{first_name}` is replaced by the value of that placeholder, `{{` and
`}}` stand for literal braces. Filling happens once, left to right, and values are never
scanned again, so a registrant called `{join_url}` stays `{join_url}` in their email. The
Django template engine never sees these texts. Anything else written in braces (a typo such
as `{firstname}`, or `{first name}`) is refused when the text is saved.

Some placeholders are optional: when their value is empty (no telephone number configured),
the paragraph that uses them — the text between two blank lines — is left out of the email,
so a default text can offer dial-in only where Antenne has a number."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass

from django.utils.functional import Promise
from django.utils.html import escape
from django.utils.translation import gettext_lazy as _


@dataclass(frozen=True)
class Placeholder:
    name: str
    description: str | Promise
    # URL values are turned into links in the HTML part; people's own input never is.
    is_url: bool = False
    # An empty value leaves out the whole paragraph that uses the placeholder.
    optional: bool = False


REGISTRY: dict[str, Placeholder] = {
    p.name: p
    for p in [
        Placeholder("first_name", _("The recipient's first name.")),
        Placeholder("last_name", _("The recipient's last name.")),
        Placeholder("event_title", _("The webinar's title.")),
        Placeholder(
            "session_start",
            _("Date and time of the session, in its time zone, in the recipient's language."),
        ),
        Placeholder("session_date", _("Date of the session.")),
        Placeholder("session_time", _("Start time of the session.")),
        Placeholder("time_zone", _("Time zone of the session (e.g. Europe/Paris).")),
        Placeholder("duration", _("Duration of the session, in minutes.")),
        Placeholder(
            "starts_in",
            _("In a reminder, the time really left before the start: “in 20 minutes”…"),
        ),
        Placeholder(
            "join_url", _("The recipient's own link to join (personal: never share it)."), True
        ),
        Placeholder("replay_url", _("The replay link of the session, once set."), True),
        Placeholder("event_url", _("The webinar's public registration page."), True),
        Placeholder("workspace_name", _("The name of this Antenne workspace.")),
        Placeholder(
            "phone_number",
            _(
                "The telephone number to call to follow the session by phone. A paragraph "
                "using it is left out when there is no number."
            ),
            optional=True,
        ),
        Placeholder(
            "phone_pin",
            _(
                "The recipient's own PIN to type after calling (personal: never share it). "
                "A paragraph using it is left out when there is none."
            ),
            optional=True,
        ),
    ]
}

# `{{`, `}}`, or a brace pair with no brace inside (whatever it holds, so that typos with
# spaces or accents are reported rather than sent as they are).
_TOKEN = re.compile(r"\{\{|\}\}|\{([^{}\n]{0,60})\}")
_URL = re.compile(r"https?://[^\s<>\"']+[^\s<>\"'.,;:!?)\]»]")


def unknown_placeholders(text: str) -> list[str]:
    """The placeholder names in `text` that the registry does not know, in order, once."""
    found: list[str] = []
    for match in _TOKEN.finditer(text):
        name = match.group(1)
        if name is not None and name not in REGISTRY and name not in found:
            found.append(name)
    return found


def used_placeholders(text: str) -> set[str]:
    return {
        m.group(1) for m in _TOKEN.finditer(text) if m.group(1) is not None and m.group(1)
    } & set(REGISTRY)


_PARAGRAPH_BREAK = re.compile(r"(\n[ \t]*\n\s*)")


def _names(text: str) -> set[str]:
    return {m.group(1) for m in _TOKEN.finditer(text) if m.group(1) is not None}


def _without_empty_optional(text: str, values: Mapping[str, str]) -> str:
    """`text` without the paragraphs that use an optional placeholder with no value."""
    empty = {
        name for name, p in REGISTRY.items() if p.optional and not values.get(name, "").strip()
    }
    if not empty or not _names(text) & empty:
        return text
    parts = _PARAGRAPH_BREAK.split(text.replace("\r\n", "\n"))
    kept: list[str] = []
    for index in range(0, len(parts), 2):
        if _names(parts[index]) & empty:
            continue
        if kept:
            kept.append(parts[index - 1])  # the break before this paragraph
        kept.append(parts[index])
    return "".join(kept)


def _segments(text: str, values: Mapping[str, str]) -> list[tuple[str, bool]]:
    """`text` cut into (piece, may_link) after one pass of substitution: literal organiser
    text and URL values may become links; other values (people's input) never do."""
    pieces: list[tuple[str, bool]] = []
    position = 0
    for match in _TOKEN.finditer(text):
        pieces.append((text[position : match.start()], True))
        token = match.group(0)
        name = match.group(1)
        if name is None:
            pieces.append((token[0], False))  # "{{" -> "{", "}}" -> "}"
        elif name in REGISTRY:
            pieces.append((values.get(name, ""), REGISTRY[name].is_url))
        else:  # refused at save time; kept visible rather than silently dropped
            pieces.append((token, False))
        position = match.end()
    pieces.append((text[position:], True))
    return pieces


def fill(text: str, values: Mapping[str, str]) -> str:
    """`text` with its placeholders replaced, in one pass (paragraphs using an optional
    placeholder with no value left out)."""
    text = _without_empty_optional(text, values)
    return "".join(piece for piece, _may_link in _segments(text, values))


def fill_subject(text: str, values: Mapping[str, str]) -> str:
    """A subject line: filled, on one line (a value cannot add a header), at most 250 chars."""
    filled = "".join(piece for piece, _may_link in _segments(text, values))
    return " ".join(filled.split())[:250]


def _linkify(escaped: str) -> str:
    return _URL.sub(lambda m: f'<a href="{m.group(0)}">{m.group(0)}</a>', escaped)


def fill_html(text: str, values: Mapping[str, str]) -> str:
    """The HTML body of `text`: everything escaped, links made clickable (organiser text and
    URL placeholders only), paragraphs from blank lines, line breaks kept."""
    text = _without_empty_optional(text, values)
    html = "".join(
        _linkify(escape(piece)) if may_link else escape(piece)
        for piece, may_link in _segments(text, values)
    )
    paragraphs = [p.strip("\n") for p in re.split(r"\n\s*\n", html.replace("\r\n", "\n"))]
    return "\n".join("<p>" + p.replace("\n", "<br>\n") + "</p>" for p in paragraphs if p.strip())
