from __future__ import annotations

from typing import Any

from django.conf import settings
from django.http import HttpRequest

from antenne.core.permissions import Role, is_admin


def antenne(request: HttpRequest) -> dict[str, Any]:
    return {
        "WORKSPACE_NAME": settings.WORKSPACE_NAME,
        "OIDC_ENABLED": settings.OIDC_ENABLED,
        "EMAIL_MODE": settings.EMAIL_MODE,
        "Role": Role,
        "is_admin": is_admin(request.user) if hasattr(request, "user") else False,
    }
