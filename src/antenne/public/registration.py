"""The public registration page of a webinar, its confirmation, and "lost your link?".

Nothing here tells a visitor anything about an address: a new registration, an existing
one, a revoked one, a workspace member's address and a honeypot hit all land on the same
"check your email" page, and what differs goes by email to the address's owner
(`registrations.self_service`). The join link is therefore never shown on a page: it goes
only to the mailbox of the address typed. Only client addresses are ever refused for
asking too often; a limit on an address limits what is sent to it."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.db import transaction
from django.db.models import Count, Q
from django.http import FileResponse, Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.http import urlencode
from django.utils.translation import gettext as _
from django.views.decorators.clickjacking import xframe_options_exempt
from django.views.decorators.http import require_http_methods, require_safe

from antenne.accounts.models import normalize_email
from antenne.core import ratelimit
from antenne.core.exceptions import AntenneError
from antenne.core.views import rate_limited
from antenne.events.models import Event, Session, Speaker
from antenne.public.calendar_links import When, public_calendar_file
from antenne.public.registration_forms import (
    UTM_KEYS,
    LostLinkForm,
    RegistrationForm,
    SessionChoice,
)
from antenne.registrations import self_service, services, tasks
from antenne.registrations.models import Registration

# The visitor's session remembers, per event, the address they last typed (to say where
# the email went), and nothing about what it holds.
SESSION_KEY = "antenne_registered"  # {event id: {"email": ..., "session": id}}
# The page after registering repeats when the chosen session is, while it is ahead.
SHOWN_AFTER_REGISTERING = (Session.State.SCHEDULED, Session.State.GREEN_ROOM)


def _published_event(event_id: int) -> Event:
    event = Event.objects.filter(pk=event_id, published=True).first()
    if event is None:
        raise Http404
    return event


def _open_sessions(event: Event) -> tuple[list[SessionChoice], list[Session]]:
    """Sessions one can still register to (scheduled, in the future, with a seat or a
    waiting list), and the future ones that are full without a waiting list."""
    sessions = (
        Session.objects.filter(
            event=event, state=Session.State.SCHEDULED, starts_at__gt=timezone.now()
        )
        .annotate(
            confirmed=Count(
                "registrations", filter=Q(registrations__status=Registration.Status.CONFIRMED)
            )
        )
        .order_by("starts_at", "pk")
    )
    choices: list[SessionChoice] = []
    full_sessions: list[Session] = []
    for session in sessions:
        taken: int = session.confirmed
        full = session.capacity is not None and taken >= session.capacity
        if full and not session.waitlist_enabled:
            full_sessions.append(session)
        else:
            choices.append(SessionChoice(session, waiting_list=full))
    return choices, full_sessions


@dataclass(frozen=True)
class SpeakerCard:
    """A speaker as the page shows them: no photo is stored, so their initials stand in."""

    name: str
    title: str

    @property
    def initials(self) -> str:
        words = [w for w in self.name.replace("-", " ").split() if w[:1].isalpha()]
        letters = [words[0][0], words[-1][0]] if len(words) > 1 else [w[0] for w in words]
        return "".join(letters).upper()


def _speakers(event: Event) -> list[SpeakerCard]:
    if not event.show_speakers:
        return []
    seen: dict[str, SpeakerCard] = {}
    for speaker in Speaker.objects.filter(session__event=event, revoked_at__isnull=True).exclude(
        session__state=Session.State.CANCELLED
    ):
        seen.setdefault(
            normalize_email(speaker.email), SpeakerCard(name=speaker.name, title=speaker.title)
        )
    return list(seen.values())


def _frameable(response: HttpResponse) -> HttpResponse:
    response.csp_frame_ancestors = "*"  # type: ignore[attr-defined]
    return response


def _base(request: HttpRequest) -> str:
    return "public/registration/base_embed.html" if request.GET.get("embed") else "base.html"


def _within_limits(request: HttpRequest) -> bool:
    return ratelimit.hit(
        "register-client", ratelimit.client_ip(request), settings.RATE_LIMIT_REGISTER_CLIENT
    )


def _remember(request: HttpRequest, event: Event, email: str, session: Session) -> None:
    registered = dict(request.session.get(SESSION_KEY, {}))
    registered[str(event.pk)] = {"email": normalize_email(email), "session": session.pk}
    request.session[SESSION_KEY] = registered


@xframe_options_exempt
@require_http_methods(["GET", "HEAD", "POST"])
def register(request: HttpRequest, event_id: int) -> HttpResponse:
    event = _published_event(event_id)
    choices, full_sessions = _open_sessions(event)
    language = request.LANGUAGE_CODE
    context: dict[str, Any] = {
        "event": event,
        "speakers": _speakers(event),
        "choices": choices,
        "whens": [When(choice.session) for choice in choices],
        "privacy_url": settings.PRIVACY_URL,
        "base_template": "base.html",
    }
    if request.method != "POST" and request.GET.get("embed"):
        utm = {k: request.GET[k] for k in UTM_KEYS if request.GET.get(k)}
        context["full_page_url"] = reverse("public:register", args=[event.pk]) + (
            "?" + urlencode(utm) if utm else ""
        )
        return _frameable(render(request, "public/registration/embed.html", context))
    form = RegistrationForm(
        request.POST if request.method == "POST" else None,
        choices=choices,
        full=full_sessions,
        fields=event.registration_fields.all(),
        consent_text=services.consent_text(language),
        utm={k: request.GET[k][:200] for k in UTM_KEYS if request.GET.get(k)},
    )
    context["form"] = form
    status = 200
    if request.method == "POST" and form.is_valid():
        email = form.cleaned_data["email"]
        if not _within_limits(request):
            return rate_limited(request)
        if form.is_bot:
            _remember(request, event, email, form.chosen.session)
            return redirect("public:registered", event_id=event.pk)
        try:
            self_service.register_from_page(
                session=form.chosen.session,
                email=email,
                first_name=form.cleaned_data["first_name"],
                last_name=form.cleaned_data["last_name"],
                answers=form.answers(),
                consent=form.cleaned_data["consent"],
                language=language,
                utm=form.utm(),
            )
        except AntenneError as error:
            if error.code == "registration.closed":
                context["closed"] = True
                status = 409
            elif error.code == "registration.full":
                context["full"] = True
                form.add_error("session", _("This session is full."))
                status = 422
            elif error.code == "registration.consent_required":
                form.add_error("consent", error.message)
            elif error.code == "registration.first_name_required":
                form.add_error("first_name", error.message)
            elif error.code == "registration.last_name_required":
                form.add_error("last_name", error.message)
            elif error.code == "email.invalid":
                form.add_error("email", error.message)
            else:
                form.add_error(None, error.message)
        else:
            _remember(request, event, email, form.chosen.session)
            return redirect("public:registered", event_id=event.pk)
    if form.has_error("session", "full"):
        context["full"] = True
    if form.errors and status == 200:
        status = 422
    return _frameable(render(request, "public/registration/register.html", context, status=status))


@xframe_options_exempt
@require_safe
def registered(request: HttpRequest, event_id: int) -> HttpResponse:
    event = _published_event(event_id)
    remembered = request.session.get(SESSION_KEY, {}).get(str(event.pk))
    if not remembered:
        return redirect("public:register", event_id=event.pk)
    session = Session.objects.filter(
        event=event, pk=remembered.get("session"), state__in=SHOWN_AFTER_REGISTERING
    ).first()
    response = render(
        request,
        "public/registration/registered.html",
        {
            "event": event,
            "email": remembered["email"],
            "when": When(session) if session else None,
            "base_template": _base(request),
        },
    )
    response.headers["Cache-Control"] = "private, no-store"
    return _frameable(response)


@xframe_options_exempt
@require_http_methods(["GET", "HEAD", "POST"])
def lost_link(request: HttpRequest, event_id: int) -> HttpResponse:
    event = _published_event(event_id)
    sessions = event.sessions.exclude(state=Session.State.CANCELLED).order_by("starts_at", "pk")
    form = LostLinkForm(request.POST if request.method == "POST" else None, sessions=sessions)
    if request.method == "POST" and form.is_valid():
        email = normalize_email(form.cleaned_data["email"])
        if not _within_limits(request):
            return rate_limited(request)
        ids = form.session_ids()
        transaction.on_commit(lambda: tasks.resend_link.enqueue(email, ids))
        return redirect("public:lost_link_sent", event_id=event.pk)
    return _frameable(
        render(
            request,
            "public/registration/lost_link.html",
            {"event": event, "form": form, "base_template": _base(request)},
            status=422 if form.errors else 200,
        )
    )


@xframe_options_exempt
@require_safe
def lost_link_sent(request: HttpRequest, event_id: int) -> HttpResponse:
    event = _published_event(event_id)
    return _frameable(
        render(
            request,
            "public/registration/lost_link_sent.html",
            {"event": event, "base_template": _base(request)},
        )
    )


@require_safe
def session_ics(request: HttpRequest, event_id: int, session_id: int) -> HttpResponse:
    """The public calendar file of a session: the registration page, no join link."""
    event = _published_event(event_id)
    session = Session.objects.filter(event=event, pk=session_id).select_related("event").first()
    if session is None:
        raise Http404
    response = HttpResponse(public_calendar_file(session), content_type="text/calendar")
    response.headers["Content-Disposition"] = 'attachment; filename="webinar.ics"'
    response.headers["Cache-Control"] = "public, max-age=300"
    return response


@require_safe
def cover(request: HttpRequest, event_id: int) -> FileResponse:
    event = _published_event(event_id)
    if not event.cover_image:
        raise Http404
    response = FileResponse(event.cover_image.open("rb"))
    response.headers["Cache-Control"] = "public, max-age=300"
    return response
