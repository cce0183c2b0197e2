"""Writes of the registrations domain: registering (capacity, staff rule, idempotency),
join links, revoking and erasing."""

from __future__ import annotations

import hashlib
import secrets
from datetime import timedelta
from typing import Any

from django.conf import settings
from django.db import IntegrityError, transaction
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from antenne.accounts.models import User, normalize_email
from antenne.accounts.services import checked_email
from antenne.core import actions, ical
from antenne.core.audit import log_action
from antenne.core.exceptions import Conflict, Invalid
from antenne.core.links import absolute_url
from antenne.events.models import Session
from antenne.events.permissions import require_event_owner, require_session_manager
from antenne.events.selectors import session_revision, session_uid
from antenne.outbox.services import forget_recipient, queue_email
from antenne.registrations import hooks
from antenne.registrations.hooks import RegistrationChange
from antenne.registrations.models import Registration, RegistrationField
from antenne.registrations.pins import dial_in_for_registration, new_personal_pin

NAME_MAX = 100


def consent_text(language: str) -> str:
    """The consent sentence shown on registration pages, in `language`."""
    if settings.CONSENT_TEXT:
        return str(settings.CONSENT_TEXT)
    with translation.override(language):
        return gettext(
            "I agree that the organisers process my name and email address to run this "
            "webinar (registration, reminders, follow-up) and to measure its attendance."
        )


def consent_version(text: str) -> str:
    """A short fingerprint of the consent text: what exactly the person agreed to."""
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def join_url(registration: Registration) -> str:
    return absolute_url(reverse("public:join", args=[registration.join_key]))


def is_staff_email(email: str) -> bool:
    """Workspace accounts never register as attendees (any case or spacing of the email)."""
    return User.objects.filter(email=normalize_email(email), is_active=True).exists()


def calendar_file(registration: Registration) -> str:
    """The person's .ics: the session in UTC with a UID that stays the same when it moves
    (with the number and personal PIN to join by telephone when Antenne has a number)."""
    session = registration.session
    by_phone = ""
    dial_in = dial_in_for_registration(registration)
    if dial_in is not None:
        with translation.override(registration.language):
            by_phone = dial_in_sentence(dial_in.number, dial_in.pin)
    event = ical.VEvent(
        uid=session_uid(session),
        start=session.starts_at,
        end=session.ends_at,
        summary=session.event.title,
        stamp=session.created_at or timezone.now(),
        description="\n\n".join(
            part for part in (join_url(registration), by_phone, session.event.description) if part
        ),
        url=join_url(registration),
        status="CANCELLED" if session.is_cancelled else "CONFIRMED",
        sequence=session_revision(session),
    )
    return ical.calendar([event], name=session.event.title, method="PUBLISH")


def dial_in_sentence(number: str, pin: str) -> str:
    """How to join by telephone, in the active language (the emails say the same)."""
    return gettext("By telephone: call %(number)s, then type %(pin)s followed by #.") % {
        "number": number,
        "pin": pin,
    }


def clean_name(value: str, field: str) -> str:
    cleaned = " ".join(value.replace("\x00", "").split())[:NAME_MAX]
    if not cleaned:
        raise Invalid(_("This field is required."), code=f"registration.{field}_required")
    return cleaned


def send_confirmation(
    registration: Registration, *, template: str = "registration_confirmation", **extra: Any
) -> None:
    """(Re)send the person's join link and calendar file; the same with `template`
    "registration_moved" or "registration_cancelled" when the session changes."""
    session = registration.session
    queue_email(
        to=registration.email,
        kind=template,
        template=template,
        context={
            **extra,
            "registration": registration,
            "session": session,
            "event": session.event,
            "join_url": join_url(registration),
            "waitlisted": registration.status == Registration.Status.WAITLISTED,
            "dial_in": dial_in_for_registration(registration),
        },
        language=registration.language,
        session=session,
        attachments=[
            {
                "filename": "webinaire.ics",
                "content": calendar_file(registration),
                "mimetype": "text/calendar; charset=utf-8; method=PUBLISH",
            }
        ],
    )


