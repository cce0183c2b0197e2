"""Writing and delivering emails. Callers use `queue_email` inside their transaction; the row
is delivered by the background worker once the transaction commits."""

from __future__ import annotations

import logging
import random
import smtplib
from datetime import datetime, timedelta
from typing import Any
from urllib.parse import urlsplit

from django.conf import settings
from django.core.mail import EmailMultiAlternatives, get_connection
from django.core.mail.message import make_msgid
from django.db import connection, transaction
from django.db.models import Q
from django.template.loader import render_to_string
from django.utils import timezone, translation
from django_tasks import task
from django_tasks_db.models import DBTaskResult

from antenne.core import actions
from antenne.core.audit import log_action
from antenne.outbox.kinds import LIST_UNSUBSCRIBE_KINDS
from antenne.outbox.models import OutgoingEmail, Suppression

logger = logging.getLogger("antenne.mailing")


def render_email(template: str, context: dict[str, Any], *, language: str) -> dict[str, str]:
    """Subject, text and HTML of `mailing/email/<template>.*` rendered in `language`."""
    base_context = {
        "WORKSPACE_NAME": settings.WORKSPACE_NAME,
        "BASE_URL": settings.BASE_URL,
        **context,
    }
    with translation.override(language):
        subject = render_to_string(f"mailing/email/{template}.subject.txt", base_context)
        text = render_to_string(f"mailing/email/{template}.txt", base_context)
        html = render_to_string(f"mailing/email/{template}.html", base_context)
    return {"subject": " ".join(subject.split()), "text": text.strip() + "\n", "html": html}


def is_suppressed(address: str) -> bool:
    return Suppression.objects.filter(address=address.strip().lower()).exists()


def queue_email(
    *,
    to: str,
    kind: str,
    template: str,
    context: dict[str, Any],
    language: str = "",
    attachments: list[dict[str, str]] | None = None,
    unsubscribe_url: str = "",
    session: Any = None,
) -> OutgoingEmail:
    """Write an email rendered from `mailing/email/<template>.*` now; deliver it after the
    surrounding transaction commits."""
    language = language or settings.LANGUAGE_CODE
    return write_email(
        to=to,
        kind=kind,
        language=language,
        rendered=render_email(template, context, language=language),
        attachments=attachments,
        unsubscribe_url=unsubscribe_url,
        session=session,
    )


def write_email(
    *,
    to: str,
    kind: str,
    language: str,
    rendered: dict[str, str],
    attachments: list[dict[str, str]] | None = None,
    unsubscribe_url: str = "",
    session: Any = None,
    campaign: Any = None,
) -> OutgoingEmail:
    """Write one already rendered email row (subject, text, html); deliver it after commit.
    An address on the suppression list gets a `withheld` row and nothing is sent."""
    return write_emails(
        [
            email_row(
                to=to,
                kind=kind,
                language=language,
                rendered=rendered,
                attachments=attachments or [],
                unsubscribe_url=unsubscribe_url,
                session=session,
                campaign=campaign,
            )
        ]
    )[0]


def email_row(
    *, to: str, kind: str, language: str, rendered: dict[str, str], **fields: Any
) -> OutgoingEmail:
    """An unsaved outbox row for a rendered message (subject, text, html), for
    `write_emails`."""
    return OutgoingEmail(
        to=to,
        kind=kind,
        language=language,
        subject=rendered["subject"][:250],
        body_text=rendered["text"],
        body_html=rendered["html"],
        **fields,
    )


def write_emails(emails: list[OutgoingEmail]) -> list[OutgoingEmail]:
    """Write many unsaved email rows in one statement (suppressed addresses `withheld`) and
    enqueue the others' delivery after commit."""
    for email in emails:
        if email.kind in LIST_UNSUBSCRIBE_KINDS and not email.unsubscribe_url:
            raise ValueError(f"emails of kind {email.kind!r} need an unsubscribe_url (RFC 8058)")
    suppressed = set(
        Suppression.objects.filter(
            address__in={email.to.strip().lower() for email in emails}
        ).values_list("address", flat=True)
    )
    for email in emails:
        if email.to.strip().lower() in suppressed:
            email.state = OutgoingEmail.State.WITHHELD
            email.last_error = "suppressed"
    created = OutgoingEmail.objects.bulk_create(emails)
    for email in created:
        if email.state == OutgoingEmail.State.WITHHELD:
            log_action(
                email, actions.EMAIL_WITHHELD, data={"kind": email.kind, "reason": "suppressed"}
            )
    pending = [email.pk for email in created if email.state == OutgoingEmail.State.PENDING]
    if pending:
        transaction.on_commit(lambda: _enqueue_many(pending))
    return created


