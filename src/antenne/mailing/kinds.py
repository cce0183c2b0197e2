"""Email kinds that need special headers, defined once."""

from __future__ import annotations

# Kinds sent without the recipient asking for that very message (reminders, follow-ups):
# they carry `List-Unsubscribe` and `List-Unsubscribe-Post: List-Unsubscribe=One-Click`
# (RFC 8058). None exist yet; add a kind here together with its unsubscribe endpoint.
LIST_UNSUBSCRIBE_KINDS: frozenset[str] = frozenset()
