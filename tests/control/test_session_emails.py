"""The back-office pages of a session's emails: texts, follow-up settings, messages to
registrants with their guardrails, and delivery status, driven as an animator would."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.conf import settings
from django.utils import timezone

from antenne.core.models import AuditEntry
from antenne.mailing import campaigns
from antenne.mailing.models import Campaign, MessageTemplate
from antenne.outbox.models import OutgoingEmail
from antenne.rooms.models import Presence
from tests.conftest import client_for
from tests.factories import EventFactory, RegistrationFactory, SessionFactory
from tests.helpers import drain_tasks

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def past_session(animator):
    event = EventFactory(owner=animator, title="Budget 2027")
    return SessionFactory(
        event=event, starts_at=timezone.now() - timedelta(hours=3), animators=[animator]
    )


def _english(user):
    client = client_for(user)
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "en"  # the assertions read English pages
    return client


def _content(subject: str, body: str) -> dict[str, str]:
    return {
        f"{language}-{field}": value
        for language in ("fr", "en")
        for field, value in (("subject", subject), ("body", body))
    }


def test_session_text_refuses_unknown_placeholder_and_keeps_input(animator, past_session):
    client = _english(animator)
    url = f"/app/sessions/{past_session.pk}/texts/reminder/fr/"
    page = client.get(url)
    assert page.status_code == 200
    assert "{join_url}" in page.content.decode()  # listed with the placeholders
    response = client.post(url, {"subject": "Rappel", "body": "Bonjour {prenom} {join_url}"})
    assert response.status_code == 200
    html = response.content.decode()
    assert "{prenom}" in html  # named in the error and kept in the text area
    assert not MessageTemplate.objects.filter(session=past_session, body__contains="{prenom}")
    response = client.post(url, {"subject": "Rappel", "body": "Bonjour {first_name}"})
    assert "{join_url}" in response.content.decode()  # a reminder needs the join link
    response = client.post(url, {"subject": "Rappel !", "body": "Bonjour {first_name} {join_url}"})
    assert response.status_code == 302
    saved = MessageTemplate.objects.get(session=past_session, kind="reminder", language="fr")
    assert saved.subject == "Rappel !"


def test_workspace_texts_are_admins_only_and_apply_to_new_sessions(admin, animator):
    url = "/app/email-texts/followup_attendees/fr/"
    assert client_for(animator).get(url).status_code == 403
    response = client_for(admin).post(url, {"subject": "Merci !", "body": "Merci {first_name}"})
    assert response.status_code == 302
    default = MessageTemplate.objects.get(session=None, kind="followup_attendees", language="fr")
    assert default.body == "Merci {first_name}"


def test_message_flow_from_draft_to_stop(animator, past_session, smtp_server, settings):
    settings.CAMPAIGN_CANARY_SIZE = 1
    settings.CAMPAIGN_CANARY_PAUSE = 3600
    people = [RegistrationFactory(session=past_session) for _ in range(3)]
    other = EventFactory(title="Santé numérique")
    client = _english(animator)

    response = client.post(
        f"/app/sessions/{past_session.pk}/messages/new/", {"audience": "registered"}
    )
    campaign = Campaign.objects.get(session=past_session)
    assert response["Location"] == f"/app/messages/{campaign.pk}/"

    # A text copied from another webinar: flagged, approval not offered.
    body = "Bonjour {first_name}, merci pour Santé numérique. {join_url}"
    client.post(f"/app/messages/{campaign.pk}/", _content("Suite", body))
    page = client.get(f"/app/messages/{campaign.pk}/").content.decode()
    assert "Santé numérique" in page
    assert "Confirm each warning" in page
    assert f"/app/messages/{campaign.pk}/approve/" not in page
    # The preview is a real recipient's message, with their own link.
    first = min(people, key=lambda p: p.pk)
    assert first.email in page
    assert first.join_key in page
    refused = client.post(
        f"/app/messages/{campaign.pk}/approve/", {"expected_count": 3, "understood": "on"}
    )
    assert refused.status_code == 302
    campaign.refresh_from_db()
    assert campaign.state == "draft"
    assert not campaign.recipients.exists()

    flag_ids = [flag.id for flag in campaigns.flags_of(campaign)]
    for flag_id in flag_ids:
        client.post(f"/app/messages/{campaign.pk}/confirm/", {"flag": flag_id})
    client.post(f"/app/messages/{campaign.pk}/test/")
    page = client.get(f"/app/messages/{campaign.pk}/").content.decode()
    assert "3 registrants of “Budget 2027”" in page.replace("&#x27;", "'")

    # Approve without ticking the box: nothing happens.
    client.post(f"/app/messages/{campaign.pk}/approve/", {"expected_count": 3})
    campaign.refresh_from_db()
    assert campaign.state == "draft"
    client.post(f"/app/messages/{campaign.pk}/approve/", {"expected_count": 3, "understood": "on"})
    campaign.refresh_from_db()
    assert campaign.state == "scheduled"
    assert campaign.recipient_count == 3
    drain_tasks()
    campaign.refresh_from_db()
    assert campaign.state == "canary"
    # The test went to the animator only; the canary to one registrant.
    assert len(smtp_server.to(animator.email)) == 2  # French and English
    reached = [p for p in people if smtp_server.to(p.email)]
    assert len(reached) == 1
    page = client.get(f"/app/messages/{campaign.pk}/").content.decode()
    assert "Stop: send nothing more" in page

    client.post(f"/app/messages/{campaign.pk}/stop/")
    campaign.refresh_from_db()
    assert campaign.state == "stopped"
    drain_tasks()
    assert [p for p in people if smtp_server.to(p.email)] == reached
    assert other.title not in {e.subject for e in OutgoingEmail.objects.all()}
    codes = set(AuditEntry.objects.values_list("action", flat=True))
    assert {"mailing.campaign.approved", "mailing.campaign.stopped"} <= codes

    page = client.get(f"/app/messages/{campaign.pk}/").content.decode()
    assert page.count("stopped before their turn") == 2


def test_emails_page_shows_delivery_and_followup_settings(animator, past_session):
    attendee, absent = (
        RegistrationFactory(session=past_session),
        RegistrationFactory(session=past_session),
    )
    Presence.objects.create(
        session=past_session, registration=attendee, joined_at=past_session.starts_at
    )
    OutgoingEmail.objects.create(
        to=absent.email,
        kind="reminder",
        subject="s",
        body_text="t",
        session=past_session,
        state="failed",
        last_error="550 no such user",
    )
    client = _english(animator)
    page = client.get(f"/app/sessions/{past_session.pk}/emails/").content.decode()
    assert "reminder" in page
    assert "Follow-up to no-shows" in page
    log = client.get(f"/app/sessions/{past_session.pk}/emails/log/?state=failed").content.decode()
    assert "550 no such user" in log
    assert absent.email in log

    response = client.post(
        f"/app/sessions/{past_session.pk}/emails/followups/",
        {
            "rule-attendees-enabled": "on",
            "rule-attendees-delay_minutes": "30",
            "rule-noshows-enabled": "on",
            "rule-noshows-delay_minutes": "90",
        },
    )
    assert response.status_code == 302
    assert sorted(
        past_session.followup_rules.values_list("audience", "enabled", "delay_minutes")
    ) == [
        ("attendees", True, 30),
        ("noshows", True, 90),
    ]
    client.post(
        f"/app/sessions/{past_session.pk}/emails/replay/", {"replay_url": "http://x.example/v"}
    )
    past_session.refresh_from_db()
    assert past_session.replay_url == ""  # https only
    client.post(
        f"/app/sessions/{past_session.pk}/emails/replay/",
        {"replay_url": "https://video.example/v/1"},
    )
    past_session.refresh_from_db()
    assert past_session.replay_url == "https://video.example/v/1"

    client.post(
        f"/app/sessions/{past_session.pk}/messages/new/",
        {"audience": "noshows", "followup": "1"},
    )
    campaign = Campaign.objects.get(session=past_session)
    assert campaign.is_followup
    page = client.get(f"/app/messages/{campaign.pk}/").content.decode()
    assert "1 no-show of “Budget 2027”" in page
    assert absent.email in page
    assert attendee.email not in page
