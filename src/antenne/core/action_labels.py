"""What each audit action code means, as the audit log shows it (the code stays beside it,
for searches and scripts). A code without a label fails `tests/core/test_labels.py`."""

from __future__ import annotations

from django.utils.functional import Promise
from django.utils.translation import gettext_lazy as _

from antenne.core import actions as a

LABELS: dict[str, str | Promise] = {
    a.LOGIN: _("Logged in"),
    a.LOGIN_FAILED: _("Login refused"),
    a.LOGOUT: _("Logged out"),
    a.LOGIN_LINK_SENT: _("Login link sent"),
    a.ADMIN_CREATED: _("Administrator created"),
    a.MEMBER_ADDED: _("Member added"),
    a.MEMBER_DEACTIVATED: _("Member deactivated"),
    a.MEMBER_REACTIVATED: _("Member reactivated"),
    a.ROLE_CHANGED: _("Role changed"),
    a.TEAM_CHANGED: _("Member's team changed"),
    a.TEAM_CREATED: _("Team created"),
    a.TEAM_UPDATED: _("Team updated"),
    a.ACCESS_REQUESTED: _("Access requested"),
    a.ACCESS_REQUEST_MERGED: _("Access request asked again"),
    a.ACCESS_REQUEST_UPDATED: _("Access request updated"),
    a.ACCESS_APPROVED: _("Access request approved"),
    a.ACCESS_REFUSED: _("Access request refused"),
    a.API_TOKEN_CREATED: _("API token created"),
    a.API_TOKEN_REVOKED: _("API token revoked"),
    a.EVENT_CREATED: _("Webinar created"),
    a.EVENT_UPDATED: _("Webinar updated"),
    a.EVENT_CANCELLED: _("Webinar cancelled"),
    a.SESSION_SCHEDULED: _("Session scheduled"),
    a.SESSION_RESCHEDULED: _("Session moved"),
    a.SESSION_UPDATED: _("Session updated"),
    a.SESSION_CANCELLED: _("Session cancelled"),
    a.SESSION_TEST_RUN: _("Test session"),
    a.SESSION_GREEN_ROOM_OPENED: _("Green room opened"),
    a.SESSION_STARTED: _("Session started"),
    a.SESSION_ENDED: _("Session ended"),
    a.SESSION_REPLAY_SET: _("Replay link set"),
    a.SPEAKER_INVITED: _("Speaker invited"),
    a.SPEAKER_REINVITED: _("Speaker invited again"),
    a.SPEAKER_REVOKED: _("Speaker's link revoked"),
    a.SPEAKER_REMOVED: _("Speaker removed"),
    a.SPEAKER_ACCEPTED: _("Speaker accepted"),
    a.CALENDAR_FEED_CREATED: _("Calendar feed created"),
    a.CALENDAR_FEED_RESET: _("Calendar feed reset"),
    a.PROFILE_UPDATED: _("Profile updated"),
    a.REGISTRATION_CREATED: _("Registration"),
    a.REGISTRATION_REVOKED: _("Registration revoked"),
    a.REGISTRATION_ERASED: _("Registration erased"),
    a.REGISTRATION_UNSUBSCRIBED: _("Unsubscribed from reminders"),
    a.REGISTRATION_RESUBSCRIBED: _("Subscribed to reminders again"),
    a.REGISTRANTS_IMPORTED: _("Registrants imported"),
    a.REGISTRANTS_EXPORTED: _("Registrants downloaded (CSV)"),
    a.QUESTION_ADDED: _("Registration question added"),
    a.QUESTION_REMOVED: _("Registration question removed"),
    a.EMAIL_SENT: _("Email sent"),
    a.EMAIL_FAILED: _("Email failed"),
    a.EMAIL_RETRY_SCHEDULED: _("Email to be tried again"),
    a.EMAIL_WITHHELD: _("Email withheld"),
    a.EMAIL_REQUEUED: _("Email queued again"),
    a.ADDRESS_SUPPRESSED: _("Address no longer emailed"),
    a.REMINDER_ADDED: _("Reminder added"),
    a.REMINDER_CHANGED: _("Reminder changed"),
    a.REMINDER_REMOVED: _("Reminder removed"),
    a.REMINDER_SENT: _("Reminder sent"),
    a.REMINDER_WITHHELD: _("Reminder withheld"),
    a.REMINDER_DUE_AGAIN: _("Reminder due again (session moved later)"),
    a.TEMPLATE_UPDATED: _("Email text updated"),
    a.FOLLOWUP_RULE_CHANGED: _("Follow-up settings changed"),
    a.CAMPAIGN_CREATED: _("Message created"),
    a.CAMPAIGN_UPDATED: _("Message updated"),
    a.CAMPAIGN_FLAG_CONFIRMED: _("Message warning confirmed"),
    a.CAMPAIGN_TEST_SENT: _("Message test sent"),
    a.CAMPAIGN_APPROVED: _("Message approved"),
    a.CAMPAIGN_APPROVAL_WITHDRAWN: _("Message approval withdrawn"),
    a.CAMPAIGN_CANARY_SENT: _("Message sent to its first recipients"),
    a.CAMPAIGN_SENT: _("Message sent"),
    a.CAMPAIGN_STOPPED: _("Message stopped"),
    a.CAMPAIGN_DELETED: _("Message deleted"),
    a.EXPORT_REQUESTED: _("Export requested"),
    a.EXPORT_READY: _("Export ready"),
    a.EXPORT_FAILED: _("Export failed"),
    a.EXPORT_DOWNLOADED: _("Export downloaded"),
    a.EXPORT_DELETED: _("Export deleted"),
    a.PERSONAL_DATA_PURGED: _("Personal data deleted (retention period)"),
    a.ROOM_SETTINGS_CHANGED: _("Room settings changed"),
    a.ROOM_MESSAGE_DELETED: _("Chat message deleted"),
    a.ROOM_PERSON_MUTED: _("Attendee muted"),
    a.ROOM_PERSON_UNMUTED: _("Attendee unmuted"),
    a.ROOM_STAGE_INVITED: _("Attendee invited on stage"),
    a.ROOM_STAGE_REMOVED: _("Removed from the stage"),
    a.ROOM_PHONE_FLOOR_GIVEN: _("Floor given to a caller"),
    a.ROOM_PHONE_FLOOR_TAKEN: _("Floor taken back from a caller"),
}


def label(code: str) -> str:
    """An action's label in the active language (its code if it has none)."""
    return str(LABELS.get(code, code))


def choices() -> list[tuple[str, str]]:
    """Every action as (code, label), by label in the active language."""
    return sorted(((code, label(code)) for code in a.ALL), key=lambda item: item[1])
