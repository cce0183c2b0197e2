from __future__ import annotations

import hashlib
from typing import Any, ClassVar

from django.contrib.auth.base_user import AbstractBaseUser, BaseUserManager
from django.db import models
from django.db.models.functions import Lower
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from antenne.core.permissions import Role


def normalize_email(value: str) -> str:
    """The one comparison form of an email address: trimmed, lower-cased."""
    return (value or "").strip().lower()


def hash_secret(raw: str) -> str:
    """Secrets (login links, API tokens) are stored as SHA-256 digests only."""
    return hashlib.sha256(raw.encode()).hexdigest()


class Team(models.Model):
    """A startup or service of the organisation, with the address it is reached at."""

    name = models.CharField(_("name"), max_length=120)
    contact_email = models.EmailField(_("contact email"))
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["name"]
        constraints = [models.UniqueConstraint(Lower("name"), name="team_name_unique_ci")]
        verbose_name = _("team")
        verbose_name_plural = _("teams")

    def __str__(self) -> str:
        return self.name


class UserManager(BaseUserManager["User"]):
    def get_by_natural_key(self, username: str | None) -> User:
        return self.get(email=normalize_email(username or ""))


class User(AbstractBaseUser):
    """A workspace account. No password: people log in by emailed link or OpenID Connect."""

    email = models.EmailField(_("email"), unique=True)
    full_name = models.CharField(_("full name"), max_length=150, blank=True)
    role = models.CharField(_("role"), max_length=16, choices=Role.choices, default=Role.MEMBER)
    team = models.ForeignKey(
        Team,
        verbose_name=_("team"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="members",
    )
    language = models.CharField(_("language"), max_length=8, default="fr")
    time_zone = models.CharField(_("time zone"), max_length=64, default="Europe/Paris")
    # Secret of the personal iCalendar feed URL (readable again, so it can be shown).
    calendar_token = models.CharField(max_length=64, unique=True, null=True, blank=True)
    is_active = models.BooleanField(_("active"), default=True)
    date_joined = models.DateTimeField(_("joined"), default=timezone.now)

    USERNAME_FIELD = "email"
    EMAIL_FIELD = "email"
    REQUIRED_FIELDS: ClassVar[list[str]] = []

    objects = UserManager()

    class Meta:
        ordering = ["email"]
        verbose_name = _("member")
        verbose_name_plural = _("members")

    def __str__(self) -> str:
        return self.full_name or self.email

    def save(self, *args: Any, **kwargs: Any) -> None:
        self.email = normalize_email(self.email)
        super().save(*args, **kwargs)

    @property
    def is_admin(self) -> bool:
        return self.role == Role.ADMIN

    @property
    def is_animator(self) -> bool:
        return self.role in (Role.ANIMATOR, Role.ADMIN)


class LoginToken(models.Model):
    """A one-time login (or first-admin setup) link. Only the hash of the secret is kept."""

    class Purpose(models.TextChoices):
        LOGIN = "login", _("login")
        SETUP = "setup", _("first admin setup")

    purpose = models.CharField(max_length=8, choices=Purpose.choices, default=Purpose.LOGIN)
    user = models.ForeignKey(
        User, null=True, blank=True, on_delete=models.CASCADE, related_name="login_tokens"
    )
    token_hash = models.CharField(max_length=64, unique=True)
    created_at = models.DateTimeField(auto_now_add=True)
    expires_at = models.DateTimeField()
    used_at = models.DateTimeField(null=True, blank=True)

    def __str__(self) -> str:
        return f"{self.purpose} link for {self.user or '-'}"

    def is_usable(self, now: Any = None) -> bool:
        return self.used_at is None and self.expires_at > (now or timezone.now())


class AccessRequest(models.Model):
    """Someone asks to become an animator. One pending request per address: repeats merge."""

    class Status(models.TextChoices):
        PENDING = "pending", _("Pending")
        APPROVED = "approved", _("Approved")
        REFUSED = "refused", _("Refused")

    email = models.EmailField(_("email"))
    full_name = models.CharField(_("full name"), max_length=150)
    team_name = models.CharField(_("team"), max_length=120)
    team_contact_email = models.EmailField(_("team contact email"))
    reason = models.TextField(_("reason"), max_length=2000)
    language = models.CharField(max_length=8, default="fr")
    status = models.CharField(
        _("status"), max_length=10, choices=Status.choices, default=Status.PENDING
    )
    times_requested = models.PositiveIntegerField(_("times requested"), default=1)
    created_at = models.DateTimeField(_("requested at"), auto_now_add=True)
    updated_at = models.DateTimeField(_("last request"), auto_now=True)
    decided_at = models.DateTimeField(_("decided at"), null=True, blank=True)
    decided_by = models.ForeignKey(
        User, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    decision_message = models.TextField(_("message to the requester"), blank=True)
    user = models.ForeignKey(
        User, null=True, blank=True, on_delete=models.SET_NULL, related_name="access_requests"
    )

    class Meta:
        ordering = ["-updated_at"]
        constraints = [
            models.UniqueConstraint(
                Lower("email"),
                condition=models.Q(status="pending"),
                name="one_pending_access_request_per_email",
            )
        ]
        verbose_name = _("animator access request")
        verbose_name_plural = _("animator access requests")

    def __str__(self) -> str:
        return f"{self.full_name} <{self.email}>"

    @property
    def is_pending(self) -> bool:
        return self.status == self.Status.PENDING


class ApiToken(models.Model):
    """A bearer token for the REST API, acting as its user. Only the hash is stored."""

    user = models.ForeignKey(User, on_delete=models.CASCADE, related_name="api_tokens")
    name = models.CharField(_("name"), max_length=100, blank=True)
    prefix = models.CharField(max_length=12)
    token_hash = models.CharField(max_length=64, unique=True)
    created_at = models.DateTimeField(auto_now_add=True)
    last_used_at = models.DateTimeField(null=True, blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True)

    def __str__(self) -> str:
        return f"{self.prefix}… ({self.user})"
