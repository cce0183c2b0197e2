"""A session's broadcast from the back office: open the green room, start, end. Each goes
through a confirmation page (GET says what will happen, POST does it). The studio
(`control.console`) confirms in a dialog of its own and POSTs here with `Accept:
application/json`: the answer is then JSON (the new state, or the refusal's code and
message), and the page stays, with whoever is on stage still on it."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from django.contrib import messages
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.functional import Promise
from django.utils.translation import gettext_lazy as _
from django.views.decorators.http import require_http_methods

from antenne.control.views import member_required
from antenne.core.exceptions import AntenneError
from antenne.events import lifecycle, selectors
from antenne.events.models import Session
from antenne.mailing.models import Reminder


@dataclass(frozen=True)
class Step:
    transition: str
    do: Callable[..., Session]
    title: Promise
    button: Promise
    done: Promise
    explain: Promise  # what happens, said before confirming


# URL slug -> step, in the order the session page offers them.
STEPS = {
    "green-room": Step(
        lifecycle.OPEN_GREEN_ROOM,
        lifecycle.open_green_room,
        _("Open the green room"),
        _("Open the green room"),
        _("The green room is open."),
        _(
            "Speakers and animators can meet in the green room before the start. Attendees "
            "keep waiting for the broadcast to start."
        ),
    ),
    "start": Step(
        lifecycle.START,
        lifecycle.start_session,
        _("Start the broadcast"),
        _("Start the broadcast now"),
        _("The broadcast has started."),
        _("The session goes live for everyone and the start time is recorded."),
    ),
    "end": Step(
        lifecycle.END,
        lifecycle.end_session,
        _("End the broadcast"),
        _("End the broadcast now"),
        _("The broadcast has ended."),
        _(
            "The broadcast stops for everyone and the end time is recorded. An ended session "
            "cannot be started again."
        ),
    ),
}
SLUGS = {step.transition: slug for slug, step in STEPS.items()}


def broadcast_context(session: Session) -> dict[str, Any]:
    """What the session page's "Broadcast" section needs."""
    now = timezone.now()
    return {
        "broadcast_steps": [
            (SLUGS[transition], STEPS[SLUGS[transition]])
            for transition in lifecycle.offered(session)
        ],
        "green_room_opens_at": session.starts_at - lifecycle.GREEN_ROOM_EARLIEST,
        "start_opens_at": session.starts_at - lifecycle.START_EARLIEST,
        "broadcast_too_early": now < session.starts_at - lifecycle.GREEN_ROOM_EARLIEST,
    }


def wants_json(request: HttpRequest) -> bool:
    return request.headers.get("Accept", "").startswith("application/json")


def _do_in_place(request: HttpRequest, session: Session, step: Step) -> JsonResponse:
    """The studio's confirmation: the new state (and when it went live), or why not."""
    try:
        moved = step.do(actor=request.user, session=session)
    except AntenneError as error:
        return JsonResponse({"code": error.code, "message": error.message}, status=error.status)
    return JsonResponse(
        {
            "state": moved.state,
            "started_at": moved.started_at.isoformat() if moved.started_at else None,
            "message": str(step.done),
        }
    )


@require_http_methods(["GET", "POST"])
@member_required
def session_broadcast(request: HttpRequest, pk: int, action: str) -> HttpResponse:
    step = STEPS.get(action)
    if step is None:
        raise Http404
    session = selectors.access_managed_session(actor=request.user, pk=pk)
    # Reached from the console (`?from=console`): back to it afterwards, not to the session.
    from_console = "console" in (request.GET.get("from"), request.POST.get("from"))
    back = "control:session_console" if from_console else "control:session_live"
    if request.method == "POST" and wants_json(request):
        return _do_in_place(request, session, step)
    if request.method == "POST":
        try:
            step.do(actor=request.user, session=session)
        except AntenneError as error:
            messages.error(request, error.message)
        else:
            messages.success(request, str(step.done))
        return redirect(back, pk=pk)
    refusal = lifecycle.refusal(session, step.transition)
    return render(
        request,
        "control/session_broadcast.html",
        {
            "session": session,
            "event": session.event,
            "step": step,
            "action": action,
            "from_console": from_console,
            "back_url": reverse(back, args=[pk]) + ("" if from_console else "#broadcast"),
            "refusal": refusal.message if refusal else "",
            "pending_reminders": session.reminders.filter(state=Reminder.State.PENDING).count(),
        },
    )
