"""Reminders: rows per session with a derived send time (`starts_at - offset`), sent once to
the registrants of the moment, and the one-click unsubscribe (RFC 8058) that stops them.

The rules (docs/email.md, "Reminders"):
- a session gets the default reminders (1 day and 1 hour before) when it is scheduled; one
  whose send time is already past then (a session scheduled less than a day ahead) is
  withheld at once, reason "too late";
- moving a session moves its reminders with no write; a pending reminder whose new send time
  is already past (the new start is less than its offset away) is withheld, reason "moved":
  it is never sent late as if on time; a move later makes the reminders whose new send time
  is ahead due again (withheld or already sent: a sent one named the old time);
- a reminder goes to the registrants who registered before its send time (someone who
  registers 30 minutes before the start gets no day-before reminder); when several reminders
  of a session are due at once (no worker ran for a while), only the last one goes;
- its words come from the time really left (`texts.starts_in`), never from its offset;
- cancelling withholds the pending reminders ("cancelled"); a session that starts before a
  reminder's send time withholds the still-pending ones ("started early");
- dispatch claims a reminder and writes its emails in one transaction, so a crash can never
  send a reminder twice."""

from __future__ import annotations

import logging
import math
from datetime import datetime, timedelta
from typing import Any

from django.db import connection, transaction
from django.db.models import Q
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
MISSED = "missed"  # due while the session was no longer ahead, or overtaken by a later one
TOO_LATE = "too late"  # its send time was already past when the session was scheduled
# Withheld for a time that had passed: a move later makes them due again.
DUE_AGAIN_AFTER_MOVE = (MOVED, MISSED, TOO_LATE)

# Attendees still wait for the start in these states: reminders go out.
WAITING = (Session.State.SCHEDULED, Session.State.GREEN_ROOM)


# --- Rules per session ---------------------------------------------------------------------


def create_default_reminders(session: Session, now: datetime | None = None) -> None:
    """The default reminders of a newly scheduled session (called by `schedule_session`);
    those whose send time is already past are withheld ("too late"), never sent late."""
    now = now or timezone.now()
    rows = []
    for offset in DEFAULT_OFFSETS:
        reminder = Reminder(session=session, offset_minutes=offset)
        if reminder.send_at <= now:
            reminder.state, reminder.reason = Reminder.State.WITHHELD, TOO_LATE
        rows.append(reminder)
    Reminder.objects.bulk_create(rows)


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


def rearm_reminders_after_move(session: Session, now: datetime | None = None) -> int:
    """After a move later: the reminders whose new send time is ahead are due again, those
    withheld because their time had passed and those already sent (they named the old
    time). Returns how many."""
    now = now or timezone.now()
    if session.state not in WAITING:
        return 0
    candidates = Reminder.objects.filter(session=session).filter(
        Q(state=Reminder.State.SENT)
        | Q(state=Reminder.State.WITHHELD, reason__in=DUE_AGAIN_AFTER_MOVE)
    )
    ids = [
        r.pk for r in candidates if session.starts_at - timedelta(minutes=r.offset_minutes) > now
    ]
    if not ids:
        return 0
    Reminder.objects.filter(pk__in=ids).update(
        state=Reminder.State.PENDING, reason="", sent_at=None, recipients=0
    )
    log_action(None, actions.REMINDER_DUE_AGAIN, data={"session": session.pk, "reminders": ids})
    return len(ids)


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


def _send(reminder: Reminder, now: datetime) -> int:
    """One outbox row per confirmed, subscribed registrant who registered before the send
    time, from the session's own reminder text in each person's language, saying the time
    really left."""
    session = reminder.session
    recipients = session.registrations.filter(
        status=Registration.Status.CONFIRMED,
        reminders_unsubscribed_at__isnull=True,
        created_at__lte=reminder.send_at,
    )
    minutes_left = round((session.starts_at - now).total_seconds() / 60)
    per_language: dict[str, tuple[Any, dict[str, str]]] = {}
    emails = []
    for registration in recipients.iterator():
        registration.session = session
        language = texts.language_of(registration.language)
        if language not in per_language:
            with translation.override(language):
                values = {
                    **texts.session_values(session, language),
                    "starts_in": texts.starts_in(minutes_left),
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
    outbox row per registrant of the moment, written in the transaction that marks the
    reminder sent. Reminders overtaken by their session's start are withheld, and so are
    those overtaken by a later reminder due at the same time (only the last one goes).
    Returns the number of reminders sent. Run every minute by the worker processes; safe to
    run concurrently."""
    now = now or timezone.now()
    candidates = (
        Reminder.objects.filter(
            state=Reminder.State.PENDING,
            session__starts_at__lte=now + timedelta(minutes=MAX_OFFSET),
        )
        .select_related("session")
        .order_by("offset_minutes", "pk")  # the last due first: it overtakes the others
    )
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
            # Earlier reminders still pending would say the same thing again: they go no more.
            _withhold(
                Reminder.objects.filter(
                    session=session,
                    offset_minutes__gt=claimed.offset_minutes,
                    offset_minutes__gte=math.ceil((session.starts_at - now).total_seconds() / 60),
                ),
                MISSED,
            )
            count = _send(claimed, now)
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