def register(
    *,
    session: Session,
    email: str,
    first_name: str,
    last_name: str,
    answers: dict[str, Any] | None = None,
    consent: bool,
    language: str = "fr",
    utm: dict[str, str] | None = None,
    source: str = "public",
    actor: Any = None,
    resend: bool = True,
) -> tuple[Registration, bool]:
    """Register someone to a session. Returns (registration, created). Registering again
    with the same email re-sends the link (unless `resend` is False) and creates nothing.
    Never exceeds capacity, even under concurrent registrations: the session row is locked
    while seats are counted. From the public page a full session is refused before the
    address is looked at, so "full" never depends on whether the address is registered."""
    address = checked_email(email)
    if is_staff_email(address):
        raise Conflict(
            _("This address belongs to the organising workspace."),
            code="registration.staff_member",
            session=session.pk,
        )
    if source == "public" and not consent:
        raise Invalid(
            _("Tick the box to agree to the processing of your data."),
            code="registration.consent_required",
        )
    first = clean_name(first_name, "first_name")
    last = clean_name(last_name, "last_name")
    text = consent_text(language)
    with transaction.atomic():
        locked = Session.objects.select_for_update().select_related("event").get(pk=session.pk)
        if locked.is_over or (source == "public" and not locked.event.published):
            raise Conflict(
                _("Registration for this session is closed."), code="registration.closed"
            )
        if source == "public" and not locked.waitlist_enabled and session_is_full(locked):
            raise Conflict(_("This session is full."), code="registration.full")
        existing = Registration.objects.filter(session=locked, email=address).first()
        if existing is not None:
            if existing.status != Registration.Status.REVOKED and resend:
                send_confirmation(existing)
            return existing, False
        status = Registration.Status.CONFIRMED
        if session_is_full(locked):
            if not locked.waitlist_enabled:
                raise Conflict(_("This session is full."), code="registration.full")
            status = Registration.Status.WAITLISTED
        try:
            with transaction.atomic():
                registration = Registration.objects.create(
                    session=locked,
                    email=address,
                    first_name=first,
                    last_name=last,
                    answers=answers or {},
                    language=language,
                    status=status,
                    join_key=secrets.token_urlsafe(32),
                    phone_pin=new_personal_pin(),
                    consent_at=timezone.now() if consent else None,
                    consent_version=consent_version(text) if consent else "",
                    source=source,
                    utm={k: str(v)[:200] for k, v in (utm or {}).items()},
                )
        except IntegrityError:  # the same email registering twice at the same instant
            existing = Registration.objects.get(session=locked, email=address)
            return existing, False
        log_action(
            registration,
            actions.REGISTRATION_CREATED,
            actor=actor,
            data={"session": locked.pk, "status": status, "source": source},
        )
        registration.session = locked
        send_confirmation(registration)
        if status == Registration.Status.CONFIRMED:
            hooks.REGISTRATION_CONFIRMED.fire(_change(registration, actor))
    return registration, True


def session_is_full(session: Session) -> bool:
    """Whether every seat of `session` is taken by a confirmed registration."""
    if session.capacity is None:
        return False
    taken = Registration.objects.filter(
        session=session, status=Registration.Status.CONFIRMED
    ).count()
    return taken >= session.capacity


def _change(registration: Registration, actor: Any) -> RegistrationChange:
    return RegistrationChange(
        registration_id=registration.pk,
        session_id=registration.session_id,
        email=registration.email.strip(),
        status=registration.status,
        actor=actor,
    )


def registration_for_key(*, key: str) -> Registration | None:
    """The registration a join link belongs to (None for an unknown or revoked link)."""
    if not key or len(key) > 64:
        return None
    return (
        Registration.objects.select_related("session__event")
        .filter(join_key=key)
        .exclude(status=Registration.Status.REVOKED)
        .first()
    )


