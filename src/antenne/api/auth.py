from __future__ import annotations

from typing import Any

from django.conf import settings
from django.http import HttpRequest
from django.utils.translation import gettext_lazy as _
from ninja.security import HttpBearer

from antenne.accounts import services
from antenne.core import ratelimit
from antenne.core.exceptions import RateLimited


class TokenAuth(HttpBearer):
    """`Authorization: Bearer ant_...` from `antenne token create`."""

    def authenticate(self, request: HttpRequest, token: str) -> Any:
        user = services.authenticate_api_token(raw=token)
        if user is None:
            # Only failures count, so a busy integration is never throttled.
            if not ratelimit.hit(
                "secret-ip", ratelimit.client_ip(request), settings.RATE_LIMIT_SECRET
            ):
                raise RateLimited(_("Too many invalid tokens; wait before retrying."))
            return None
        request.user = user
        return user
