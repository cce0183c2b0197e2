"""Workspace roles and what each may do, defined once for every interface."""

from __future__ import annotations

from typing import Any

from django.db import models
from django.utils.translation import gettext_lazy as _


class Role(models.TextChoices):
    ADMIN = "admin", _("Admin")
    ANIMATOR = "animator", _("Animator")
    MEMBER = "member", _("Member")


def is_admin(user: Any) -> bool:
    return bool(user.is_authenticated and user.is_active and user.role == Role.ADMIN)


def is_member(user: Any) -> bool:
    """Any active workspace account (member, animator or admin)."""
    return bool(user.is_authenticated and user.is_active and user.role in Role.values)
