"""One's own profile: name, language of pages and emails, time zone of every date shown."""

from __future__ import annotations

from typing import Any

from django import forms
from django.conf import settings
from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils import translation
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_http_methods

from antenne.accounts import services
from antenne.control.event_forms import searchable
from antenne.control.views import member_required
from antenne.core import time_zones
from antenne.core.exceptions import AntenneError
from antenne.core.forms import Form

FIELD_OF_ERROR = {
    "profile.language_invalid": "language",
    "profile.time_zone_invalid": "time_zone",
}


class ProfileForm(Form):
    full_name = forms.CharField(label=gettext_lazy("Name"), max_length=150, required=False)
    language = forms.ChoiceField(
        label=gettext_lazy("Language"),
        choices=settings.LANGUAGES,
        help_text=gettext_lazy("Used for the pages and the emails Antenne sends you."),
    )
    time_zone = forms.ChoiceField(
        label=gettext_lazy("Time zone"),
        choices=time_zones.CHOICES,
        help_text=gettext_lazy(
            "Every date and time is shown in this zone. Type a city to find it, such as Paris "
            "or Cayenne."
        ),
        widget=forms.Select(attrs=searchable(gettext_lazy("Search a time zone"))),
    )

    def __init__(self, *args: Any, current_zone: str | None = None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        # A zone stored before under an alias stays choosable: saving keeps it.
        self.fields["time_zone"].choices = time_zones.choices_with(current_zone)


def _set_language_cookie(response: HttpResponse, language: str) -> None:
    """As Django's own language switch does, so the choice holds on every page."""
    response.set_cookie(
        settings.LANGUAGE_COOKIE_NAME,
        language,
        max_age=settings.LANGUAGE_COOKIE_AGE,
        path=settings.LANGUAGE_COOKIE_PATH,
        domain=settings.LANGUAGE_COOKIE_DOMAIN,
        secure=settings.LANGUAGE_COOKIE_SECURE,
        httponly=settings.LANGUAGE_COOKIE_HTTPONLY,
        samesite=settings.LANGUAGE_COOKIE_SAMESITE,
    )


@require_http_methods(["GET", "POST"])
@member_required
def profile(request: HttpRequest) -> HttpResponse:
    user = request.user
    form = ProfileForm(
        request.POST or None,
        current_zone=user.time_zone,  # type: ignore[union-attr]
        initial={
            "full_name": user.full_name,  # type: ignore[union-attr]
            "language": user.language,  # type: ignore[union-attr]
            "time_zone": user.time_zone,  # type: ignore[union-attr]
        },
    )
    if request.method == "POST" and form.is_valid():
        try:
            services.update_profile(actor=user, user=user, **form.cleaned_data)  # type: ignore[arg-type]
        except AntenneError as error:
            form.add_error(FIELD_OF_ERROR.get(error.code), error.message)
        else:
            language = form.cleaned_data["language"]
            with translation.override(language):
                messages.success(request, _("Your profile is saved."))
            response = redirect("control:profile")
            _set_language_cookie(response, language)
            return response
    return render(
        request,
        "control/profile.html",
        {"form": form},
        status=422 if form.errors else 200,
    )