def _enqueue_many(email_ids: list[int]) -> None:
    for email_id in email_ids:
        _enqueue(email_id, on_commit=False)


def _enqueue(email_id: int, *, on_commit: bool, run_after: datetime | None = None) -> None:
    def enqueue() -> None:
        task = deliver.using(run_after=run_after) if run_after else deliver
        task.enqueue(email_id)

    if on_commit:
        transaction.on_commit(enqueue)
    else:
        enqueue()


# --- Delivery --------------------------------------------------------------------------

TEMPORARY = "temporary"  # try again later
PERMANENT = "permanent"  # the recipient refuses: fail and suppress the address
FATAL = "fatal"  # fail this row, but the address is not to blame


def classify_error(exc: BaseException) -> str:
    """Whether a sending error is worth retrying, and whether the recipient is to blame."""
    if isinstance(exc, smtplib.SMTPRecipientsRefused):
        codes = [code for code, _message in exc.recipients.values()]
        if codes and all(500 <= code < 600 for code in codes):
            return PERMANENT
        return TEMPORARY
    if isinstance(exc, (smtplib.SMTPConnectError, smtplib.SMTPServerDisconnected)):
        return TEMPORARY  # the relay, not the recipient
    if isinstance(exc, (smtplib.SMTPSenderRefused, smtplib.SMTPAuthenticationError)):
        return TEMPORARY if 400 <= exc.smtp_code < 500 else FATAL  # our side is misconfigured
    if isinstance(exc, smtplib.SMTPResponseException):
        if 400 <= exc.smtp_code < 500:
            return TEMPORARY
        return PERMANENT if 500 <= exc.smtp_code < 600 else FATAL
    if isinstance(exc, smtplib.SMTPException):
        return FATAL
    if isinstance(exc, OSError):  # refused, unreachable, timed out, reset (TimeoutError too)
        return TEMPORARY
    return FATAL


def retry_delay(attempts: int) -> timedelta:
    """Exponential backoff with ±20 % jitter: base * 2^(attempts-1), capped at one hour."""
    base = settings.EMAIL_RETRY_SECONDS * 2 ** max(attempts - 1, 0)
    seconds = min(base, 3600) * random.uniform(0.8, 1.2)  # noqa: S311 (jitter, not secrets)
    return timedelta(seconds=seconds)


def _due() -> Q:
    return Q(next_attempt_at__isnull=True) | Q(next_attempt_at__lte=timezone.now())


def _claim(email_id: int) -> bool:
    """Move one due pending row to `sending`. On PostgreSQL the row is locked with
    SKIP LOCKED, so concurrent workers skip it instead of queuing behind each other; on
    SQLite (one writer at a time) the conditional UPDATE alone decides."""
    pending = OutgoingEmail.objects.filter(_due(), pk=email_id, state=OutgoingEmail.State.PENDING)
    now = timezone.now()
    if connection.vendor == "postgresql":
        with transaction.atomic():
            row = pending.select_for_update(skip_locked=True).values_list("pk", flat=True)
            if not row.first():
                return False
            OutgoingEmail.objects.filter(pk=email_id).update(
                state=OutgoingEmail.State.SENDING, claimed_at=now
            )
            return True
    return bool(pending.update(state=OutgoingEmail.State.SENDING, claimed_at=now))


def build_message(email: OutgoingEmail) -> EmailMultiAlternatives:
    headers = {"Message-ID": email.message_id, "Auto-Submitted": "auto-generated"}
    if email.kind in LIST_UNSUBSCRIBE_KINDS and email.unsubscribe_url:
        headers["List-Unsubscribe"] = f"<{email.unsubscribe_url}>"
        headers["List-Unsubscribe-Post"] = "List-Unsubscribe=One-Click"
    message = EmailMultiAlternatives(
        subject=email.subject,
        body=email.body_text,
        from_email=settings.DEFAULT_FROM_EMAIL,
        to=[email.to],
        headers=headers,
    )
    if email.body_html:
        message.attach_alternative(email.body_html, "text/html")
    for attachment in email.attachments:
        message.attach(attachment["filename"], attachment["content"], attachment["mimetype"])
    return message


