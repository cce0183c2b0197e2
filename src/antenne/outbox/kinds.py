"""Email kinds that need special handling, defined once."""

from __future__ import annotations

REMINDER = "reminder"
FOLLOWUP_ATTENDEES = "followup_attendees"
FOLLOWUP_NOSHOWS = "followup_noshows"
MESSAGE = "message"  # a manual message from the animators to registrants
CAMPAIGN_TEST = "campaign_test"  # a test send to the animator's own address

# Kinds sent without the recipient asking for that very message (reminders, follow-ups,
# messages to registrants): they carry `List-Unsubscribe` and
# `List-Unsubscribe-Post: List-Unsubscribe=One-Click` (RFC 8058), and the person's
# unsubscribe link stops all of them for that registration.
LIST_UNSUBSCRIBE_KINDS: frozenset[str] = frozenset(
    {REMINDER, FOLLOWUP_ATTENDEES, FOLLOWUP_NOSHOWS, MESSAGE}
)
