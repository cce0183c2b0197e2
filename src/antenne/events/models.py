from __future__ import annotations

import secrets
import zoneinfo
from datetime import datetime, timedelta

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import models
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy


def validate_time_zone(value: str) -> None:
    try:
        zoneinfo.ZoneInfo(value)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        raise ValidationError(_("Unknown time zone.")) from None


# Dial-in PINs (`events.pins`): a session's has 9 digits, a registrant's 11.
SESSION_PIN_DIGITS = 9


def random_session_pin() -> str:
    """Nine random digits: the default of a new session's PIN. `schedule_session` gives one
    that no open session uses (`pins.new_session_pin`)."""
    return f"{secrets.randbelow(10**SESSION_PIN_DIGITS):0{SESSION_PIN_DIGITS}d}"


class Event(models.Model):
    """A webinar: what people register for. It has one or more sessions."""

    title = models.CharField(_("title"), max_length=200)
    description = models.TextField(_("description"), blank=True, max_length=10000)
    language = models.CharField(
        _("language"), max_length=8, choices=settings.LANGUAGES, default="fr"
    )
    cover_image = models.ImageField(_("cover image"), upload_to="covers/", blank=True)
    team = models.ForeignKey(
        "accounts.Team", verbose_name=_("team"), on_delete=models.PROTECT, related_name="events"
    )
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("owner animator"),
        on_delete=models.PROTECT,
        related_name="owned_events",
    )
    published = models.BooleanField(_("registration page published"), default=False)
    show_speakers = models.BooleanField(_("list speakers on the registration page"), default=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-created_at"]
        verbose_name = _("webinar")
        verbose_name_plural = _("webinars")

    def __str__(self) -> str:
        return self.title


class Session(models.Model):
    """One occurrence of an event. Times are stored in UTC with the zone they were set in."""

    class State(models.TextChoices):
        SCHEDULED = "scheduled", _("Scheduled")
        GREEN_ROOM = "green_room", pgettext_lazy("session state", "In the green room")
        LIVE = "live", _("Live")
        ENDED = "ended", _("Ended")
        CANCELLED = "cancelled", _("Cancelled")

    event = models.ForeignKey(Event, on_delete=models.CASCADE, related_name="sessions")
    starts_at = models.DateTimeField(_("start"), db_index=True)
    time_zone = models.CharField(
        _("time zone"), max_length=64, default="Europe/Paris", validators=[validate_time_zone]
    )
    duration_minutes = models.PositiveIntegerField(_("duration (minutes)"), default=60)
    capacity = models.PositiveIntegerField(_("capacity"), null=True, blank=True)
    waitlist_enabled = models.BooleanField(_("waiting list when full"), default=False)
    animators = models.ManyToManyField(
        settings.AUTH_USER_MODEL,
        verbose_name=_("animators"),
        related_name="animated_sessions",
        blank=True,
    )
    state = models.CharField(
        _("state"), max_length=12, choices=State.choices, default=State.SCHEDULED, db_index=True
    )
    # Conflicting sessions the animator saw and confirmed (ids), for the readiness checklist.
    confirmed_conflicts = models.JSONField(default=list, blank=True)
    test_run_done_at = models.DateTimeField(_("test run done"), null=True, blank=True)
    cancelled_at = models.DateTimeField(null=True, blank=True)
    # When the broadcast really started and ended (the live room sets them).
    started_at = models.DateTimeField(_("broadcast started"), null=True, blank=True)
    ended_at = models.DateTimeField(_("broadcast ended"), null=True, blank=True)
    # Where the recording can be watched, for the follow-ups' {replay_url}.
    replay_url = models.URLField(_("replay link"), max_length=500, blank=True)
    # What callers type to join by telephone; unique among the sessions that are not over.
    phone_pin = models.CharField(_("telephone PIN"), max_length=12, default=random_session_pin)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["starts_at"]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(duration_minutes__gte=1) & models.Q(duration_minutes__lte=1440),
                name="session_duration_range",
            ),
            models.UniqueConstraint(
                fields=["phone_pin"],
                condition=~models.Q(state__in=["ended", "cancelled"]),
                name="phone_pin_unique_while_open",
            ),
        ]
        verbose_name = _("session")
        verbose_name_plural = _("sessions")

    def __str__(self) -> str:
        return f"{self.event.title} — {self.local_start:%Y-%m-%d %H:%M} {self.time_zone}"

    @property
    def ends_at(self) -> datetime:
        return self.starts_at + timedelta(minutes=self.duration_minutes)

    @property
    def local_start(self) -> datetime:
        return self.starts_at.astimezone(zoneinfo.ZoneInfo(self.time_zone))

    @property
    def is_cancelled(self) -> bool:
        return self.state == self.State.CANCELLED

    @property
    def is_over(self) -> bool:
        return self.state in (self.State.ENDED, self.State.CANCELLED)

    @property
    def finished_at(self) -> datetime:
        """When the session ended: the broadcast's real end, or else its planned end."""
        return self.ended_at or self.ends_at


class Speaker(models.Model):
    """Someone who speaks in a session: a workspace member or a guest invited by email.
    Each gets a personal link to the green room; only its hash is stored."""

    session = models.ForeignKey(Session, on_delete=models.CASCADE, related_name="speakers")
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="speaking",
    )
    email = models.EmailField(_("email"))
    name = models.CharField(_("name"), max_length=150)
    title = models.CharField(_("title or role"), max_length=200, blank=True)
    token_hash = models.CharField(max_length=64, unique=True, null=True, blank=True)
    invited_at = models.DateTimeField(null=True, blank=True)
    accepted_at = models.DateTimeField(null=True, blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["created_at", "id"]
        constraints = [
            models.UniqueConstraint(fields=["session", "email"], name="one_speaker_per_email")
        ]
        verbose_name = _("speaker")
        verbose_name_plural = _("speakers")

    def __str__(self) -> str:
        return self.name or self.email

    @property
    def is_guest(self) -> bool:
        return self.user_id is None
