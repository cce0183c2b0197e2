"""A speaker's console, `/speaker/<token>/room/`, reached from their personal page: the
staff's console (`control.console`) with fewer controls. The link is the speaker's only
credential; the page's script joins the room's WebSocket with it. A GET records nothing."""

from __future__ import annotations

from django.conf import settings
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.views.decorators.http import require_safe

from antenne.control.console import SPEAKER, private, render_console
from antenne.core import ratelimit
from antenne.core.exceptions import AntenneError
from antenne.core.views import rate_limited
from antenne.events.speakers import speaker_for_link


@require_safe
def speaker_room(request: HttpRequest, token: str) -> HttpResponse:
    # Only failed guesses count towards the limit (shared with the speaker page's scope).
    client = ratelimit.client_ip(request)
    if ratelimit.exceeded("secret-ip", client, settings.RATE_LIMIT_SECRET):
        return rate_limited(request)
    try:
        speaker = speaker_for_link(raw=token)
    except AntenneError:
        ratelimit.hit("secret-ip", client, settings.RATE_LIMIT_SECRET)
        return private(render(request, "public/speaker_invalid.html", status=403))
    return render_console(
        request, session=speaker.session, role=SPEAKER, speaker=speaker, token=token
    )
