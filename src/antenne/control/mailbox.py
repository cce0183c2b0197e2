"""The local mailbox (admins): every email Antenne kept instead of sending it, read as its
recipient would — the HTML version in a sandboxed frame served from its own address with a
strict CSP (never the email's HTML inside our page), the text version, and the attachments
(such as the calendar file) to download."""

from __future__ import annotations

import email
import email.policy
from dataclasses import dataclass
from email.message import EmailMessage, Message

from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, render
from django.utils.http import content_disposition_header
from django.views.decorators.clickjacking import xframe_options_sameorigin
from django.views.decorators.http import require_GET

from antenne.control.views import _page, admin_required
from antenne.outbox.models import MailboxMessage

# The email's HTML, alone in its frame: no script, no request anywhere (images inline only),
# no form, no navigation of our page; only our own pages may frame it.
HTML_POLICY = "; ".join(
    [
        "default-src 'none'",
        "style-src 'unsafe-inline'",
        "img-src data:",
        "base-uri 'none'",
        "form-action 'none'",
        "frame-ancestors 'self'",
        "sandbox allow-popups allow-popups-to-escape-sandbox",
    ]
)


@dataclass(frozen=True)
class Attachment:
    index: int
    filename: str
    content_type: str
    size: int


def _parts(message: MailboxMessage) -> list[Message]:
    """The MIME parts that are attachments, in order (the calendar file of an invitation)."""
    parsed = email.message_from_string(message.raw, policy=email.policy.default)
    if not isinstance(parsed, EmailMessage):
        return []
    return list(parsed.iter_attachments())


def attachments_of(message: MailboxMessage) -> list[Attachment]:
    found = []
    for index, part in enumerate(_parts(message)):
        payload = part.get_payload(decode=True)
        found.append(
            Attachment(
                index=index,
                filename=part.get_filename() or f"attachment-{index + 1}",
                content_type=part.get_content_type(),
                size=len(payload) if isinstance(payload, bytes) else 0,
            )
        )
    return found


@require_GET
@admin_required
def mailbox(request: HttpRequest) -> HttpResponse:
    messages_qs = MailboxMessage.objects.defer("raw", "body_html").order_by("-created_at", "-id")
    return render(request, "control/mailbox.html", {"page": _page(request, messages_qs)})


@require_GET
@admin_required
def mailbox_message(request: HttpRequest, pk: int) -> HttpResponse:
    message = get_object_or_404(MailboxMessage, pk=pk)
    return render(
        request,
        "control/mailbox_message.html",
        {"message": message, "attachments": attachments_of(message)},
    )


@require_GET
@admin_required
@xframe_options_sameorigin
def mailbox_html(request: HttpRequest, pk: int) -> HttpResponse:
    """The email's HTML version, for the sandboxed frame of its page."""
    message = get_object_or_404(MailboxMessage.objects.only("body_html"), pk=pk)
    if not message.body_html:
        raise Http404
    response = HttpResponse(message.body_html, content_type="text/html; charset=utf-8")
    response["Content-Security-Policy"] = HTML_POLICY
    response["X-Content-Type-Options"] = "nosniff"
    response["Referrer-Policy"] = "no-referrer"
    return response


@require_GET
@admin_required
def mailbox_attachment(request: HttpRequest, pk: int, index: int) -> HttpResponse:
    """One attachment, downloaded (never shown inline)."""
    message = get_object_or_404(MailboxMessage, pk=pk)
    parts = _parts(message)
    if index >= len(parts):
        raise Http404
    part = parts[index]
    payload = part.get_payload(decode=True)
    response = HttpResponse(
        payload if isinstance(payload, bytes) else b"", content_type="application/octet-stream"
    )
    disposition = content_disposition_header(True, part.get_filename() or f"attachment-{index + 1}")
    response["Content-Disposition"] = disposition or "attachment"
    response["X-Content-Type-Options"] = "nosniff"
    return response
