from __future__ import annotations

from typing import Any

from django.conf import settings
from django.http import HttpRequest

from antenne.core.permissions import Role


def antenne(request: HttpRequest) -> dict[str, Any]:
    user = getattr(request, "user", None)
    return {
        "WORKSPACE_NAME": settings.WORKSPACE_NAME,
        "OIDC_ENABLED": settings.OIDC_ENABLED,
        "EMAIL_MODE": settings.EMAIL_MODE,
        "Role": Role,
        "is_admin": bool(user and user.is_authenticated and user.role == Role.ADMIN),
    }
