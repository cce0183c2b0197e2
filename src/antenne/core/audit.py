"""The audit log: `log_action(obj, code, actor=..., data=...)` after every write."""

from __future__ import annotations

from typing import Any

from django.db import models

from antenne.core import actions
from antenne.core.models import AuditEntry


def log_action(
    obj: models.Model | None,
    action: str,
    *,
    actor: Any = None,
    data: dict[str, Any] | None = None,
) -> AuditEntry:
    """Record `action` on `obj`. `actor` is a user or None for the system itself."""
    if action not in actions.ALL:
        raise ValueError(f"unknown audit action {action!r}: define it in antenne.core.actions")
    actor_user = actor if actor is not None and getattr(actor, "pk", None) else None
    return AuditEntry.objects.create(
        actor=actor_user,
        actor_label=getattr(actor_user, "email", "") if actor_user else "",
        action=action,
        object_type=obj._meta.label_lower if obj is not None else "",
        object_id=str(obj.pk) if obj is not None else "",
        object_repr=str(obj)[:254] if obj is not None else "",
        data=data or {},
    )
