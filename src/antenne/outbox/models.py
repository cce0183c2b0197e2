"""The email outbox's rows: one row per email to one recipient, the local mailbox, the
suppression list. Written in the transaction that causes an email, delivered by a worker
after commit (`outbox.services`)."""

from __future__ import annotations

from django.db import models
from django.utils.translation import gettext_lazy as _


class OutgoingEmail(models.Model):
    """One email to one recipient, written in the transaction that causes it and delivered
    by a background worker after commit."""

    class State(models.TextChoices):
        PENDING = "pending", _("Pending")
        SENDING = "sending", _("Sending")
        SENT = "sent", _("Sent")
        FAILED = "failed", _("Failed")
        WITHHELD = "withheld", _("Withheld")

    to = models.EmailField(_("recipient"))
    kind = models.CharField(_("kind"), max_length=60)
    language = models.CharField(max_length=8, default="fr")
    subject = models.CharField(_("subject"), max_length=250)
    body_text = models.TextField()
    body_html = models.TextField(blank=True)
    # [{"filename": ..., "content": ..., "mimetype": ...}], text attachments such as .ics
    attachments = models.JSONField(default=list, blank=True)
    state = models.CharField(
        _("state"), max_length=10, choices=State.choices, default=State.PENDING, db_index=True
    )
    attempts = models.PositiveSmallIntegerField(default=0)
    last_error = models.TextField(blank=True)
    # When a pending row may next be tried (set on a temporary failure; null = at once).
    next_attempt_at = models.DateTimeField(null=True, blank=True)
    # When a worker moved the row to `sending`: rows stuck there are re-queued.
    claimed_at = models.DateTimeField(null=True, blank=True)
    # RFC 8058 one-click link, used for the kinds in `outbox.kinds.LIST_UNSUBSCRIBE_KINDS`.
    unsubscribe_url = models.URLField(max_length=500, blank=True)
    message_id = models.CharField(max_length=250, blank=True)
    # What the email is about, for the delivery-status pages (null for account emails).
    session = models.ForeignKey(
        "events.Session",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="emails",
    )
    campaign = models.ForeignKey(
        "mailing.Campaign",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="emails",
    )
    created_at = models.DateTimeField(auto_now_add=True)
    sent_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        db_table = "mailing_outgoingemail"  # the table kept its name when the model moved
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["session", "state"], name="email_session_state")]

    def __str__(self) -> str:
        return f"{self.kind} to {self.to}"


class MailboxMessage(models.Model):
    """A message kept by the `mailbox` email mode instead of leaving the machine."""

    to = models.TextField(_("to"))
    from_email = models.CharField(_("from"), max_length=254)
    subject = models.CharField(_("subject"), max_length=250)
    body_text = models.TextField()
    body_html = models.TextField(blank=True)
    message_id = models.CharField(max_length=250, blank=True)
    raw = models.TextField()
    created_at = models.DateTimeField(_("received"), auto_now_add=True)

    class Meta:
        db_table = "mailing_mailboxmessage"
        ordering = ["-created_at", "-id"]
        verbose_name = _("mailbox message")

    def __str__(self) -> str:
        return self.subject


class Suppression(models.Model):
    """An address that refused mail permanently (a 5xx reply): Antenne no longer writes to it."""

    address = models.EmailField(_("address"), unique=True)
    reason = models.TextField(_("reason"), blank=True)
    created_at = models.DateTimeField(_("suppressed at"), auto_now_add=True)

    class Meta:
        db_table = "mailing_suppression"
        ordering = ["-created_at", "-id"]
        verbose_name = _("suppressed address")

    def __str__(self) -> str:
        return self.address
