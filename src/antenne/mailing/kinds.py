"""Email kinds that need special headers, defined once."""

from __future__ import annotations

# Kinds sent without the recipient asking for that very message (reminders, follow-ups):
# they carry `List-Unsubscribe` and `List-Unsubscribe-Post: List-Unsubscribe=One-Click`
# (RFC 8058). Add a kind here together with its unsubscribe handling
# (`mailing.reminders.unsubscribe_url` / `unsubscribe`).
REMINDER = "reminder"
LIST_UNSUBSCRIBE_KINDS: frozenset[str] = frozenset({REMINDER})