def _send(message: EmailMultiAlternatives) -> Any:
    """Hand the message to the relay; returns the still-open connection, which the caller
    closes once the row is marked sent (a slow QUIT must not widen the window in which a
    crash causes a resend)."""
    mailer = get_connection()
    mailer.open()
    try:
        mailer.send_messages([message])
    except BaseException:
        _close(mailer)
        raise
    return mailer


def _close(mailer: Any) -> None:
    try:  # the message is accepted by now: a failing QUIT must not cause a resend
        mailer.close()
    except Exception:
        logger.info("closing the mail connection failed", exc_info=True)


def deliver_email(*, email_id: int) -> str:
    """Send one pending email through the configured backend. Returns its state afterwards:
    `sent`, `pending` (a temporary failure, retried later), `failed`, or the state another
    worker left it in."""
    if not _claim(email_id):
        return str(OutgoingEmail.objects.values_list("state", flat=True).get(pk=email_id))
    email = OutgoingEmail.objects.get(pk=email_id)
    if not email.message_id:
        # Stored before the SMTP exchange, so that a resend after a crash (the message was
        # accepted, the row still `sending`) carries the same Message-ID and a recipient's
        # mail system can recognise the duplicate.
        email.message_id = make_msgid(domain=urlsplit(settings.BASE_URL).hostname)
        OutgoingEmail.objects.filter(pk=email.pk).update(message_id=email.message_id)
    email.attempts += 1
    try:
        mailer = _send(build_message(email))
    except Exception as exc:  # any transport error is recorded on the row, not lost
        return _record_failure(email, exc)
    # A crash right here (SMTP accepted, row not yet updated) is the one way to a duplicate:
    # the row stays in `sending` and `requeue_stuck` sends it again. See docs/email.md.
    email.state = OutgoingEmail.State.SENT
    email.sent_at = timezone.now()
    email.last_error = ""
    email.next_attempt_at = None
    email.save(
        update_fields=[
            "state",
            "attempts",
            "last_error",
            "message_id",
            "sent_at",
            "next_attempt_at",
        ]
    )
    log_action(email, actions.EMAIL_SENT, data={"kind": email.kind, "to": email.to})
    _close(mailer)
    return str(email.state)


def _record_failure(email: OutgoingEmail, exc: Exception) -> str:
    kind = classify_error(exc)
    email.last_error = f"{type(exc).__name__}: {exc}"[:2000]
    fields = ["state", "attempts", "last_error", "message_id", "next_attempt_at"]
    if kind == TEMPORARY and _campaign_stopped(email.campaign_id):
        email.state = OutgoingEmail.State.WITHHELD
        email.last_error = "stopped"
        email.next_attempt_at = None
        email.save(update_fields=fields)
        return str(email.state)
    if kind == TEMPORARY and email.attempts < settings.EMAIL_MAX_ATTEMPTS:
        email.state = OutgoingEmail.State.PENDING
        email.next_attempt_at = timezone.now() + retry_delay(email.attempts)
        logger.info(
            "email %s to %s: temporary failure, retry at %s: %s",
            email.pk,
            email.to,
            email.next_attempt_at,
            exc,
        )
        with transaction.atomic():
            email.save(update_fields=fields)
            log_action(
                email,
                actions.EMAIL_RETRY_SCHEDULED,
                data={
                    "kind": email.kind,
                    "error": email.last_error,
                    "attempts": email.attempts,
                    "next_attempt_at": email.next_attempt_at.isoformat(),
                },
            )
            _enqueue(email.pk, on_commit=True, run_after=email.next_attempt_at)
        return str(email.state)
    logger.warning("email %s to %s failed: %s", email.pk, email.to, exc)
    email.state = OutgoingEmail.State.FAILED
    email.next_attempt_at = None
    with transaction.atomic():
        email.save(update_fields=fields)
        log_action(
            email,
            actions.EMAIL_FAILED,
            data={"kind": email.kind, "error": email.last_error, "attempts": email.attempts},
        )
        if kind == PERMANENT:
            suppress_address(address=email.to, reason=email.last_error)
    return str(email.state)


