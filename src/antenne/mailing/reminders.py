"""Reminders: rows per session with a derived send time (`starts_at - offset`), sent once to
the registrants of the moment, and the one-click unsubscribe (RFC 8058) that stops them.

The rules (docs/email.md, "Reminders"):
- a session gets the default reminders (1 day and 1 hour before) when it is scheduled;
- moving a session moves its reminders with no write; a pending reminder whose new send time
  is already past (the new start is less than its offset away) is withheld, reason "moved":
  it is never sent late as if on time;
- cancelling withholds the pending reminders ("cancelled"); a session that starts before a
  reminder's send time withholds the still-pending ones ("started early");
- dispatch claims a reminder and writes its emails in one transaction, so a crash can never
  send a reminder twice."""

from __future__ import annotations

import logging
from datetime import datetime, timedelta
from typing import Any

from django.db import connection, transaction
from django.utils import timezone, translation
from django.utils.translation import gettext_lazy as _

from antenne.core import actions
from antenne.core.audit import log_action
from antenne.core.exceptions import Conflict, Invalid
from antenne.events.models import Session
from antenne.events.permissions import require_session_manager
from antenne.mailing import texts
from antenne.mailing.models import Reminder
from antenne.mailing.unsubscribe import unsubscribe_url
from antenne.outbox.kinds import REMINDER
from antenne.outbox.services import email_row, write_emails
from antenne.registrations.models import Registration

logger = logging.getLogger("antenne.mailing")

DEFAULT_OFFSETS = (1440, 60)  # the day before, one hour before
MIN_OFFSET = 5
MAX_OFFSET = 30 * 1440
MOVED = "moved"
CANCELLED = "cancelled"
STARTED_EARLY = "started early"
MISSED = "missed"  # due while the session was no longer ahead (e.g. no worker ran)

# Attendees still wait for the start in these states: reminders go out.
WAITING = (Session.State.SCHEDULED, Session.State.GREEN_ROOM)


# --- Rules per session ---------------------------------------------------------------------


def create_default_reminders(session: Session) -> None:
    """The default reminders of a newly scheduled session (called by `schedule_session`)."""
    Reminder.objects.bulk_create(
        [Reminder(session=session, offset_minutes=offset) for offset in DEFAULT_OFFSETS]
    )


def _check_offset(session: Session, offset_minutes: int, *, reminder: Reminder | None) -> None:
    if not MIN_OFFSET <= offset_minutes <= MAX_OFFSET:
        raise Invalid(
            _("A reminder is sent between 5 minutes and 30 days before the start."),
            code="reminder.offset_invalid",
        )
    if session.state != Session.State.SCHEDULED:
        raise Conflict(
            _("Reminders can only be changed before the session starts."),
            code="reminder.session_not_scheduled",
        )
    if session.starts_at - timedelta(minutes=offset_minutes) <= timezone.now():
        raise Invalid(
            _("That send time is already past: choose a shorter delay."),
            code="reminder.too_late",
        )
    others = Reminder.objects.filter(session=session, offset_minutes=offset_minutes)
    if reminder is not None:
        others = others.exclude(pk=reminder.pk)
    if others.exists():
        raise Conflict(
            _("This session already has a reminder at that time."), code="reminder.exists"
        )


def add_reminder(*, actor: Any, session: Session, offset_minutes: int) -> Reminder:
    require_session_manager(actor, session)
    _check_offset(session, offset_minutes, reminder=None)
    with transaction.atomic():
        reminder = Reminder.objects.create(session=session, offset_minutes=offset_minutes)
        log_action(
            reminder,
            actions.REMINDER_ADDED,
            actor=actor,
            data={"session": session.pk, "offset_minutes": offset_minutes},
        )
    return reminder


def _require_pending(reminder: Reminder) -> None:
    if reminder.state == Reminder.State.SENT:
        raise Conflict(_("This reminder has already been sent."), code="reminder.sent")


def change_reminder(*, actor: Any, reminder: Reminder, offset_minutes: int) -> Reminder:
    """Change when a reminder goes out; a withheld one becomes pending again."""
    require_session_manager(actor, reminder.session)
    _require_pending(reminder)
    _check_offset(reminder.session, offset_minutes, reminder=reminder)
    with transaction.atomic():
        before = reminder.offset_minutes
        reminder.offset_minutes = offset_minutes
        reminder.state = Reminder.State.PENDING
        reminder.reason = ""
        reminder.save(update_fields=["offset_minutes", "state", "reason"])
        log_action(
            reminder,
            actions.REMINDER_CHANGED,
            actor=actor,
            data={"session": reminder.session_id, "from": before, "to": offset_minutes},
        )
    return reminder


def remove_reminder(*, actor: Any, reminder: Reminder) -> None:
    require_session_manager(actor, reminder.session)
    _require_pending(reminder)
    with transaction.atomic():
        log_action(
            reminder.session,
            actions.REMINDER_REMOVED,
            actor=actor,
            data={"reminder": reminder.pk, "offset_minutes": reminder.offset_minutes},
        )
        reminder.delete()


