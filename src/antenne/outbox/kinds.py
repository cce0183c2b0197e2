"""Email kinds that need special handling, defined once, and every kind's label."""

from __future__ import annotations

from django.utils.functional import Promise
from django.utils.translation import gettext_lazy as _

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

# What each kind of email is, as the back office names it (the email log, the report's
# email table). A kind without a label shows its code: `tests/core/test_labels.py` fails.
LABELS: dict[str, str | Promise] = {
    "registration_confirmation": _("Registration confirmation"),
    "registration_member": _("Registration attempt by a member"),
    "registration_moved": _("Session moved (to registrants)"),
    "registration_cancelled": _("Session cancelled (to registrants)"),
    REMINDER: _("Reminder"),
    FOLLOWUP_ATTENDEES: _("Follow-up to attendees"),
    FOLLOWUP_NOSHOWS: _("Follow-up to no-shows"),
    MESSAGE: _("Message to registrants"),
    CAMPAIGN_TEST: _("Test send of a message"),
    "followup_ready": _("Follow-up ready to review"),
    "speaker_invitation": _("Speaker invitation"),
    "session_moved": _("Session moved (to speakers)"),
    "session_cancelled": _("Session cancelled (to speakers)"),
    "export_ready": _("Export ready"),
    "login_link": _("Login link"),
    "welcome": _("Welcome to the workspace"),
    "access_request_admin": _("Access request (to admins)"),
    "access_request_update": _("Access request updated (to admins)"),
    "access_request_approved": _("Access request approved"),
    "access_request_refused": _("Access request refused"),
}


def label(kind: str) -> str:
    """A kind's label in the active language (its code if it has none)."""
    return str(LABELS.get(kind, kind))