def forget_recipient(*, session: Any, address: str) -> int:
    """Erase a person from the outbox rows of `session`: what has not gone is withheld, and
    every row loses their address and the text written for them. Returns the number of rows
    scrubbed. (Campaign recipients are scrubbed by `mailing` when the registration is
    erased.)"""
    emails = OutgoingEmail.objects.filter(session=session, to__iexact=address.strip())
    emails.filter(state=OutgoingEmail.State.PENDING).update(
        state=OutgoingEmail.State.WITHHELD, last_error="erased", next_attempt_at=None
    )
    count = emails.update(to="", subject="", body_text="", body_html="", unsubscribe_url="")
    return int(count)


STOPPED_CAMPAIGN = "stopped"  # mailing.Campaign.State.STOPPED, read through the relation


def _campaign_stopped(campaign_id: int | None) -> bool:
    return bool(
        campaign_id
        and OutgoingEmail.objects.filter(
            campaign_id=campaign_id, campaign__state=STOPPED_CAMPAIGN
        ).exists()
    )


def suppress_address(*, address: str, reason: str) -> Suppression:
    """Put `address` on the suppression list (idempotent)."""
    suppression, created = Suppression.objects.get_or_create(
        address=address.strip().lower(), defaults={"reason": reason[:2000]}
    )
    if created:
        log_action(suppression, actions.ADDRESS_SUPPRESSED, data={"reason": suppression.reason})
    return suppression


DELIVER_TASK_PATH = "antenne.outbox.services.deliver"


@task()
def deliver(email_id: int) -> str:
    """The workers' task for one email, queued after commit by `_enqueue` (and by itself
    for a retry): defined beside the service, since the service queues it."""
    return deliver_email(email_id=email_id)


# --- Recovery --------------------------------------------------------------------------

STUCK_AFTER = timedelta(minutes=5)


def requeue_stuck(*, older_than: timedelta = STUCK_AFTER) -> int:
    """Give back to the queue what a crashed worker left behind; returns how many rows.

    - rows in `sending` claimed more than `older_than` ago (the worker died mid-send; the
      message may or may not have been accepted: this is the at-least-once case);
    - pending rows due more than `older_than` ago that no queued task will pick up (the
      worker died between taking the task and claiming the row, or the process died
      between the commit and the enqueue)."""
    cutoff = timezone.now() - older_than
    OutgoingEmail.objects.filter(
        state__in=[OutgoingEmail.State.SENDING, OutgoingEmail.State.PENDING],
        campaign__state=STOPPED_CAMPAIGN,
    ).exclude(state=OutgoingEmail.State.SENDING, claimed_at__gte=cutoff).update(
        state=OutgoingEmail.State.WITHHELD, last_error="stopped", next_attempt_at=None
    )
    requeued: list[int] = []
    for email_id in OutgoingEmail.objects.filter(
        state=OutgoingEmail.State.SENDING, claimed_at__lt=cutoff
    ).values_list("pk", flat=True):
        if OutgoingEmail.objects.filter(pk=email_id, state=OutgoingEmail.State.SENDING).update(
            state=OutgoingEmail.State.PENDING, next_attempt_at=None
        ):
            requeued.append(email_id)
    overdue = set(
        OutgoingEmail.objects.filter(state=OutgoingEmail.State.PENDING)
        .filter(
            Q(next_attempt_at__lt=cutoff) | Q(next_attempt_at__isnull=True, created_at__lt=cutoff)
        )
        .values_list("pk", flat=True)
    )
    if overdue:
        queued = {
            args_kwargs["args"][0]
            for args_kwargs in DBTaskResult.objects.filter(
                task_path=DELIVER_TASK_PATH, status="READY"
            ).values_list("args_kwargs", flat=True)
            if args_kwargs.get("args")
        }
        requeued += sorted(overdue - queued - set(requeued))
    for email_id in requeued:
        _enqueue(email_id, on_commit=False)
    if requeued:
        log_action(None, actions.EMAIL_REQUEUED, data={"emails": requeued[:1000]})
        logger.warning("re-queued %d email(s) left behind by a stopped worker", len(requeued))
    return len(requeued)