def _withhold(reminders: Any, reason: str) -> int:
    ids = list(reminders.filter(state=Reminder.State.PENDING).values_list("pk", flat=True))
    count = Reminder.objects.filter(pk__in=ids, state=Reminder.State.PENDING).update(
        state=Reminder.State.WITHHELD, reason=reason
    )
    if count:
        session_id = reminders.values_list("session_id", flat=True).first()
        log_action(
            None,
            actions.REMINDER_WITHHELD,
            data={"session": session_id, "reminders": ids, "reason": reason},
        )
    return int(count)


def withhold_pending_reminders(session: Session, reason: str) -> int:
    """Withhold every still-pending reminder of `session` (a cancellation, or "started
    early" when it goes to the green room or live before a reminder's send time)."""
    return _withhold(Reminder.objects.filter(session=session), reason)


def withhold_overtaken_reminders(session: Session, now: datetime | None = None) -> int:
    """After a move: the pending reminders whose new send time is already past (the new
    start is less than their offset away) are withheld, reason "moved"."""
    now = now or timezone.now()
    overtaken = [
        r.pk
        for r in Reminder.objects.filter(session=session, state=Reminder.State.PENDING)
        if session.starts_at - timedelta(minutes=r.offset_minutes) <= now
    ]
    return _withhold(Reminder.objects.filter(pk__in=overtaken), MOVED) if overtaken else 0


# --- Dispatch ------------------------------------------------------------------------------


def _claim(reminder_id: int, session_id: int, now: datetime) -> Reminder | None:
    """Inside the caller's transaction: mark the reminder sent if it is still pending and
    due, its session scheduled and ahead; None when another worker has it or it is no longer
    due (its session moved meanwhile). The session row is locked first (as a move or a
    cancellation does), then the reminder with SKIP LOCKED on PostgreSQL; on SQLite the
    conditional UPDATE decides."""
    session = Session.objects.select_for_update().select_related("event").get(pk=session_id)
    pending = Reminder.objects.filter(pk=reminder_id, state=Reminder.State.PENDING)
    if connection.vendor == "postgresql":
        pending = pending.select_for_update(skip_locked=True)
    reminder = pending.first()
    if reminder is None or session.state not in WAITING or session.starts_at <= now:
        return None
    reminder.session = session
    if reminder.send_at > now:
        return None
    claimed = Reminder.objects.filter(pk=reminder_id, state=Reminder.State.PENDING).update(
        state=Reminder.State.SENT, sent_at=now
    )
    if not claimed:
        return None
    reminder.state = Reminder.State.SENT
    reminder.sent_at = now
    return reminder


def _send(reminder: Reminder) -> int:
    """One outbox row per confirmed, subscribed registrant, from the session's own reminder
    text in each person's language."""
    session = reminder.session
    recipients = session.registrations.filter(
        status=Registration.Status.CONFIRMED, reminders_unsubscribed_at__isnull=True
    )
    per_language: dict[str, tuple[Any, dict[str, str]]] = {}
    emails = []
    for registration in recipients.iterator():
        registration.session = session
        language = texts.language_of(registration.language)
        if language not in per_language:
            with translation.override(language):
                values = {
                    **texts.session_values(session, language),
                    "starts_in": texts.starts_in(reminder.offset_minutes),
                }
            per_language[language] = (texts.session_text(session, REMINDER, language), values)
        text, values = per_language[language]
        link = unsubscribe_url(registration)
        rendered = texts.render(
            subject=text.subject,
            body=text.body,
            values={**values, **texts.person_values(registration)},
            language=language,
            unsubscribe_url=link,
        )
        emails.append(
            email_row(
                to=registration.email,
                kind=REMINDER,
                language=language,
                rendered=rendered,
                unsubscribe_url=link,
                session=session,
            )
        )
    for start in range(0, len(emails), 500):
        write_emails(emails[start : start + 500])
    return len(emails)


def dispatch_due_reminders(now: datetime | None = None) -> int:
    """Send every due pending reminder (send time ≤ now, session scheduled and ahead): one
    outbox row per current registrant, written in the transaction that marks the reminder
    sent. Reminders overtaken by their session's start are withheld. Returns the number of
    reminders sent. Run every minute by the worker processes; safe to run concurrently."""
    now = now or timezone.now()
    candidates = Reminder.objects.filter(
        state=Reminder.State.PENDING, session__starts_at__lte=now + timedelta(minutes=MAX_OFFSET)
    ).select_related("session")
    sent = 0
    for reminder in candidates:
        session = reminder.session
        if reminder.send_at > now:
            continue
        if session.state not in WAITING or session.starts_at <= now:
            reasons: dict[str, str] = {
                Session.State.CANCELLED: CANCELLED,
                Session.State.LIVE: STARTED_EARLY,
            }
            reason = reasons.get(session.state, MISSED)
            with transaction.atomic():
                _withhold(Reminder.objects.filter(pk=reminder.pk), reason)
            continue
        with transaction.atomic():
            claimed = _claim(reminder.pk, session.pk, now)
            if claimed is None:
                continue
            count = _send(claimed)
            Reminder.objects.filter(pk=claimed.pk).update(recipients=count)
            log_action(
                claimed,
                actions.REMINDER_SENT,
                data={
                    "session": session.pk,
                    "offset_minutes": claimed.offset_minutes,
                    "recipients": count,
                },
            )
        sent += 1
        logger.info("reminder %s of session %s: %d email(s)", claimed.pk, session.pk, count)
    return sent
