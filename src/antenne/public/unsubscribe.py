"""One-click unsubscribe from a webinar's reminders, follow-ups and messages (RFC 8058), and
the way back (re-subscribe). Mail clients POST
`List-Unsubscribe=One-Click` to the link without a CSRF token, so the view is CSRF-exempt:
the signed token is the credential. A GET (a person, or a mail scanner following the link)
only shows a confirmation page with a button; it changes nothing."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import render
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_http_methods

from antenne.core import ratelimit
from antenne.core.views import rate_limited
from antenne.mailing import unsubscribe as unsubscribing


def _registration(request: HttpRequest, token: str) -> Any:
    client = ratelimit.client_ip(request)
    if ratelimit.exceeded("unsubscribe-guess", client, settings.RATE_LIMIT_SECRET):
        raise ratelimit.Limited
    registration = unsubscribing.registration_for_unsubscribe(token=token)
    if registration is None:
        ratelimit.hit("unsubscribe-guess", client, settings.RATE_LIMIT_SECRET)
        raise Http404
    return registration


@csrf_exempt
@require_http_methods(["GET", "HEAD", "POST"])
def unsubscribe(request: HttpRequest, token: str) -> HttpResponse:
    try:
        registration = _registration(request, token)
    except ratelimit.Limited:
        return rate_limited(request)
    if request.method == "POST":
        if request.POST.get("resubscribe") == "1":
            unsubscribing.resubscribe(registration=registration)
        else:  # "List-Unsubscribe=One-Click" from a mail client, or the page's button
            unsubscribing.unsubscribe(registration=registration)
    response = render(
        request,
        "public/unsubscribe.html",
        {
            "registration": registration,
            "event": registration.session.event,
            "done": registration.reminders_unsubscribed_at is not None,
            "resubscribed": request.POST.get("resubscribe") == "1",
        },
    )
    response.headers["Cache-Control"] = "private, no-store"
    response.headers["X-Robots-Tag"] = "noindex"
    return response
