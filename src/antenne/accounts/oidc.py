"""OpenID Connect login (ProConnect-compatible), on when ANTENNE_OIDC_ISSUER is set.

Only existing, active workspace accounts may log in this way: an identity provider proves who
someone is, the workspace admins decide who is a member."""

from __future__ import annotations

import logging
from typing import Any

import requests
from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.utils.translation import gettext as _
from mozilla_django_oidc.auth import OIDCAuthenticationBackend
from mozilla_django_oidc.views import OIDCAuthenticationCallbackView

from antenne.accounts import services
from antenne.accounts.models import User, normalize_email

logger = logging.getLogger("antenne.accounts")


class AntenneOIDCBackend(OIDCAuthenticationBackend):
    def filter_users_by_claims(self, claims: dict[str, Any]) -> Any:
        email = normalize_email(str(claims.get("email") or ""))
        if not email:
            return self.UserModel.objects.none()
        return self.UserModel.objects.filter(email=email, is_active=True)

    def verify_claims(self, claims: dict[str, Any]) -> bool:
        return bool(claims.get("email"))

    def create_user(self, claims: dict[str, Any]) -> None:  # never self-provision
        return None

    def update_user(self, user: User, claims: dict[str, Any]) -> User:
        if not user.full_name:
            given = str(claims.get("given_name") or "").strip()
            family = str(claims.get("usual_name") or claims.get("family_name") or "").strip()
            if given or family:
                user.full_name = f"{given} {family}".strip()[:150]
                user.save(update_fields=["full_name"])
        return user


class AntenneOIDCCallbackView(OIDCAuthenticationCallbackView):
    provider_failed = False

    def get(self, request: HttpRequest) -> HttpResponse:
        # A refused or reused code, or a provider that is down or slow, ends on the login
        # page with a message, not on a server error.
        try:
            return super().get(request)
        except requests.RequestException:
            logger.warning("OpenID provider error during login", exc_info=True)
            self.provider_failed = True
            return self.login_failure()

    def login_success(self) -> HttpResponse:
        response = super().login_success()
        services.record_login(user=self.user, method="oidc")
        return response

    def login_failure(self) -> HttpResponse:
        if self.provider_failed:
            message = _("The identity provider did not answer as expected. Please try again.")
        elif self.request.GET.get("error"):
            message = _("The login with your identity provider was cancelled.")
        else:
            message = _(
                "Your identity was not recognised as a member of this workspace. Ask an admin "
                "to add you, or request animator access."
            )
        messages.error(self.request, message)
        return super().login_failure()
