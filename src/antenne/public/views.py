"""Pages anyone can reach: login by email link, first-admin setup, animator access request."""

from __future__ import annotations

from django.conf import settings
from django.contrib import messages
from django.contrib.auth import login, logout
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods, require_POST

from antenne.accounts import access_requests, selectors, services
from antenne.core import ratelimit
from antenne.core.exceptions import AntenneError
from antenne.core.views import rate_limited
from antenne.events import speakers
from antenne.public.forms import AccessRequestForm, LoginForm, SetupForm

MODEL_BACKEND = "django.contrib.auth.backends.ModelBackend"
MAX_NEXT = 2000


def safe_next(value: str) -> str:
    """`value` when it is a path of this site (`/app/…`), else "": where to go after login,
    carried through the emailed link, never to another site."""
    if (
        not value
        or len(value) > MAX_NEXT
        or not value.startswith("/")
        or value.startswith(("//", "/\\"))
        or any(character.isspace() or ord(character) < 32 for character in value)
    ):
        return ""
    return value if url_has_allowed_host_and_scheme(value, allowed_hosts=None) else ""


def home(request: HttpRequest) -> HttpResponse:
    if request.user.is_authenticated:
        return redirect("control:dashboard")
    return render(request, "public/home.html")


@require_http_methods(["GET", "POST"])
def login_view(request: HttpRequest) -> HttpResponse:
    # Where the person was going (`?next=`, kept in the form's address): the emailed link
    # leads there after login.
    next_url = safe_next(request.GET.get("next", ""))
    if request.user.is_authenticated:
        return redirect(next_url or "control:dashboard")
    form = LoginForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        # Refused per client address only: a limit keyed on the typed address would let
        # anyone lock its owner out. What is limited per address is what gets *sent*
        # (`accounts.services.send_login_link`), and the answer is the same either way.
        if not ratelimit.hit("login-ip", ratelimit.client_ip(request), settings.RATE_LIMIT_LOGIN):
            return rate_limited(request)
        services.request_login_link(email=form.cleaned_data["email"], next_url=next_url)
        return redirect("public:login_sent")
    return render(
        request,
        "public/login.html",
        {"form": form, "next": next_url},
        status=422 if form.errors else 200,
    )


def login_sent(request: HttpRequest) -> HttpResponse:
    return render(request, "public/login_sent.html", {"minutes": settings.LOGIN_LINK_MINUTES})


@require_http_methods(["GET", "HEAD", "POST"])
def login_confirm(request: HttpRequest, token: str) -> HttpResponse:
    """GET shows a button and never consumes the link (mail scanners fetch links); the POST
    that button sends logs the person in."""
    next_url = safe_next(request.GET.get("next", ""))
    if request.method == "POST":
        if not ratelimit.hit("secret-ip", ratelimit.client_ip(request), settings.RATE_LIMIT_SECRET):
            return rate_limited(request)
        try:
            user = services.redeem_login_token(raw=token)
        except AntenneError as error:
            return render(request, "public/login_invalid.html", {"code": error.code}, status=400)
        login(request, user, backend=MODEL_BACKEND)
        return redirect(next_url or reverse("control:dashboard"))
    return render(request, "public/login_confirm.html", {"next": next_url})


@require_POST
def logout_view(request: HttpRequest) -> HttpResponse:
    if request.user.is_authenticated:
        services.record_logout(user=request.user)
    logout(request)
    messages.success(request, _("You are logged out."))
    return redirect("public:home")


@require_http_methods(["GET", "POST"])
def setup(request: HttpRequest, token: str) -> HttpResponse:
    try:
        services.check_setup_token(raw=token)
    except AntenneError:
        return render(request, "public/setup_invalid.html", status=400)
    form = SetupForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        if not ratelimit.hit("secret-ip", ratelimit.client_ip(request), settings.RATE_LIMIT_SECRET):
            return rate_limited(request)
        try:
            user = services.complete_setup(
                raw=token,
                email=form.cleaned_data["email"],
                full_name=form.cleaned_data["full_name"],
                language=request.LANGUAGE_CODE,
            )
        except AntenneError as error:
            form.add_error(None, error.message)
        else:
            login(request, user, backend=MODEL_BACKEND)
            messages.success(request, _("Welcome! You are the first admin of this workspace."))
            return redirect("control:dashboard")
    return render(request, "public/setup.html", {"form": form}, status=422 if form.errors else 200)


@require_http_methods(["GET", "POST"])
def access_request(request: HttpRequest) -> HttpResponse:
    form = AccessRequestForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        if not ratelimit.hit(
            "access-request-ip", ratelimit.client_ip(request), settings.RATE_LIMIT_ACCESS_REQUEST
        ):
            return rate_limited(request)
        try:
            access_requests.submit_access_request(
                **form.cleaned_data,
                language=request.LANGUAGE_CODE,
            )
        except AntenneError as error:
            field = "email" if error.code in ("access_request.domain", "email.invalid") else None
            form.add_error(field, _access_error_message(error))
        else:
            return redirect("public:access_request_sent")
    return render(
        request,
        "public/access_request.html",
        {
            "form": form,
            "teams": selectors.list_teams().values_list("name", flat=True),
            "domains": settings.WORKSPACE_EMAIL_DOMAINS,
        },
        status=422 if form.errors else 200,
    )


def _access_error_message(error: AntenneError) -> str:
    if error.code == "access_request.domain":
        return _("Use your workspace email address (ending in %(domains)s).") % {
            "domains": ", ".join("@" + d for d in settings.WORKSPACE_EMAIL_DOMAINS)
        }
    return _("Enter a valid email address.")


def access_request_sent(request: HttpRequest) -> HttpResponse:
    return render(request, "public/access_request_sent.html")


@require_http_methods(["GET", "HEAD", "POST"])
def access_request_update(request: HttpRequest, token: str) -> HttpResponse:
    """The emailed link that applies new text to its address's pending request. GET shows
    the text and a button (mail scanners fetch links); the POST applies it."""
    try:
        if request.method == "POST":
            found = access_requests.confirm_access_request_update(token=token)
            return render(
                request, "public/access_request_update.html", {"request_": found, "done": True}
            )
        found, proposed = access_requests.read_access_request_update(token=token)
    except AntenneError as error:
        return render(
            request, "public/access_request_update.html", {"error": error.message}, status=400
        )
    return render(
        request,
        "public/access_request_update.html",
        {"request_": found, "proposed": proposed},
    )


@require_http_methods(["GET", "HEAD", "POST"])
def speaker(request: HttpRequest, token: str) -> HttpResponse:
    """A speaker's personal entrance to the green room (no account needed). POST confirms
    that they will speak; the GET a mail scanner makes changes nothing."""
    if not ratelimit.hit("secret-ip", ratelimit.client_ip(request), settings.RATE_LIMIT_SECRET):
        return rate_limited(request)
    try:
        if request.method == "POST":
            found = speakers.accept_speaker_invitation(raw=token)
            messages.success(
                request,
                _(
                    "Thank you: your participation is confirmed. The animators see it on "
                    "their session page."
                ),
            )
            return redirect("public:speaker", token=token)
        found = speakers.speaker_for_link(raw=token)
    except AntenneError:
        return render(request, "public/speaker_invalid.html", status=403)
    session = found.session
    return render(
        request,
        "public/speaker.html",
        {
            "speaker": found,
            "token": token,
            "session": session,
            "event": session.event,
            "others": session.speakers.filter(revoked_at__isnull=True).exclude(pk=found.pk),
        },
    )