def revoke_registration(*, actor: Any, registration: Registration) -> Registration:
    """The join link stops working; the registration stays listed as revoked."""
    require_session_manager(actor, registration.session)
    if registration.status != Registration.Status.REVOKED:
        with transaction.atomic():
            registration.status = Registration.Status.REVOKED
            registration.revoked_at = timezone.now()
            registration.save(update_fields=["status", "revoked_at", "updated_at"])
            log_action(registration, actions.REGISTRATION_REVOKED, actor=actor)
            hooks.REGISTRATION_REVOKED.fire(_change(registration, actor))
    return registration


def erase_registration(*, actor: Any, registration: Registration) -> None:
    """Delete a registration and everything the person typed; the audit keeps no personal
    data, only that a registration of the session was erased."""
    require_session_manager(actor, registration.session)
    with transaction.atomic():
        log_action(
            registration.session,
            actions.REGISTRATION_ERASED,
            actor=actor,
            data={"registration": registration.pk},
        )
        # Wait for a campaign chunk being written for this session (it locks its campaign
        # row), so that no row written meanwhile escapes the scrubbing below.
        list(
            registration.session.campaigns.select_for_update()
            .filter(state__in=["scheduled", "canary", "sending"])
            .values_list("pk", flat=True)
        )
        forget_recipient(session=registration.session, address=registration.email)
        hooks.REGISTRATION_ERASED.fire(_change(registration, actor))
        registration.delete()


def session_window_open(session: Session, now: Any = None) -> bool:
    """Join links let people in from 30 minutes before the start until the end."""
    now = now or timezone.now()
    return session.starts_at - timedelta(minutes=30) <= now < session.ends_at


NOTIFY_TEMPLATES = {"moved": "registration_moved", "cancelled": "registration_cancelled"}


def notify_registrants(*, session_id: int, change: str, message: str = "") -> int:
    """Tell every registrant (confirmed or waiting) that their session moved or was
    cancelled, with an updated calendar file. Run by a background task: one row per email."""
    template = NOTIFY_TEMPLATES[change]
    session = Session.objects.select_related("event").get(pk=session_id)
    registrations = session.registrations.exclude(status=Registration.Status.REVOKED)
    count = 0
    with transaction.atomic():
        for registration in registrations.iterator():
            registration.session = session
            send_confirmation(registration, template=template, message=message)
            count += 1
    return count


# --- Registration questions --------------------------------------------------------------

MAX_CHOICES = 50


def add_question(
    *,
    actor: Any,
    event: Any,
    label: str,
    kind: str,
    choices: list[str] | None = None,
    required: bool = False,
) -> RegistrationField:
    """Add a question to an event's registration form. Answers already given keep the
    question's label with them, so editing the form later never loses what people typed.
    The form is every session's: the webinar's owner and admins only."""
    require_event_owner(actor, event)
    label = " ".join(label.split())[:200]
    if not label:
        raise Invalid(_("A question needs a text."), code="question.label_required")
    if kind not in RegistrationField.Kind.values:
        raise Invalid(_("Unknown kind of question."), code="question.kind_invalid")
    options = [" ".join(c.split())[:200] for c in (choices or []) if c.strip()]
    if kind in (RegistrationField.Kind.CHOICE, RegistrationField.Kind.MULTIPLE):
        if not 2 <= len(options) <= MAX_CHOICES or len(set(options)) != len(options):
            raise Invalid(
                _("Give between 2 and 50 different choices, one per line."),
                code="question.choices_invalid",
            )
    else:
        options = []
    with transaction.atomic():
        last = event.registration_fields.order_by("-position").first()
        field = RegistrationField.objects.create(
            event=event,
            label=label,
            kind=kind,
            choices=options,
            required=required,
            position=(last.position + 1) if last else 0,
        )
        log_action(
            field, actions.QUESTION_ADDED, actor=actor, data={"event": event.pk, "kind": kind}
        )
    return field


def remove_question(*, actor: Any, field: RegistrationField) -> None:
    require_event_owner(actor, field.event)
    with transaction.atomic():
        log_action(field.event, actions.QUESTION_REMOVED, actor=actor, data={"label": field.label})
        field.delete()
