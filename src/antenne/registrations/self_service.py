"""What the public registration page and its "lost your link?" form do with an address.

Neither tells a visitor anything about the address typed: whether it belongs to a workspace
member, is registered already, was revoked or is new, the page answers the same "check your
email", and what differs goes by email to the address's owner (the confirmation with the
join link, the link again, or, for a member, that members join from the back office).

No limit keyed on the address ever refuses its owner: at most `ANTENNE_RATE_LIMIT_REGISTER`
emails go to one address for one webinar per window, and further requests are answered the
same and send nothing (the first confirmation of a new registration always goes). Clients
are refused per client address, by the page (`ANTENNE_RATE_LIMIT_REGISTER_CLIENT`)."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.db import transaction
from django.urls import reverse
from django.utils.translation import gettext_lazy as _

from antenne.accounts.models import User, normalize_email
from antenne.accounts.services import checked_email
from antenne.core import ratelimit
from antenne.core.exceptions import Conflict, Invalid
from antenne.core.links import absolute_url
from antenne.events.models import Session
from antenne.outbox.services import queue_email
from antenne.registrations.models import Registration
from antenne.registrations.services import (
    clean_name,
    register,
    send_confirmation,
    session_is_full,
)


def may_email(*, event_id: int, address: str) -> bool:
    """Count one email to `address` about webinar `event_id`; False once its limit is
    used up (the caller then sends nothing and answers the same)."""
    return ratelimit.hit(
        "register-email", f"{event_id}:{normalize_email(address)}", settings.RATE_LIMIT_REGISTER
    )


def register_from_page(
    *,
    session: Session,
    email: str,
    first_name: str,
    last_name: str,
    answers: dict[str, Any],
    consent: bool,
    language: str,
    utm: dict[str, str],
) -> None:
    """The registration page's form. Raises only for what does not depend on who owns the
    address (its format, consent, names, a closed or full session); otherwise returns
    nothing and the page says "check your email" whatever happened."""
    address = checked_email(email)
    if not consent:
        raise Invalid(
            _("Tick the box to agree to the processing of your data."),
            code="registration.consent_required",
        )
    clean_name(first_name, "first_name")
    clean_name(last_name, "last_name")
    if session.is_over or not session.event.published:
        raise Conflict(_("Registration for this session is closed."), code="registration.closed")
    if not session.waitlist_enabled and session_is_full(session):
        raise Conflict(_("This session is full."), code="registration.full")
    allowed = may_email(event_id=session.event_id, address=address)
    member = User.objects.filter(email=address, is_active=True).first()
    if member is not None:
        if allowed:
            with transaction.atomic():
                _tell_member(member, session)
        return
    register(
        session=session,
        email=address,
        first_name=first_name,
        last_name=last_name,
        answers=answers,
        consent=consent,
        language=language,
        utm=utm,
        source="public",
        resend=allowed,
    )


def _tell_member(member: User, session: Session) -> None:
    queue_email(
        to=member.email,
        kind="registration_member",
        template="registration_member",
        context={
            "member": member,
            "session": session,
            "event": session.event,
            "session_url": absolute_url(reverse("control:session", args=[session.pk])),
        },
        language=member.language,
        session=session,
    )


def resend_links(*, email: str, session_ids: list[int]) -> int:
    """The "lost your link?" form's work (a background task, queued identically for every
    address): the link of each registration of `email` among those sessions, within the
    address's limit per webinar. Returns how many emails were written."""
    address = normalize_email(email)
    registrations = (
        Registration.objects.select_related("session__event")
        .filter(session_id__in=session_ids, email=address)
        .exclude(status=Registration.Status.REVOKED)
        .order_by("session__starts_at", "pk")
    )
    sent = 0
    allowed: dict[int, bool] = {}
    for registration in registrations:
        event_id = registration.session.event_id
        if event_id not in allowed:
            allowed[event_id] = may_email(event_id=event_id, address=address)
        if allowed[event_id]:
            with transaction.atomic():
                send_confirmation(registration)
            sent += 1
    return sent
