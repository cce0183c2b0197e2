from __future__ import annotations

from datetime import datetime, timedelta

from django.db import models
from django.utils.translation import gettext_lazy as _


class Reminder(models.Model):
    """A reminder sent to a session's registrants `offset_minutes` before it starts. The send
    time is derived (`session.starts_at - offset`), so moving the session moves it."""

    class State(models.TextChoices):
        PENDING = "pending", _("Pending")
        SENT = "sent", _("Sent")
        WITHHELD = "withheld", _("Withheld")

    session = models.ForeignKey(
        "events.Session", on_delete=models.CASCADE, related_name="reminders"
    )
    offset_minutes = models.PositiveIntegerField(_("minutes before the start"))
    state = models.CharField(
        _("state"), max_length=10, choices=State.choices, default=State.PENDING, db_index=True
    )
    # Why a reminder was withheld: "moved", "cancelled", "started early", "missed".
    reason = models.CharField(_("reason"), max_length=40, blank=True)
    recipients = models.PositiveIntegerField(_("recipients"), default=0)
    sent_at = models.DateTimeField(_("sent at"), null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-offset_minutes", "id"]
        constraints = [
            models.UniqueConstraint(
                fields=["session", "offset_minutes"], name="one_reminder_per_offset"
            )
        ]
        verbose_name = _("reminder")
        verbose_name_plural = _("reminders")

    def __str__(self) -> str:
        return f"reminder {self.offset_minutes} min before session {self.session_id}"

    @property
    def send_at(self) -> datetime:
        return self.session.starts_at - timedelta(minutes=self.offset_minutes)


class MessageTemplate(models.Model):
    """An organiser-editable email text: a workspace default (`session` null) or a session's
    own copy, made when the session is scheduled, so that editing one session never changes
    another. Texts use the named placeholders of `mailing.placeholders`; they are never
    given to the Django template engine."""

    session = models.ForeignKey(
        "events.Session",
        on_delete=models.CASCADE,
        null=True,
        blank=True,
        related_name="message_templates",
    )
    kind = models.CharField(_("kind"), max_length=40)
    language = models.CharField(_("language"), max_length=8)
    subject = models.CharField(_("subject"), max_length=250)
    body = models.TextField(_("text"), max_length=20000)
    updated_at = models.DateTimeField(auto_now=True)
    updated_by = models.ForeignKey(
        "accounts.User", on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )

    class Meta:
        ordering = ["kind", "language"]
        constraints = [
            models.UniqueConstraint(
                fields=["session", "kind", "language"], name="one_template_per_session_kind"
            ),
            models.UniqueConstraint(
                fields=["kind", "language"],
                condition=models.Q(session__isnull=True),
                name="one_default_template_per_kind",
            ),
        ]
        verbose_name = _("email text")

    def __str__(self) -> str:
        return f"{self.kind}/{self.language} of session {self.session_id}"


class FollowUpRule(models.Model):
    """Whether a session's attendees (or no-shows) get a follow-up, and how long after the
    end. The follow-up itself is a `Campaign`, prepared at the end and sent once approved."""

    class Audience(models.TextChoices):
        ATTENDEES = "attendees", _("Attendees")
        NOSHOWS = "noshows", _("No-shows")

    session = models.ForeignKey(
        "events.Session", on_delete=models.CASCADE, related_name="followup_rules"
    )
    audience = models.CharField(max_length=10, choices=Audience.choices)
    enabled = models.BooleanField(_("send a follow-up"), default=False)
    delay_minutes = models.PositiveIntegerField(_("delay after the end (minutes)"), default=60)

    class Meta:
        ordering = ["audience"]
        constraints = [
            models.UniqueConstraint(fields=["session", "audience"], name="one_followup_rule")
        ]

    def __str__(self) -> str:
        return f"follow-up to {self.audience} of session {self.session_id}"


class Campaign(models.Model):
    """One message to many registrants of a session (a follow-up or a manual message),
    with the guardrails of docs/email.md: content check, approval that freezes the
    recipients, a second approver above the threshold, a canary batch, and Stop."""

    class Audience(models.TextChoices):
        REGISTERED = "registered", _("Registrants")
        ATTENDEES = "attendees", _("Attendees")
        NOSHOWS = "noshows", _("No-shows")
        WAITLISTED = "waitlisted", _("Waiting list")

    class State(models.TextChoices):
        DRAFT = "draft", _("Draft")
        AWAITING_SECOND_APPROVAL = "second", _("Awaiting a second approval")
        SCHEDULED = "scheduled", _("Approved, waiting to go")
        CANARY = "canary", _("First batch sent, pausing")
        SENDING = "sending", _("Sending")
        SENT = "sent", _("Sent")
        STOPPED = "stopped", _("Stopped")

    session = models.ForeignKey(
        "events.Session", on_delete=models.CASCADE, related_name="campaigns"
    )
    audience = models.CharField(_("recipients"), max_length=10, choices=Audience.choices)
    # A follow-up (prepared from the session's follow-up text) or a manual message.
    is_followup = models.BooleanField(default=False)
    # {"fr": {"subject": ..., "body": ...}, "en": {...}}: the organiser's text, placeholders
    # unfilled.
    content = models.JSONField(default=dict)
    confirmed_flags = models.JSONField(default=list, blank=True)
    state = models.CharField(
        _("state"), max_length=10, choices=State.choices, default=State.DRAFT, db_index=True
    )
    created_by = models.ForeignKey(
        "accounts.User", on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)
    # Frozen at the first approval.
    recipient_count = models.PositiveIntegerField(default=0)
    segment = models.CharField(_("segment"), max_length=300, blank=True)
    approved_at = models.DateTimeField(null=True, blank=True)
    send_after = models.DateTimeField(null=True, blank=True)
    canary_sent_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    stopped_at = models.DateTimeField(null=True, blank=True)
    stopped_by = models.ForeignKey(
        "accounts.User", on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name = _("message to registrants")

    def __str__(self) -> str:
        return f"campaign {self.pk} ({self.audience}) of session {self.session_id}"

    @property
    def is_editable(self) -> bool:
        return self.state == self.State.DRAFT

    @property
    def is_stoppable(self) -> bool:
        return self.state in {
            self.State.AWAITING_SECOND_APPROVAL,
            self.State.SCHEDULED,
            self.State.CANARY,
            self.State.SENDING,
        }


class CampaignApproval(models.Model):
    campaign = models.ForeignKey(Campaign, on_delete=models.CASCADE, related_name="approvals")
    user = models.ForeignKey("accounts.User", on_delete=models.PROTECT, related_name="+")
    recipient_count = models.PositiveIntegerField()
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["created_at", "id"]
        constraints = [
            models.UniqueConstraint(fields=["campaign", "user"], name="one_approval_per_person")
        ]

    def __str__(self) -> str:
        return f"approval of campaign {self.campaign_id} by {self.user_id}"


class CampaignRecipient(models.Model):
    """One person of a campaign's frozen segment. `queued` once their outbox row is
    written; `withheld` when they unsubscribed or were erased since the approval, or the
    campaign was stopped before their turn."""

    class State(models.TextChoices):
        WAITING = "waiting", _("Waiting")
        QUEUED = "queued", _("Queued")
        WITHHELD = "withheld", _("Withheld")

    campaign = models.ForeignKey(Campaign, on_delete=models.CASCADE, related_name="recipients")
    registration = models.ForeignKey(
        "registrations.Registration",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
    )
    email = models.EmailField()
    state = models.CharField(max_length=10, choices=State.choices, default=State.WAITING)
    reason = models.CharField(max_length=40, blank=True)
    outgoing = models.OneToOneField(
        "outbox.OutgoingEmail", on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )

    class Meta:
        ordering = ["id"]
        indexes = [models.Index(fields=["campaign", "state"], name="recipient_campaign_state")]

    def __str__(self) -> str:
        return f"{self.email} in campaign {self.campaign_id}"

    REASONS = {
        "stopped": _("stopped before their turn"),
        "unsubscribed": _("unsubscribed since the approval"),
        "erased": _("registration erased since the approval"),
        "registration cancelled": _("registration cancelled since the approval"),
        "left the waiting list": _("no longer on the waiting list"),
    }

    @property
    def reason_label(self) -> str:
        return str(self.REASONS.get(self.reason, self.reason))
