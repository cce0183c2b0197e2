"""Writing and delivering emails. Callers use `queue_email` inside their transaction; the row
is delivered by the background worker once the transaction commits."""

from __future__ import annotations

import logging
from typing import Any
from urllib.parse import urlsplit

from django.conf import settings
from django.core.mail import EmailMultiAlternatives, get_connection
from django.core.mail.message import make_msgid
from django.db import transaction
from django.template.loader import render_to_string
from django.utils import timezone, translation

from antenne.core import actions
from antenne.core.audit import log_action
from antenne.mailing.models import OutgoingEmail

logger = logging.getLogger("antenne.mailing")


def render_email(template: str, context: dict[str, Any], *, language: str) -> dict[str, str]:
    """Subject, text and HTML of `mailing/email/<template>.*` rendered in `language`."""
    base_context = {
        "WORKSPACE_NAME": settings.WORKSPACE_NAME,
        "BASE_URL": settings.BASE_URL,
        **context,
    }
    with translation.override(language):
        subject = render_to_string(f"mailing/email/{template}.subject.txt", base_context)
        text = render_to_string(f"mailing/email/{template}.txt", base_context)
        html = render_to_string(f"mailing/email/{template}.html", base_context)
    return {"subject": " ".join(subject.split()), "text": text.strip() + "\n", "html": html}


def queue_email(
    *,
    to: str,
    kind: str,
    template: str,
    context: dict[str, Any],
    language: str = "",
    attachments: list[dict[str, str]] | None = None,
) -> OutgoingEmail:
    """Write an email row now; deliver it after the surrounding transaction commits."""
    from antenne.mailing.tasks import deliver_email

    language = language or settings.LANGUAGE_CODE
    rendered = render_email(template, context, language=language)
    email = OutgoingEmail.objects.create(
        to=to,
        kind=kind,
        language=language,
        subject=rendered["subject"][:250],
        body_text=rendered["text"],
        body_html=rendered["html"],
        attachments=attachments or [],
    )
    transaction.on_commit(lambda: deliver_email.enqueue(email.pk))
    return email


def deliver_email(*, email_id: int) -> str:
    """Send one pending email through the configured backend. Returns its final state."""
    claimed = OutgoingEmail.objects.filter(pk=email_id, state=OutgoingEmail.State.PENDING).update(
        state=OutgoingEmail.State.SENDING
    )
    email = OutgoingEmail.objects.get(pk=email_id)
    if not claimed:
        return str(email.state)
    message_id = email.message_id or make_msgid(domain=urlsplit(settings.BASE_URL).hostname)
    message = EmailMultiAlternatives(
        subject=email.subject,
        body=email.body_text,
        from_email=settings.DEFAULT_FROM_EMAIL,
        to=[email.to],
        headers={"Message-ID": message_id, "Auto-Submitted": "auto-generated"},
    )
    if email.body_html:
        message.attach_alternative(email.body_html, "text/html")
    for attachment in email.attachments:
        message.attach(attachment["filename"], attachment["content"], attachment["mimetype"])
    email.attempts += 1
    email.message_id = message_id
    try:
        with get_connection() as connection:
            connection.send_messages([message])
    except Exception as exc:  # any transport error is recorded on the row, not lost
        logger.warning("email %s to %s failed: %s", email.pk, email.to, exc)
        email.state = OutgoingEmail.State.FAILED
        email.last_error = f"{type(exc).__name__}: {exc}"[:2000]
        email.save(update_fields=["state", "attempts", "last_error", "message_id"])
        log_action(
            email, actions.EMAIL_FAILED, data={"kind": email.kind, "error": email.last_error}
        )
        return str(email.state)
    email.state = OutgoingEmail.State.SENT
    email.sent_at = timezone.now()
    email.last_error = ""
    email.save(update_fields=["state", "attempts", "last_error", "message_id", "sent_at"])
    log_action(email, actions.EMAIL_SENT, data={"kind": email.kind, "to": email.to})
    return str(email.state)
