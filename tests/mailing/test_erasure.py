"""Erasing a registrant erases them from the session's emails too."""

from __future__ import annotations

import pytest

from antenne.mailing import campaigns
from antenne.mailing.models import Campaign, CampaignRecipient
from antenne.outbox.models import OutgoingEmail
from antenne.registrations import services as registrations
from tests.factories import RegistrationFactory, SessionFactory

pytestmark = pytest.mark.django_db


def test_erasing_a_registrant_scrubs_their_emails_and_withholds_what_has_not_gone(animator):
    session = SessionFactory(animators=[animator])
    keep = RegistrationFactory(session=session, email="keep@public.example")
    gone = RegistrationFactory(session=session, email="Gone@Public.example", first_name="Zoé")
    registrations.send_confirmation(keep)
    registrations.send_confirmation(gone)
    OutgoingEmail.objects.filter(to="Gone@Public.example").update(state="sent")
    registrations.send_confirmation(gone)  # a second one, still pending
    campaign = campaigns.create_campaign(actor=animator, session=session, audience="registered")
    campaigns.approve(actor=animator, campaign=campaign, expected_count=2)

    registrations.erase_registration(actor=animator, registration=gone)

    assert not OutgoingEmail.objects.filter(to__iexact="gone@public.example").exists()
    assert not OutgoingEmail.objects.filter(body_text__contains="Zoé").exists()
    scrubbed = OutgoingEmail.objects.filter(session=session, to="")
    assert sorted(scrubbed.values_list("state", flat=True)) == ["sent", "withheld"]
    assert OutgoingEmail.objects.filter(to="keep@public.example").count() == 1
    recipients = CampaignRecipient.objects.filter(campaign=campaign).order_by("email")
    assert list(recipients.values_list("email", flat=True)) == ["", "keep@public.example"]
    assert Campaign.objects.get(pk=campaign.pk).recipient_count == 2
