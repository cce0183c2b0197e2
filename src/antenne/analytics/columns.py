"""The columns and sheets of a session's export: each column has a stable code (what
`rows` and the tests name it by) and a label in the requester's language (what the file's
header and the report page's preview show); each sheet likewise. Time columns name the
zone their times are in (the session's)."""

from __future__ import annotations

from django.utils.functional import Promise
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

UTM = ("utm_source", "utm_medium", "utm_campaign", "utm_term", "utm_content")
OTHER_ANSWERS = "other_answers"

REGISTRANT_COLUMNS = [
    "registration_id",
    "email",
    "first_name",
    "last_name",
    "status",
    "source",
    "language",
    "registered_at",
    "consent_at",
    "consent_version",
    *UTM,
    "session_id",
    "session_start",
    "attended",
    "first_join",
    "last_leave",
    "watch_time_seconds",
    "messages",
    "questions",
    "upvotes",
]
CHAT_COLUMNS = ["message_id", "sent_at", "author", "role", "registration_id", "text", "deleted_at"]
QUESTION_COLUMNS = [
    "question_id",
    "asked_at",
    "author",
    "anonymous",
    "registration_id",
    "text",
    "state",
    "upvotes",
]
POLL_COLUMNS = [
    "poll_id",
    "question",
    "multiple",
    "state",
    "opened_at",
    "closed_at",
    "option",
    "votes",
    "voters",
]
CALL_COLUMNS = [
    "call_id",
    "started_at",
    "joined_at",
    "ended_at",
    "outcome",
    "caller",
    "registration_id",
    "registrant",
    "wrong_pins",
    "packets_received",
    "packets_lost",
    "packets_sent",
]

# Columns whose cells are times (in the session's zone): their header names the zone.
TIMES = frozenset(
    {
        "registered_at",
        "consent_at",
        "session_start",
        "first_join",
        "last_leave",
        "sent_at",
        "deleted_at",
        "asked_at",
        "opened_at",
        "closed_at",
        "started_at",
        "joined_at",
        "ended_at",
    }
)

LABELS: dict[str, str | Promise] = {
    "registration_id": pgettext_lazy("export column", "Registration ID"),
    "email": _("Email address"),
    "first_name": _("First name"),
    "last_name": _("Last name"),
    "status": _("Status"),
    "source": pgettext_lazy("export column", "Registered through"),
    "language": _("Language"),
    "registered_at": pgettext_lazy("export column", "Registered at"),
    "consent_at": pgettext_lazy("export column", "Consent given at"),
    "consent_version": pgettext_lazy("export column", "Consent version"),
    # The UTM parameters keep their names: they are what the links carry.
    **{key: key for key in UTM},
    "session_id": pgettext_lazy("export column", "Session ID"),
    "session_start": pgettext_lazy("export column", "Session start"),
    "attended": pgettext_lazy("export column", "Attended"),
    "first_join": pgettext_lazy("export column", "First joined at"),
    "last_leave": pgettext_lazy("export column", "Last left at"),
    "watch_time_seconds": pgettext_lazy("export column", "Watch time (seconds)"),
    "messages": pgettext_lazy("export column", "Chat messages"),
    "questions": pgettext_lazy("export column", "Questions asked"),
    "upvotes": pgettext_lazy("export column", "Upvotes"),
    OTHER_ANSWERS: pgettext_lazy("export column", "Other answers"),
    "message_id": pgettext_lazy("export column", "Message ID"),
    "sent_at": pgettext_lazy("export column", "Sent at"),
    "author": pgettext_lazy("export column", "Author"),
    "role": pgettext_lazy("export column", "Role"),
    "text": pgettext_lazy("export column", "Text"),
    "deleted_at": pgettext_lazy("export column", "Deleted at"),
    "question_id": pgettext_lazy("export column", "Question ID"),
    "asked_at": pgettext_lazy("export column", "Asked at"),
    "anonymous": pgettext_lazy("export column", "Anonymous"),
    "state": pgettext_lazy("export column", "State"),
    "poll_id": pgettext_lazy("export column", "Poll ID"),
    "question": pgettext_lazy("export column", "Question"),
    "multiple": pgettext_lazy("export column", "Several answers allowed"),
    "opened_at": pgettext_lazy("export column", "Opened at"),
    "closed_at": pgettext_lazy("export column", "Closed at"),
    "option": pgettext_lazy("export column", "Option"),
    "votes": pgettext_lazy("export column", "Votes"),
    "voters": pgettext_lazy("export column", "Voters"),
    "call_id": pgettext_lazy("export column", "Call ID"),
    "started_at": pgettext_lazy("export column", "Call started at"),
    "joined_at": pgettext_lazy("export column", "Joined the session at"),
    "ended_at": pgettext_lazy("export column", "Call ended at"),
    "outcome": pgettext_lazy("export column", "Outcome"),
    "caller": pgettext_lazy("export column", "Caller (masked number)"),
    "registrant": pgettext_lazy("export column", "Registrant"),
    "wrong_pins": pgettext_lazy("export column", "Wrong PINs typed"),
    "packets_received": pgettext_lazy("export column", "Audio packets received"),
    "packets_lost": pgettext_lazy("export column", "Audio packets lost"),
    "packets_sent": pgettext_lazy("export column", "Audio packets sent"),
}

# Sheet code → its name (a worksheet's name in XLSX, a file's name in the CSV archive).
SHEETS: dict[str, str | Promise] = {
    "registrants": _("Registrants"),
    "chat": _("Chat"),
    "questions": _("Questions"),
    "polls": _("Polls"),
    "calls": _("Calls"),
}


def label(code: str, *, zone: str) -> str:
    """A column's header in the active language; a time column names its zone."""
    text = str(LABELS[code])
    return f"{text} ({zone})" if code in TIMES else text


def poll_column(number: int, question: str) -> str:
    return str(pgettext_lazy("export column", "Poll %(number)s: %(question)s")) % {
        "number": number,
        "question": question,
    }


# Values that are codes in the database, as a person reads them.
SOURCES: dict[str, str | Promise] = {
    "public": pgettext_lazy("registered through", "Registration page"),
    "manual": pgettext_lazy("registered through", "Added by hand"),
    "import": pgettext_lazy("registered through", "CSV import"),
    "api": pgettext_lazy("registered through", "API"),
}
ATTENDED: dict[str, str | Promise] = {
    "web": pgettext_lazy("attended", "on the web"),
    "phone": pgettext_lazy("attended", "by telephone"),
}
