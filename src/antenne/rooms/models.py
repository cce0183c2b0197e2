from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _


class Presence(models.Model):
    """One connection of one person to a session's room, from join to leave. Attendance
    (who came, watch time, concurrent viewers) is computed from these rows."""

    class Role(models.TextChoices):
        ATTENDEE = "attendee", _("Attendee")
        SPEAKER = "speaker", _("Speaker")
        STAFF = "staff", _("Staff")

    class Device(models.TextChoices):
        DESKTOP = "desktop", _("Computer")
        MOBILE = "mobile", _("Phone or tablet (browser)")
        PHONE = "phone", _("Telephone")

    session = models.ForeignKey(
        "events.Session", on_delete=models.CASCADE, related_name="presences"
    )
    # Erasing a registrant erases their attendance.
    registration = models.ForeignKey(
        "registrations.Registration",
        on_delete=models.CASCADE,
        null=True,
        blank=True,
        related_name="presences",
    )
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
    )
    role = models.CharField(max_length=10, choices=Role.choices, default=Role.ATTENDEE)
    device = models.CharField(max_length=10, choices=Device.choices, default=Device.DESKTOP)
    joined_at = models.DateTimeField(db_index=True)
    left_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["joined_at", "id"]
        indexes = [models.Index(fields=["session", "role"], name="presence_session_role")]

    def __str__(self) -> str:
        return f"{self.role} in session {self.session_id} from {self.joined_at:%H:%M}"


class ChatMessage(models.Model):
    """A message of the room's chat (`backstage` for the green room's staff-only chat)."""

    session = models.ForeignKey(
        "events.Session", on_delete=models.CASCADE, related_name="chat_messages"
    )
    presence = models.ForeignKey(
        Presence, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    registration = models.ForeignKey(
        "registrations.Registration",
        on_delete=models.CASCADE,
        null=True,
        blank=True,
        related_name="+",
    )
    author_name = models.CharField(max_length=200)
    role = models.CharField(max_length=10, choices=Presence.Role.choices)
    backstage = models.BooleanField(default=False)
    text = models.TextField(max_length=2000)
    created_at = models.DateTimeField(auto_now_add=True)
    deleted_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["id"]
        indexes = [models.Index(fields=["session", "backstage", "id"], name="chat_session_id")]

    def __str__(self) -> str:
        return f"chat {self.pk} in session {self.session_id}"
