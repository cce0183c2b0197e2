"""One-click unsubscribe (RFC 8058) from every email a person did not ask for: reminders,
follow-ups and messages to registrants (`outbox.kinds.LIST_UNSUBSCRIBE_KINDS`). The link
carries a signed token naming the registration; unsubscribing stops those emails for that
registration at once, including what is written and not yet gone."""

from __future__ import annotations

from datetime import timedelta

from django.core import signing
from django.db import transaction
from django.urls import reverse
from django.utils import timezone

from antenne.core import actions
from antenne.core.audit import log_action
from antenne.core.links import absolute_url
from antenne.outbox.kinds import LIST_UNSUBSCRIBE_KINDS, REMINDER
from antenne.outbox.models import OutgoingEmail
from antenne.registrations.models import Registration

# Kept as it was when this lived in `mailing.reminders`: links already sent keep working.
UNSUBSCRIBE_SALT = "antenne.mailing.unsubscribe"
UNSUBSCRIBE_MAX_AGE = timedelta(days=400)


def unsubscribe_token(registration: Registration, kind: str = REMINDER) -> str:
    return signing.dumps({"r": registration.pk, "k": kind}, salt=UNSUBSCRIBE_SALT)


def unsubscribe_url(registration: Registration, kind: str = REMINDER) -> str:
    return absolute_url(reverse("public:unsubscribe", args=[unsubscribe_token(registration, kind)]))


def registration_for_unsubscribe(*, token: str) -> Registration | None:
    """The registration an unsubscribe token names, or None (bad, expired, or erased)."""
    if not token or len(token) > 200:
        return None
    try:
        value = signing.loads(token, salt=UNSUBSCRIBE_SALT, max_age=UNSUBSCRIBE_MAX_AGE)
    except signing.BadSignature:
        return None
    if not isinstance(value, dict) or value.get("k") != REMINDER:
        return None
    registration_id = value.get("r")
    if not isinstance(registration_id, int):
        return None
    return Registration.objects.select_related("session__event").filter(pk=registration_id).first()


def unsubscribe(*, registration: Registration) -> Registration:
    """Stop the reminders, follow-ups and messages of this registration, at once
    (idempotent)."""
    with transaction.atomic():
        updated = Registration.objects.filter(
            pk=registration.pk, reminders_unsubscribed_at__isnull=True
        ).update(reminders_unsubscribed_at=timezone.now())
        # Honoured at once: what is written but not gone (a retry waiting, say) stays here.
        OutgoingEmail.objects.filter(
            session_id=registration.session_id,
            to__iexact=registration.email,
            kind__in=LIST_UNSUBSCRIBE_KINDS,
            state=OutgoingEmail.State.PENDING,
        ).update(state=OutgoingEmail.State.WITHHELD, last_error="unsubscribed")
        if updated:
            log_action(
                registration.session,
                actions.REGISTRATION_UNSUBSCRIBED,
                data={"registration": registration.pk, "kind": REMINDER},
            )
    registration.refresh_from_db(fields=["reminders_unsubscribed_at"])
    return registration


def resubscribe(*, registration: Registration) -> Registration:
    """Undo `unsubscribe`: the emails of this webinar come again (idempotent)."""
    with transaction.atomic():
        updated = Registration.objects.filter(
            pk=registration.pk, reminders_unsubscribed_at__isnull=False
        ).update(reminders_unsubscribed_at=None)
        if updated:
            log_action(
                registration.session,
                actions.REGISTRATION_RESUBSCRIBED,
                data={"registration": registration.pk},
            )
    registration.refresh_from_db(fields=["reminders_unsubscribed_at"])
    return registration
