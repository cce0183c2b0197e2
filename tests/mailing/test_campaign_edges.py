"""Edges found in review: Stop against retries, unsubscribe against emails already written,
cancelled sessions, test sends, malformed links in a text."""

from __future__ import annotations

import smtplib
from datetime import timedelta

import pytest
from django.utils import timezone

from antenne.core.exceptions import Conflict
from antenne.events.models import Session
from antenne.mailing import campaign_sending, campaigns, unsubscribe
from antenne.mailing.models import Campaign
from antenne.outbox import services
from antenne.outbox.models import OutgoingEmail
from tests.factories import EventFactory, RegistrationFactory, SessionFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def session(animator):
    now = timezone.now()
    return SessionFactory(
        event=EventFactory(owner=animator, title="Budget 2027"),
        starts_at=now - timedelta(hours=3),
        state=Session.State.ENDED,
        ended_at=now - timedelta(hours=2),
        animators=[animator],
    )


def approved_message(animator, session, count):
    campaign = campaigns.create_campaign(actor=animator, session=session, audience="registered")
    return campaigns.approve(actor=animator, campaign=campaign, expected_count=count)


def test_a_temporary_failure_after_stop_is_withheld_not_retried(animator, session, settings):
    settings.CAMPAIGN_CANARY_SIZE = 0
    RegistrationFactory(session=session)
    campaign = approved_message(animator, session, 1)
    campaign_sending.run_campaign(campaign_id=campaign.pk)
    email = OutgoingEmail.objects.get(campaign=campaign)
    OutgoingEmail.objects.filter(pk=email.pk).update(state="sending", claimed_at=timezone.now())
    campaign_sending.stop(actor=animator, campaign=campaign)
    email.refresh_from_db()
    email.attempts = 1
    services._record_failure(email, smtplib.SMTPResponseException(421, b"busy"))
    email.refresh_from_db()
    assert (email.state, email.last_error) == ("withheld", "stopped")
    # A row left `sending` by a crashed worker of a stopped campaign is not re-queued either.
    OutgoingEmail.objects.filter(pk=email.pk).update(
        state="sending", claimed_at=timezone.now() - timedelta(hours=1)
    )
    assert services.requeue_stuck() == 0
    email.refresh_from_db()
    assert email.state == "withheld"


def test_unsubscribing_withholds_what_is_written_but_not_gone(animator, session, settings):
    settings.CAMPAIGN_CANARY_SIZE = 0
    person = RegistrationFactory(session=session)
    campaign = approved_message(animator, session, 1)
    campaign_sending.run_campaign(campaign_id=campaign.pk)
    unsubscribe.unsubscribe(registration=person)
    email = OutgoingEmail.objects.get(campaign=campaign)
    assert (email.state, email.last_error) == ("withheld", "unsubscribed")


def test_no_attendee_or_noshow_followup_for_a_cancelled_session(animator, session):
    RegistrationFactory(session=session)
    Session.objects.filter(pk=session.pk).update(state=Session.State.CANCELLED)
    session.refresh_from_db()
    campaign = campaigns.create_campaign(
        actor=animator, session=session, audience="noshows", is_followup=True
    )
    campaigns.update_content(
        actor=animator,
        campaign=campaign,
        content={
            lang: {"subject": "Désolé", "body": "Bonjour {first_name}"} for lang in ["fr", "en"]
        },
    )
    with pytest.raises(Conflict) as refused:
        campaigns.approve(actor=animator, campaign=campaign, expected_count=1)
    assert refused.value.code == "campaign.session_cancelled"


def test_test_sends_are_not_counted_as_the_campaigns_emails(animator, session):
    RegistrationFactory(session=session)
    campaign = campaigns.create_campaign(actor=animator, session=session, audience="registered")
    campaigns.send_test(actor=animator, campaign=campaign)
    assert not campaign.emails.exists()
    assert OutgoingEmail.objects.filter(kind="campaign_test", session=session).count() == 2


def test_a_malformed_link_in_a_text_is_no_server_error(animator, session):
    RegistrationFactory(session=session)
    campaign = campaigns.create_campaign(actor=animator, session=session, audience="registered")
    part = {"subject": "Liens", "body": "Voir https://[oops]/x et https://antenne.test/join/abc/"}
    campaigns.update_content(actor=animator, campaign=campaign, content={"fr": part, "en": part})
    kinds = {flag.kind for flag in campaigns.flags_of(Campaign.objects.get(pk=campaign.pk))}
    assert kinds == {"personal_link"}
