"""What `mailing` does when a session or a registration changes (subscribed in
`MailingConfig.ready`): a new session gets its reminders, its own copy of the email texts and
its follow-up rules; reminders that can no longer be right are withheld; an erased person
leaves the campaigns' recipient lists."""

from __future__ import annotations

from antenne.core import periodic
from antenne.events import hooks as events
from antenne.events.hooks import WAITING, SessionChange
from antenne.mailing import campaign_sending, followups, reminders, texts
from antenne.mailing.models import CampaignRecipient
from antenne.registrations import hooks as registrations
from antenne.registrations.hooks import RegistrationChange


def set_up_session(change: SessionChange) -> None:
    reminders.create_default_reminders(change.session)
    texts.copy_defaults_to_session(change.session)
    followups.create_default_rules(change.session)


def session_moved(change: SessionChange) -> None:
    # Reminders follow the start (their send time is derived); those now past are withheld
    # rather than sent late, those ahead again (a move later) are due again.
    reminders.withhold_overtaken_reminders(change.session)
    reminders.rearm_reminders_after_move(change.session)


def session_cancelled(change: SessionChange) -> None:
    reminders.withhold_pending_reminders(change.session, reminders.CANCELLED)


def broadcast_under_way(change: SessionChange) -> None:
    """Live (or over) before its reminders went: they stop. Reminders keep going while only
    the green room is open."""
    if change.previous_state in WAITING:
        change.audit["reminders_withheld"] = reminders.withhold_pending_reminders(
            change.session, reminders.STARTED_EARLY
        )


def registration_erased(change: RegistrationChange) -> None:
    """The campaigns' frozen recipient lists lose the person's address too."""
    CampaignRecipient.objects.filter(
        campaign__session_id=change.session_id, email__iexact=change.email
    ).update(email="")


def connect() -> None:
    periodic.register("mailing.dispatch_due_reminders", reminders.dispatch_due_reminders)
    periodic.register("mailing.prepare_due_followups", followups.prepare_due_followups)
    periodic.register("mailing.resume_due_campaigns", campaign_sending.resume_due_campaigns)
    events.SESSION_SCHEDULED.in_transaction(set_up_session)
    events.SESSION_MOVED.in_transaction(session_moved)
    events.SESSION_CANCELLED.in_transaction(session_cancelled)
    events.SESSION_STARTED.in_transaction(broadcast_under_way)
    events.SESSION_ENDED.in_transaction(broadcast_under_way)
    registrations.REGISTRATION_ERASED.in_transaction(registration_erased)
