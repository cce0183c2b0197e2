from __future__ import annotations

import secrets

from django.db import models
from django.utils.translation import gettext_lazy as _

# A registrant's personal dial-in PIN (`events.pins`): longer than a session's 9 digits.
PERSONAL_PIN_DIGITS = 11


def random_personal_pin() -> str:
    """Eleven random digits: the default of a new registration's PIN. `register` gives one
    that no registration uses (`pins.new_personal_pin`)."""
    return f"{secrets.randbelow(10**PERSONAL_PIN_DIGITS):0{PERSONAL_PIN_DIGITS}d}"


class RegistrationField(models.Model):
    """A question the animator adds to an event's registration form."""

    class Kind(models.TextChoices):
        TEXT = "text", _("Text")
        CHOICE = "choice", _("Choice")
        MULTIPLE = "multiple", _("Multiple choice")
        CHECKBOX = "checkbox", _("Checkbox")

    event = models.ForeignKey(
        "events.Event", on_delete=models.CASCADE, related_name="registration_fields"
    )
    label = models.CharField(_("question"), max_length=200)
    kind = models.CharField(_("kind"), max_length=10, choices=Kind.choices, default=Kind.TEXT)
    choices = models.JSONField(_("choices"), default=list, blank=True)
    required = models.BooleanField(_("required"), default=False)
    position = models.PositiveSmallIntegerField(default=0)

    class Meta:
        ordering = ["position", "id"]

    def __str__(self) -> str:
        return self.label

    @property
    def key(self) -> str:
        return f"field_{self.pk}"


class Registration(models.Model):
    """One person registered to one session, with their own join link."""

    class Status(models.TextChoices):
        CONFIRMED = "confirmed", _("Confirmed")
        WAITLISTED = "waitlisted", _("On the waiting list")
        REVOKED = "revoked", _("Revoked")

    session = models.ForeignKey(
        "events.Session", on_delete=models.PROTECT, related_name="registrations"
    )
    email = models.EmailField(_("email"))
    first_name = models.CharField(_("first name"), max_length=100)
    last_name = models.CharField(_("last name"), max_length=100)
    answers = models.JSONField(_("answers"), default=dict, blank=True)
    language = models.CharField(max_length=8, default="fr")
    status = models.CharField(
        _("status"), max_length=10, choices=Status.choices, default=Status.CONFIRMED, db_index=True
    )
    # The join link's secret: random, 256 bits, kept readable so the same link can be
    # re-sent (it is a capability for one webinar, like a ticket).
    join_key = models.CharField(max_length=64, unique=True)
    # Their own telephone PIN, so that a call counts as their attendance (erasing the person
    # deletes the row, PIN included).
    phone_pin = models.CharField(
        _("telephone PIN"), max_length=12, blank=True, default=random_personal_pin
    )
    consent_at = models.DateTimeField(_("consent given"), null=True, blank=True)
    consent_version = models.CharField(max_length=40, blank=True)
    source = models.CharField(max_length=10, default="public")
    utm = models.JSONField(default=dict, blank=True)
    created_at = models.DateTimeField(_("registered"), auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)
    revoked_at = models.DateTimeField(null=True, blank=True)
    # Set by the one-click unsubscribe link (RFC 8058): no more reminders for this session.
    reminders_unsubscribed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["created_at", "id"]
        constraints = [
            models.UniqueConstraint(fields=["session", "email"], name="one_registration_per_email"),
            models.UniqueConstraint(
                fields=["phone_pin"],
                condition=~models.Q(phone_pin=""),
                name="registration_phone_pin_unique",
            ),
        ]
        indexes = [models.Index(fields=["session", "status"])]
        verbose_name = _("registration")
        verbose_name_plural = _("registrations")

    def __str__(self) -> str:
        return f"{self.first_name} {self.last_name} <{self.email}>"

    @property
    def full_name(self) -> str:
        return f"{self.first_name} {self.last_name}".strip()
