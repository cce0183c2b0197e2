"""Back office for webinars: events, their sessions, speakers, the readiness checklist."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from django.contrib import messages
from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.http import FileResponse, Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.formats import date_format
from django.utils.timezone import localtime
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from antenne.analytics.selectors import can_view_report
from antenne.control import event_forms as forms
from antenne.control.broadcast import broadcast_context
from antenne.control.questions import QuestionForm
from antenne.control.reminders import ReminderForm
from antenne.control.views import member_required
from antenne.core.exceptions import AntenneError
from antenne.events import permissions as event_permissions
from antenne.events import pins, selectors, services, speakers
from antenne.events.models import Session


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
        },
    )


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
        messages.success(
            request,
            _("The registration page is published.")
            if publish
            else _("The registration page is unpublished."),
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
            messages.success(request, _("The webinar and its coming sessions are cancelled."))
    return redirect("control:event", pk=pk)


@require_GET
@member_required
def event_cover(request: HttpRequest, pk: int) -> FileResponse:
    found = selectors.access_event(actor=request.user, pk=pk)
    if not found.cover_image:
        raise Http404
    return FileResponse(found.cover_image.open("rb"))


# --- Sessions -----------------------------------------------------------------------------


def _conflicts_context(error: AntenneError) -> list[dict[str, Any]]:
    """The conflicting sessions of an error, with datetimes for the page to localise."""
    return [
        {**c, "starts_at": datetime.fromisoformat(c["starts_at"])}
        for c in error.data.get("conflicts", [])
    ]


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
            conflicts = _conflicts_context(error)
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


def _session_page(request: HttpRequest, session: Session, **forms_: Any) -> HttpResponse:
    can_manage = event_permissions.can_manage_session(request.user, session)
    context = {
        "session": session,
        "event": session.event,
        "can_manage": can_manage,
        "can_view_report": can_view_report(request.user, session),
        "checklist": selectors.readiness(session),
        "dial_in": pins.dial_in_for_session(session),
        "speakers": session.speakers.all(),
        "reminders": [
            (
                reminder,
                ReminderForm(
                    initial=ReminderForm.initial_for(reminder.offset_minutes),
                    prefix=f"reminder-{reminder.pk}",
                ),
            )
            for reminder in session.reminders.all()
        ],
        "reminder_form": ReminderForm(prefix="reminder"),
        "reschedule_form": forms.SlotForm(
            initial=forms.SlotForm.initial_for(
                session.starts_at, session.time_zone, session.duration_minutes
            ),
            prefix="slot",
        ),
        "team_form": forms.SessionTeamForm(
            initial={"animators": list(session.animators.all()), "capacity": session.capacity},
            prefix="team",
        ),
        "speaker_form": forms.SpeakerForm(prefix="speaker"),
        "cancel_form": forms.CancelForm(prefix="cancel"),
        "conflicts": [],
        **(broadcast_context(session) if can_manage else {}),
        **forms_,
    }
    return render(
        request,
        "control/session.html",
        context,
        status=_page_status(*forms_.values()) if forms_ else 200,
    )


@require_GET
@member_required
def session(request: HttpRequest, pk: int) -> HttpResponse:
    return _session_page(request, selectors.access_session(actor=request.user, pk=pk))


@require_POST
@member_required
def session_reschedule(request: HttpRequest, pk: int) -> HttpResponse:
    found = selectors.access_managed_session(actor=request.user, pk=pk)
    form = forms.SlotForm(request.POST, prefix="slot")
    if form.is_valid():
        data = form.cleaned_data
        try:
            services.reschedule_session(
                actor=request.user,
                session=found,
                starts_at=data["starts_at"],
                time_zone=data["time_zone"],
                duration_minutes=data["duration_minutes"],
                confirm_conflicts=data["confirm_conflicts"],
            )
        except AntenneError as error:
            form.add_error(
                "confirm_conflicts" if error.code == "session.conflict" else None, error.message
            )
            return _session_page(
                request, found, reschedule_form=form, conflicts=_conflicts_context(error)
            )
        messages.success(request, _("The session is moved; its speakers are told by email."))
        return redirect("control:session", pk=pk)
    return _session_page(request, found, reschedule_form=form)


@require_POST
@member_required
def session_team(request: HttpRequest, pk: int) -> HttpResponse:
    found = selectors.access_managed_session(actor=request.user, pk=pk)
    form = forms.SessionTeamForm(request.POST, prefix="team")
    if form.is_valid():
        try:
            services.update_session(
                actor=request.user,
                session=found,
                capacity=form.cleaned_data["capacity"],
                animators=list(form.cleaned_data["animators"]),
            )
        except AntenneError as error:
            form.add_error(None, error.message)
        else:
            messages.success(request, _("Saved."))
            return redirect("control:session", pk=pk)
    return _session_page(request, found, team_form=form)


@require_POST
@member_required
def session_test_run(request: HttpRequest, pk: int) -> HttpResponse:
    found = selectors.access_managed_session(actor=request.user, pk=pk)
    try:
        services.mark_test_run(
            actor=request.user, session=found, done=request.POST.get("done") == "1"
        )
    except AntenneError as error:
        messages.error(request, error.message)
    return redirect("control:session", pk=pk)


@require_POST
@member_required
def session_cancel(request: HttpRequest, pk: int) -> HttpResponse:
    found = selectors.access_managed_session(actor=request.user, pk=pk)
    form = forms.CancelForm(request.POST, prefix="cancel")
    if form.is_valid():
        try:
            services.cancel_session(
                actor=request.user, session=found, message=form.cleaned_data["message"]
            )
        except AntenneError as error:
            messages.error(request, error.message)
        else:
            messages.success(
                request, _("The session is cancelled; its speakers are told by email.")
            )
    return redirect("control:session", pk=pk)


@require_POST
@member_required
def speaker_add(request: HttpRequest, pk: int) -> HttpResponse:
    found = selectors.access_managed_session(actor=request.user, pk=pk)
    form = forms.SpeakerForm(request.POST, prefix="speaker")
    if form.is_valid():
        try:
            speaker = speakers.add_speaker(actor=request.user, session=found, **form.cleaned_data)
        except AntenneError as error:
            form.add_error(
                "email" if error.code in ("speaker.exists", "email.invalid") else None,
                error.message,
            )
        else:
            messages.success(
                request, _("%(name)s is invited and has been sent their link.") % {"name": speaker}
            )
            return redirect("control:session", pk=pk)
    return _session_page(request, found, speaker_form=form)


SPEAKER_ACTIONS = {
    "resend": (
        speakers.resend_speaker_invitation,
        gettext_lazy("A new link was sent; the previous one no longer works."),
    ),
    "revoke": (speakers.revoke_speaker_link, gettext_lazy("The speaker's link no longer works.")),
    "remove": (speakers.remove_speaker, gettext_lazy("The speaker was removed.")),
}


@require_POST
@member_required
def speaker_action(request: HttpRequest, pk: int, speaker_pk: int, action: str) -> HttpResponse:
    found = selectors.access_managed_session(actor=request.user, pk=pk)
    speaker = selectors.access_speaker(actor=request.user, session=found, pk=speaker_pk)
    if action not in SPEAKER_ACTIONS:
        raise Http404
    do, done = SPEAKER_ACTIONS[action]
    try:
        do(actor=request.user, speaker=speaker)
    except AntenneError as error:
        messages.error(request, error.message)
    else:
        messages.success(request, str(done))
    return redirect("control:session", pk=pk)
