"""Back office for webinars: events, their sessions, speakers, the readiness checklist."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from django.contrib import messages
from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.http import FileResponse, Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.formats import date_format
from django.utils.html import escape
from django.utils.timezone import localtime
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from antenne.control import event_forms as forms
from antenne.control.questions import QuestionForm
from antenne.control.views import member_required
from antenne.core.exceptions import AntenneError
from antenne.core.links import absolute_url
from antenne.events import permissions as event_permissions
from antenne.events import selectors, services
from antenne.events.models import Event, Session


def _page_status(*forms_: Any) -> int:
    return 422 if any(f is not None and f.errors for f in forms_) else 200


@require_GET
@member_required
def events(request: HttpRequest) -> HttpResponse:
    search = request.GET.get("q", "")[:100]
    return render(
        request,
        "control/events.html",
        {
            "events": selectors.list_events(actor=request.user, search=search),
            "q": search,
            "can_create": event_permissions.can_create_events(request.user),
        },
    )


@require_http_methods(["GET", "POST"])
@member_required
def event_new(request: HttpRequest) -> HttpResponse:
    if not event_permissions.can_create_events(request.user):
        raise DjangoPermissionDenied
    initial = {"team": getattr(request.user, "team", None), "language": request.LANGUAGE_CODE}
    form = forms.EventForm(request.POST or None, request.FILES or None, initial=initial)
    if request.method == "POST" and form.is_valid():
        try:
            event = services.create_event(actor=request.user, **form.cleaned_data)
        except AntenneError as error:
            form.add_error(None, error.message)
        else:
            messages.success(request, _("Webinar created. Now add its first session."))
            return redirect("control:session_new", pk=event.pk)
    return render(request, "control/event_form.html", {"form": form}, status=_page_status(form))


@require_GET
@member_required
def event(request: HttpRequest, pk: int) -> HttpResponse:
    found = selectors.access_event(actor=request.user, pk=pk)
    return render(
        request,
        "control/event.html",
        {
            "event": found,
            "sessions": found.sessions.prefetch_related("animators", "speakers").order_by(
                "starts_at"
            ),
            "can_manage": event_permissions.can_manage_event(request.user, found),
            "can_own": event_permissions.can_own_event(request.user, found),
            "cancel_form": forms.CancelForm(),
            "questions": found.registration_fields.all(),
            "question_form": QuestionForm(prefix="question"),
            **share_context(found),
        },
    )


def share_context(event: Event) -> dict[str, str]:
    """The registration page's public link and the code that embeds it (docs/embed.md)."""
    url = absolute_url(reverse("public:register", args=[event.pk]))
    title = _("Registration: %(title)s") % {"title": event.title}
    return {
        "register_url": url,
        "embed_code": (
            f'<iframe src="{escape(url)}?embed=1" title="{escape(title)}" width="100%" '
            'height="600" loading="lazy"></iframe>'
        ),
    }


@require_http_methods(["GET", "POST"])
@member_required
def event_edit(request: HttpRequest, pk: int) -> HttpResponse:
    found = selectors.access_owned_event(actor=request.user, pk=pk)
    initial = {
        "title": found.title,
        "description": found.description,
        "language": found.language,
        "team": found.team,
        "show_speakers": found.show_speakers,
    }
    form = forms.EventForm(request.POST or None, request.FILES or None, initial=initial)
    if request.method == "POST" and form.is_valid():
        try:
            services.update_event(actor=request.user, event=found, **form.cleaned_data)
        except AntenneError as error:
            form.add_error(None, error.message)
        else:
            messages.success(request, _("Saved."))
            return redirect("control:event", pk=found.pk)
    return render(
        request,
        "control/event_form.html",
        {"form": form, "event": found},
        status=_page_status(form),
    )


@require_POST
@member_required
def event_publish(request: HttpRequest, pk: int) -> HttpResponse:
    found = selectors.access_owned_event(actor=request.user, pk=pk)
    publish = request.POST.get("published") == "1"
    try:
        services.update_event(actor=request.user, event=found, published=publish)
    except AntenneError as error:
        messages.error(request, error.message)
    else:
        if publish:
            messages.success(
                request, _("The registration page is published: share its link from here.")
            )
            return redirect(reverse("control:event", args=[pk]) + "#share")
        messages.success(
            request, _("The registration page is unpublished: nobody can register any more.")
        )
    return redirect("control:event", pk=pk)


def _error_with_sessions(error: AntenneError) -> str:
    """An error's message followed by the sessions it names (start in the viewer's time
    and state), such as the sessions under way that stop a webinar's cancellation."""
    named = error.data.get("sessions") or []
    if not named:
        return error.message
    states = dict(Session.State.choices)
    listed = ", ".join(
        f"{date_format(localtime(datetime.fromisoformat(s['starts_at'])), 'DATETIME_FORMAT')}"
        f" ({states.get(s['state'], s['state'])})"
        for s in named
    )
    return f"{error.message} {listed}"


@require_POST
@member_required
def event_cancel(request: HttpRequest, pk: int) -> HttpResponse:
    found = selectors.access_owned_event(actor=request.user, pk=pk)
    form = forms.CancelForm(request.POST)
    if form.is_valid():
        try:
            services.cancel_event(
                actor=request.user, event=found, message=form.cleaned_data["message"]
            )
        except AntenneError as error:
            messages.error(request, _error_with_sessions(error))
        else:
            messages.success(
                request,
                _(
                    "The webinar and its coming sessions are cancelled; their speakers and "
                    "registrants are told by email."
                ),
            )
    return redirect("control:event", pk=pk)


@require_GET
@member_required
def event_cover(request: HttpRequest, pk: int) -> FileResponse:
    found = selectors.access_event(actor=request.user, pk=pk)
    if not found.cover_image:
        raise Http404
    return FileResponse(found.cover_image.open("rb"))


# --- Sessions -----------------------------------------------------------------------------


@require_http_methods(["GET", "POST"])
@member_required
def session_new(request: HttpRequest, pk: int) -> HttpResponse:
    found = selectors.access_managed_event(actor=request.user, pk=pk)
    form = forms.SessionForm(request.POST or None, initial={"animators": [request.user]})
    conflicts: list[dict[str, Any]] = []
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            session = services.schedule_session(
                actor=request.user,
                event=found,
                starts_at=data["starts_at"],
                time_zone=data["time_zone"],
                duration_minutes=data["duration_minutes"],
                capacity=data["capacity"],
                animators=list(data["animators"]),
                confirm_conflicts=data["confirm_conflicts"],
            )
        except AntenneError as error:
            conflicts = forms.conflicts_context(error)
            if conflicts:
                form.ask_confirmation()
            form.add_error(
                "confirm_conflicts" if error.code == "session.conflict" else None, error.message
            )
        else:
            messages.success(request, _("Session scheduled."))
            return redirect("control:session", pk=session.pk)
    return render(
        request,
        "control/session_form.html",
        {"form": form, "event": found, "conflicts": conflicts},
        status=_page_status(form),
    )
