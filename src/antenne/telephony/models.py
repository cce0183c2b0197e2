from __future__ import annotations

from django.db import models
from django.utils.translation import gettext_lazy as _


class PhoneCall(models.Model):
    """One telephone call to the gateway, from INVITE to hang-up: the call's metrics, and
    once its PIN is accepted, the attendance row it holds in the session's room."""

    class Outcome(models.TextChoices):
        ACTIVE = "active", _("In progress")
        COMPLETED = "completed", _("Completed")  # heard the session until its end or hung up
        CALLER_HUNG_UP = "caller_hung_up", _("Caller hung up before joining")
        WRONG_PIN = "wrong_pin", _("Too many wrong PINs")
        THROTTLED = "throttled", _("Refused: too many wrong PINs from this number")
        NO_PIN = "no_pin", _("No PIN typed")
        SESSION_OVER = "session_over", _("Session over")
        FAILED = "failed", _("Technical failure")

    # Null until a PIN names the session (and for calls that never get that far).
    session = models.ForeignKey(
        "events.Session",
        on_delete=models.CASCADE,
        null=True,
        blank=True,
        related_name="phone_calls",
    )
    # The caller's attendance row while in the room (device "phone").
    presence = models.OneToOneField(
        "rooms.Presence",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="phone_call",
    )
    # Shown to staff in the people list: never the whole number (`+33 6 •• •• •• 42`).
    caller_masked = models.CharField(max_length=40, blank=True)
    # Throttling key: a keyed hash of the calling number, not the number itself.
    caller_hash = models.CharField(max_length=64, blank=True, db_index=True)
    call_id = models.CharField(max_length=200)
    codec = models.CharField(max_length=8, blank=True)
    outcome = models.CharField(
        max_length=16, choices=Outcome.choices, default=Outcome.ACTIVE, db_index=True
    )
    wrong_pins = models.PositiveIntegerField(default=0)
    # Whether the animator gave this caller the floor (their voice is published).
    floor = models.BooleanField(default=False)
    started_at = models.DateTimeField(auto_now_add=True)
    joined_at = models.DateTimeField(null=True, blank=True)
    ended_at = models.DateTimeField(null=True, blank=True)
    # RTP from the caller (received, and lost by sequence gaps) and to the caller (sent).
    packets_received = models.PositiveIntegerField(default=0)
    packets_lost = models.PositiveIntegerField(default=0)
    packets_sent = models.PositiveIntegerField(default=0)

    class Meta:
        ordering = ["started_at", "id"]
        indexes = [models.Index(fields=["session", "outcome"], name="phonecall_session_outcome")]

    def __str__(self) -> str:
        return f"call {self.pk} ({self.outcome})"
