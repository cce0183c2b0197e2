"""The `mailbox` email mode: messages go through Django's normal sending path and are kept in
the database, where admins read them in the back office."""

from __future__ import annotations

from collections.abc import Sequence

from django.core.mail.backends.base import BaseEmailBackend
from django.core.mail.message import EmailMessage, EmailMultiAlternatives

from antenne.outbox.models import MailboxMessage


class MailboxBackend(BaseEmailBackend):
    def send_messages(self, email_messages: Sequence[EmailMessage]) -> int:
        count = 0
        for message in email_messages:
            html = ""
            if isinstance(message, EmailMultiAlternatives):
                for content, mimetype in message.alternatives:
                    if mimetype == "text/html":
                        html = str(content)
            mime = message.message()
            MailboxMessage.objects.create(
                to=", ".join(message.recipients()),
                from_email=message.from_email or "",
                subject=str(message.subject),
                body_text=str(message.body),
                body_html=html,
                message_id=str(mime.get("Message-ID", "")),
                raw=mime.as_string(),
            )
            count += 1
        return count
