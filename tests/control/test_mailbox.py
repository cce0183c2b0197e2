"""The local mailbox (admins): an email is read as its recipient sees it — the HTML version
in a sandboxed frame served alone under a strict CSP — with its text version and its
attachments (the calendar file) to download."""

from __future__ import annotations

import pytest
from django.conf import settings

from antenne.outbox.models import MailboxMessage
from antenne.registrations import services
from tests.conftest import client_for
from tests.factories import EventFactory, SessionFactory
from tests.helpers import drain_tasks

pytestmark = pytest.mark.django_db(transaction=True)


def test_an_email_shows_its_html_in_a_sandbox_and_its_calendar_file(admin):
    session = SessionFactory(event=EventFactory(published=True, title="Données <b>ouvertes</b>"))
    services.register(
        session=session, email="ines@x.example", first_name="Inès", last_name="M", consent=True
    )
    drain_tasks()
    message = MailboxMessage.objects.get(to="ines@x.example")
    assert message.body_html
    client = client_for(admin)
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "en"
    page = client.get(f"/app/mailbox/{message.pk}/").content.decode()
    # The HTML is never in our page: a sandboxed frame loads it from its own address.
    assert message.body_html not in page
    assert (
        f'<iframe class="antenne-mail-frame fr-mb-4w" src="/app/mailbox/{message.pk}/html/"' in page
    )
    assert 'sandbox="allow-popups allow-popups-to-escape-sandbox"' in page
    assert "Données &lt;b&gt;ouvertes&lt;/b&gt;" in page  # the subject, escaped
    html = client.get(f"/app/mailbox/{message.pk}/html/")
    assert html.content.decode() == message.body_html
    policy = html["Content-Security-Policy"]
    assert "default-src 'none'" in policy
    assert "sandbox" in policy
    assert "script-src" not in policy
    assert html["X-Frame-Options"] == "SAMEORIGIN"
    # The calendar file is listed and downloads as a file.
    assert "Attachments" in page
    assert f'href="/app/mailbox/{message.pk}/attachments/0/" download>' in page
    ics = client.get(f"/app/mailbox/{message.pk}/attachments/0/")
    assert ics["Content-Disposition"].startswith("attachment;")
    assert ".ics" in ics["Content-Disposition"]
    assert b"BEGIN:VCALENDAR" in ics.content
    assert client.get(f"/app/mailbox/{message.pk}/attachments/9/").status_code == 404
    # The text version stays, below.
    assert "Text version" in page


def test_a_text_only_email_has_no_frame(admin):
    message = MailboxMessage.objects.create(
        to="x@y.example", subject="s", body_text="Bonjour", raw="Subject: s\n\nBonjour"
    )
    client = client_for(admin)
    page = client.get(f"/app/mailbox/{message.pk}/").content.decode()
    assert "<iframe" not in page
    assert "Bonjour" in page
    assert client.get(f"/app/mailbox/{message.pk}/html/").status_code == 404
