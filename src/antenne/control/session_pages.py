"""A session in the back office, as sections a person scans in one glance, each at its own
address under a shared navigation: overview (time, state, share link, checklist), speakers,
broadcast (the green room, the test run, the console) and settings (move, animators and
capacity, cancel). Registrants, emails and the report are sections of their own modules.
Each form posts back to its section, which shows its errors."""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, ngettext
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from antenne.analytics.selectors import can_view_report
from antenne.control import event_forms as forms
from antenne.control.broadcast import broadcast_context
from antenne.control.views import member_required
from antenne.core.exceptions import AntenneError
from antenne.core.links import absolute_url
from antenne.events import permissions as event_permissions
from antenne.events import pins, selectors, services, speakers
from antenne.events.models import Session
from antenne.registrations.models import Registration


def _status(forms_: dict[str, Any]) -> int:
    return 422 if any(getattr(f, "errors", None) for f in forms_.values()) else 200


def registrant_count(session: Session) -> int:
    """Who is told when the session moves or is cancelled: every registrant not revoked."""
    return session.registrations.exclude(status=Registration.Status.REVOKED).count()


def section_context(request: HttpRequest, session: Session, section: str) -> dict[str, Any]:
    """What every section's header and navigation need (`control/_session_nav.html`)."""
    return {
        "session": session,
        "event": session.event,
        "section": section,
        "can_manage": event_permissions.can_manage_session(request.user, session),
        "can_view_report": can_view_report(request.user, session),
    }


def _render(request: HttpRequest, session: Session, section: str, **extra: Any) -> HttpResponse:
    context = section_context(request, session, section)
    forms_ = {k: v for k, v in extra.items() if k.endswith("_form")}
    if section == "overview":
        context |= {
            "checklist": selectors.readiness(session),
            "registrants": registrant_count(session),
            "speaker_count": session.speakers.filter(revoked_at__isnull=True).count(),
            "register_url": absolute_url(reverse("public:register", args=[session.event_id]))
            if session.event.published
            else "",
        }
    elif section == "speakers":
        context |= {
            "speakers": session.speakers.all(),
            "speaker_form": forms.SpeakerForm(prefix="speaker"),
        }
    elif section == "live":
        context |= {
            "dial_in": pins.dial_in_for_session(session),
            **(broadcast_context(session) if context["can_manage"] else {}),
        }
    elif section == "settings":
        context |= {
            "reschedule_form": forms.SlotForm(
                initial=forms.SlotForm.initial_for(
                    session.starts_at, session.time_zone, session.duration_minutes
                ),
                prefix="slot",
                current_zone=session.time_zone,
            ),
            "team_form": forms.SessionTeamForm(
                initial={"animators": list(session.animators.all()), "capacity": session.capacity},
                prefix="team",
            ),
            "cancel_form": forms.CancelForm(prefix="cancel"),
            "animators": session.animators.all(),
            "registrants": registrant_count(session),
            "conflicts": [],
        }
    context |= extra
    return render(request, f"control/session/{section}.html", context, status=_status(forms_))


def _section_view(section: str) -> Any:
    @require_GET
    @member_required
    def view(request: HttpRequest, pk: int) -> HttpResponse:
        return _render(request, selectors.access_session(actor=request.user, pk=pk), section)

    view.__name__ = f"session_{section}"
    view.__doc__ = f"The session's {section} section."
    return view


session = _section_view("overview")
session_live = _section_view("live")
session_settings = _section_view("settings")


def _told(session: Session, *, registrants: bool) -> str:
    """Who an email went to, as the flash message says it."""
    speakers_n = session.speakers.filter(revoked_at__isnull=True).count()
    registrants_n = registrant_count(session) if registrants else 0
    registrants_text = ngettext("%(n)s registrant", "%(n)s registrants", registrants_n) % {
        "n": registrants_n
    }
    speakers_text = ngettext("%(n)s speaker", "%(n)s speakers", speakers_n) % {"n": speakers_n}
    if speakers_n and registrants_n:
        return _("An email went to %(registrants)s and %(speakers)s.") % {
            "registrants": registrants_text,
            "speakers": speakers_text,
        }
    if registrants_n or speakers_n:
        return _("An email went to %(people)s.") % {
            "people": registrants_text if registrants_n else speakers_text
        }
    return _("Nobody was emailed: it has no speaker and no registrant yet.")


@require_POST
@member_required
def session_reschedule(request: HttpRequest, pk: int) -> HttpResponse:
    found = selectors.access_managed_session(actor=request.user, pk=pk)
    form = forms.SlotForm(request.POST, prefix="slot", current_zone=found.time_zone)
    if form.is_valid():
        data = form.cleaned_data
        before = found.starts_at
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
            if error.data.get("conflicts"):
                form.ask_confirmation()
            form.add_error(
                "confirm_conflicts" if error.code == "session.conflict" else None, error.message
            )
            return _render(
                request,
                found,
                "settings",
                reschedule_form=form,
                conflicts=forms.conflicts_context(error),
            )
        if found.starts_at != before:
            told = _told(found, registrants=True)
            messages.success(request, f"{_('The session is moved.')} {told}")
        else:
            messages.success(request, _("Saved. Nobody was emailed: the start did not change."))
        return redirect("control:session_settings", pk=pk)
    return _render(request, found, "settings", reschedule_form=form)


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
            return redirect(reverse("control:session_settings", args=[pk]) + "#animators")
    return _render(request, found, "settings", team_form=form)


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
    return redirect(reverse("control:session_live", args=[pk]) + "#test-run")


@require_POST
@member_required
def session_cancel(request: HttpRequest, pk: int) -> HttpResponse:
    found = selectors.access_managed_session(actor=request.user, pk=pk)
    form = forms.CancelForm(request.POST, prefix="cancel")
    if not form.is_valid():
        return _render(request, found, "settings", cancel_form=form)
    try:
        services.cancel_session(
            actor=request.user, session=found, message=form.cleaned_data["message"]
        )
    except AntenneError as error:
        messages.error(request, error.message)
        return redirect("control:session_settings", pk=pk)
    messages.success(request, _("The session is cancelled.") + " " + _told(found, registrants=True))
    return redirect("control:session", pk=pk)


@require_http_methods(["GET", "POST"])
@member_required
def session_speakers(request: HttpRequest, pk: int) -> HttpResponse:
    """The speakers section; its form invites one."""
    if request.method == "GET":
        return _render(request, selectors.access_session(actor=request.user, pk=pk), "speakers")
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
                request,
                _("%(name)s is invited: their personal link was emailed to %(email)s.")
                % {"name": speaker, "email": speaker.email},
            )
            return redirect("control:session_speakers", pk=pk)
    return _render(request, found, "speakers", speaker_form=form)


SPEAKER_ACTIONS = {
    "resend": (
        speakers.resend_speaker_invitation,
        gettext_lazy("A new link was emailed to the speaker; the previous one no longer works."),
    ),
    "revoke": (
        speakers.revoke_speaker_link,
        gettext_lazy("The speaker's link no longer works. Nobody was emailed."),
    ),
    "remove": (
        speakers.remove_speaker,
        gettext_lazy("The speaker was removed. Nobody was emailed."),
    ),
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
    return redirect("control:session_speakers", pk=pk)
