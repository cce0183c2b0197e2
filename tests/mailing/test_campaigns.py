"""Messages to many registrants of a session (follow-ups, manual messages) through a real SMTP
server: who gets them, what each person sees, and the guardrails before anything goes (content
check, approval that freezes the recipients, second approver, canary batch, Stop)."""

from __future__ import annotations

import inspect
from datetime import timedelta

import pytest
from django.utils import timezone

from antenne.core import actions
from antenne.core.exceptions import Conflict, Invalid, PermissionDenied, RateLimited
from antenne.core.models import AuditEntry
from antenne.core.permissions import Role
from antenne.events.models import Session
from antenne.mailing import campaign_sending, campaigns, followups, texts, unsubscribe
from antenne.mailing.content_check import DATE, OTHER_EVENT
from antenne.mailing.models import Campaign, CampaignRecipient
from antenne.outbox.kinds import FOLLOWUP_ATTENDEES
from antenne.outbox.models import OutgoingEmail
from antenne.registrations import services as registrations
from antenne.rooms.models import Presence
from tests.factories import EventFactory, RegistrationFactory, SessionFactory, UserFactory
from tests.helpers import drain_tasks, links_in

pytestmark = pytest.mark.django_db(transaction=True)

REPLAY = "https://video.example/replay/budget-2027"


@pytest.fixture
def session(animator):
    """A session that is over: it ran from three hours ago to two hours ago."""
    event = EventFactory(owner=animator, published=True, title="Budget 2027")
    now = timezone.now()
    return SessionFactory(
        event=event,
        starts_at=now - timedelta(hours=3),
        state=Session.State.ENDED,
        started_at=now - timedelta(hours=3),
        ended_at=now - timedelta(hours=2),
        replay_url=REPLAY,
    )


@pytest.fixture
def people(session, animator):
    """Five registrants; Alix, Béa and Chloé came (Alix twice, from two devices), Dan and Eve
    did not. The animator's presence and an anonymous phone caller's are no registrant's."""
    names = ["Alix", "Béa", "Chloé", "Dan", "Eve"]
    people = [
        RegistrationFactory(session=session, email=f"{ascii_name}@public.example", first_name=name)
        for name, ascii_name in zip(names, ["alix", "bea", "chloe", "dan", "eve"], strict=True)
    ]
    joined = session.starts_at + timedelta(minutes=2)
    for person in people[:3]:
        Presence.objects.create(session=session, registration=person, joined_at=joined)
    Presence.objects.create(
        session=session,
        registration=people[0],
        device=Presence.Device.MOBILE,
        joined_at=joined + timedelta(minutes=20),
    )
    Presence.objects.create(
        session=session, user=animator, role=Presence.Role.STAFF, joined_at=joined
    )
    Presence.objects.create(session=session, device=Presence.Device.PHONE, joined_at=joined)
    return people


@pytest.fixture
def co_animator(session):
    user = UserFactory(role=Role.ANIMATOR, email="co@service.example")
    session.animators.add(user)
    return user


@pytest.fixture
def outsider(db):
    """An animator of another session."""
    other = SessionFactory(event=EventFactory(title="Santé numérique"))
    user = UserFactory(role=Role.ANIMATOR, email="autre@service.example")
    other.animators.set([user])
    return user


def followup(actor, session, audience=Campaign.Audience.ATTENDEES):
    return campaigns.create_campaign(
        actor=actor, session=session, audience=audience, is_followup=True
    )


def message(actor, session, body="Bonjour {first_name},\n\nLes supports sont en ligne."):
    """A manual message to every registrant, the same text in both languages."""
    campaign = campaigns.create_campaign(
        actor=actor, session=session, audience=Campaign.Audience.REGISTERED
    )
    part = {"subject": "{event_title} : les supports", "body": body}
    campaigns.update_content(actor=actor, campaign=campaign, content={"fr": part, "en": part})
    campaign.refresh_from_db()
    return campaign


def everything(message) -> str:
    """Headers and decoded parts of a received message."""
    html = message.get_body(preferencelist=("html",))
    parts = [message.as_string(), message.get_body(preferencelist=("plain",)).get_content()]
    return "\n".join([*parts, html.get_content() if html else ""])


def subject(message) -> str:
    """The subject as a mail client shows it (header folding undone)."""
    return " ".join(str(message["Subject"]).split())


def envelopes(sink) -> list[str]:
    assert all(len(rcpt) == 1 for rcpt in sink.envelopes), sink.envelopes
    return sorted(rcpt[0] for rcpt in sink.envelopes)


def audit(action, campaign) -> list[AuditEntry]:
    return list(
        AuditEntry.objects.filter(action=action, object_type="mailing.campaign").filter(
            object_id=str(campaign.pk)
        )
    )


# --- Who gets what ------------------------------------------------------------------------


def test_a_followup_to_attendees_reaches_exactly_them_each_with_their_own_link(
    smtp_server, animator, session, people
):
    campaign = followup(animator, session)
    assert campaigns.unconfirmed_flags(campaign) == []

    campaign = campaigns.approve(actor=animator, campaign=campaign, expected_count=3)
    assert campaign.state == Campaign.State.SCHEDULED
    assert "3" in campaign.segment
    assert "Budget 2027" in campaign.segment
    drain_tasks()

    attendees = people[:3]
    assert envelopes(smtp_server) == sorted(p.email for p in attendees)
    for person in attendees:
        (received,) = smtp_server.to(person.email)
        content = everything(received)
        text = smtp_server.text(received)
        assert f"Bonjour {person.first_name}," in text
        assert REPLAY in text
        assert subject(received) == "Merci d'avoir participé à « Budget 2027 »"
        for other in people:
            if other != person:
                assert other.email not in content
                assert other.join_key not in content
        token = received["List-Unsubscribe"].strip("<>").split("/u/")[1].strip("/")
        assert unsubscribe.registration_for_unsubscribe(token=token) == person
    campaign.refresh_from_db()
    assert campaign.state == Campaign.State.SENT
    assert set(campaign.recipients.values_list("state", flat=True)) == {"queued"}
    assert len(audit(actions.CAMPAIGN_APPROVED, campaign)) == 1
    (sent,) = audit(actions.CAMPAIGN_SENT, campaign)
    assert sent.data == {"queued": 3}


def test_a_message_carries_the_recipients_own_join_link_in_text_and_html(
    smtp_server, animator, session, people
):
    campaign = message(animator, session, body="Bonjour {first_name},\n\nVotre lien : {join_url}")
    campaigns.approve(actor=animator, campaign=campaign, expected_count=5)
    drain_tasks()

    assert envelopes(smtp_server) == sorted(p.email for p in people)
    for person in people:
        (received,) = smtp_server.to(person.email)
        own = registrations.join_url(person)
        assert [u for u in links_in(smtp_server.text(received)) if "/join/" in u] == [own]
        html = received.get_body(preferencelist=("html",)).get_content()
        assert f'<a href="{own}">' in html
        assert subject(received) == "Budget 2027 : les supports"


def test_a_followup_to_noshows_reaches_the_others_with_the_noshow_text(
    smtp_server, animator, session, people
):
    campaign = followup(animator, session, Campaign.Audience.NOSHOWS)

    campaigns.approve(actor=animator, campaign=campaign, expected_count=2)
    drain_tasks()

    assert envelopes(smtp_server) == ["dan@public.example", "eve@public.example"]
    for received in smtp_server.messages:
        assert subject(received) == "Vous avez manqué « Budget 2027 » ? Voici le replay"
        assert REPLAY in smtp_server.text(received)


def test_people_who_unsubscribed_before_the_approval_are_not_counted(
    smtp_server, animator, session, people
):
    unsubscribe.unsubscribe(registration=people[3])

    campaign = campaigns.approve(
        actor=animator, campaign=message(animator, session), expected_count=4
    )
    drain_tasks()

    assert people[3].email not in campaign.recipients.values_list("email", flat=True)
    assert envelopes(smtp_server) == sorted(p.email for p in people if p != people[3])


def test_the_list_is_frozen_at_approval_and_checked_again_before_each_person(
    smtp_server, animator, session, people
):
    alix, bea, chloe = people[:3]
    campaign = campaigns.approve(
        actor=animator, campaign=followup(animator, session), expected_count=3
    )
    # After the approval, before the worker runs: Béa unsubscribes, Chloé is erased, and a
    # late attendee shows up (not in the approved list).
    unsubscribe.unsubscribe(registration=bea)
    registrations.erase_registration(actor=animator, registration=chloe)
    late = RegistrationFactory(session=session, email="late@public.example")
    Presence.objects.create(session=session, registration=late, joined_at=timezone.now())

    drain_tasks()

    assert envelopes(smtp_server) == [alix.email]
    recipients = {r.email: (r.state, r.reason) for r in campaign.recipients.all()}
    assert recipients == {
        alix.email: ("queued", ""),
        bea.email: ("withheld", campaign_sending.UNSUBSCRIBED),
        "": ("withheld", campaign_sending.ERASED),  # erasing scrubs the address too
    }
    assert not OutgoingEmail.objects.filter(to__in=[bea.email, chloe.email, late.email]).exists()
    campaign.refresh_from_db()
    assert campaign.state == Campaign.State.SENT
    (sent,) = audit(actions.CAMPAIGN_SENT, campaign)
    assert sent.data == {"queued": 1, "withheld": 2}


# --- Canary batch and Stop ------------------------------------------------------------------


@pytest.fixture
def canary(settings):
    settings.CAMPAIGN_CANARY_SIZE = 2
    settings.CAMPAIGN_CANARY_PAUSE = 300
    return settings


def test_the_canary_batch_goes_first_and_the_rest_only_after_the_pause(
    canary, smtp_server, animator, session, people
):
    campaign = message(animator, session)
    campaigns.approve(actor=animator, campaign=campaign, expected_count=5)

    drain_tasks()  # the approval's task: the first batch, then a pause

    campaign.refresh_from_db()
    assert campaign.state == Campaign.State.CANARY
    assert envelopes(smtp_server) == ["alix@public.example", "bea@public.example"]
    assert len(audit(actions.CAMPAIGN_CANARY_SENT, campaign)) == 1
    resume_at = campaign.canary_sent_at + timedelta(seconds=300)

    just_before = resume_at - timedelta(seconds=1)
    assert campaign_sending.run_campaign(campaign_id=campaign.pk, now=just_before) == "canary"
    assert campaign_sending.resume_due_campaigns(now=just_before) == 0
    drain_tasks()
    assert len(smtp_server.messages) == 2

    assert campaign_sending.run_campaign(campaign_id=campaign.pk, now=resume_at) == "sent"
    # Running again (a second worker, the sweeper, the pause's own task) writes nothing twice.
    assert campaign_sending.run_campaign(campaign_id=campaign.pk, now=resume_at) == "sent"
    campaign_sending.resume_due_campaigns(now=resume_at + timedelta(hours=1))
    drain_tasks()

    assert envelopes(smtp_server) == sorted(p.email for p in people)
    assert OutgoingEmail.objects.filter(campaign=campaign).count() == 5
    assert len(audit(actions.CAMPAIGN_SENT, campaign)) == 1


@pytest.mark.parametrize("canary_delivered", [True, False], ids=["delivered", "still-queued"])
def test_stop_during_the_canary_pause_withholds_everything_not_gone(
    canary, smtp_server, animator, session, people, canary_delivered
):
    campaign = message(animator, session)
    campaigns.approve(actor=animator, campaign=campaign, expected_count=5)
    now = timezone.now()
    assert campaign_sending.run_campaign(campaign_id=campaign.pk, now=now) == "canary"
    if canary_delivered:
        drain_tasks()
    delivered = len(smtp_server.messages)
    assert delivered == (2 if canary_delivered else 0)

    counts = campaign_sending.stop(actor=animator, campaign=campaign)

    assert counts == {"recipients_withheld": 3, "emails_withheld": 0 if canary_delivered else 2}
    later = now + timedelta(hours=1)
    assert campaign_sending.run_campaign(campaign_id=campaign.pk, now=later) == "stopped"
    campaign_sending.resume_due_campaigns(now=later)
    drain_tasks()
    assert len(smtp_server.messages) == delivered
    campaign.refresh_from_db()
    assert (campaign.state, campaign.stopped_by) == (Campaign.State.STOPPED, animator)
    stopped = campaign.recipients.filter(state="withheld", reason=campaign_sending.STOPPED)
    assert stopped.count() == 3
    pending = OutgoingEmail.objects.filter(campaign=campaign).exclude(state="sent")
    assert set(pending.values_list("state", "last_error")) == (
        set() if canary_delivered else {("withheld", "stopped")}
    )
    (entry,) = audit(actions.CAMPAIGN_STOPPED, campaign)
    assert entry.actor == animator
    with pytest.raises(Conflict) as refused:
        campaign_sending.stop(actor=animator, campaign=campaign)
    assert refused.value.code == "campaign.not_stoppable"


# --- Guardrails before approval ---------------------------------------------------------------


def test_an_unconfirmed_content_flag_blocks_approval_until_confirmed(
    smtp_server, animator, session, people
):
    EventFactory(title="Santé numérique")
    campaign = message(animator, session, body="Merci d'avoir suivi Santé numérique !")
    # Both languages carry the same text: one flag each.
    flags = campaigns.unconfirmed_flags(campaign)
    assert [(f.language, f.kind, f.match) for f in flags] == [
        ("en", OTHER_EVENT, "Santé numérique"),
        ("fr", OTHER_EVENT, "Santé numérique"),
    ]

    with pytest.raises(Conflict) as refused:
        campaigns.approve(actor=animator, campaign=campaign, expected_count=5)

    assert refused.value.code == "campaign.unconfirmed_flags"
    campaign.refresh_from_db()
    assert (campaign.state, campaign.recipients.count()) == (Campaign.State.DRAFT, 0)

    for found in flags:
        campaigns.confirm_flag(actor=animator, campaign=campaign, flag_id=found.id)
    campaigns.approve(actor=animator, campaign=campaign, expected_count=5)
    drain_tasks()
    assert len(smtp_server.messages) == 5
    confirmed = AuditEntry.objects.filter(action=actions.CAMPAIGN_FLAG_CONFIRMED)
    assert confirmed.count() == 2


def test_editing_the_text_drops_confirmations_of_flags_it_no_longer_raises(
    animator, session, people
):
    EventFactory(title="Santé numérique")
    body = "Après Santé numérique le 3 novembre, voici les supports."
    campaign = message(animator, session, body=body)
    for flag in campaigns.flags_of(campaign):
        campaigns.confirm_flag(actor=animator, campaign=campaign, flag_id=flag.id)
    assert campaigns.unconfirmed_flags(campaign) == []
    date_flags = {f.id for f in campaigns.flags_of(campaign) if f.kind == DATE}

    part = {"subject": "Les supports", "body": "Le 3 novembre, voici les supports."}
    campaigns.update_content(actor=animator, campaign=campaign, content={"fr": part, "en": part})
    campaign.refresh_from_db()
    assert set(campaign.confirmed_flags) == date_flags  # the title's confirmations are gone

    # Writing the other title again asks again.
    part = {"subject": "Les supports", "body": body}
    campaigns.update_content(actor=animator, campaign=campaign, content={"fr": part, "en": part})
    campaign.refresh_from_db()
    assert {f.kind for f in campaigns.unconfirmed_flags(campaign)} == {OTHER_EVENT}
    with pytest.raises(Conflict) as refused:
        campaigns.approve(actor=animator, campaign=campaign, expected_count=5)
    assert refused.value.code == "campaign.unconfirmed_flags"


def test_unknown_placeholders_are_refused_in_a_message(animator, session, people):
    campaign = message(animator, session)
    part = {"subject": "Les supports", "body": "Bonjour {prenom},"}

    with pytest.raises(Invalid) as refused:
        campaigns.update_content(
            actor=animator, campaign=campaign, content={"fr": part, "en": part}
        )

    assert refused.value.code == "template.unknown_placeholder"
    campaign.refresh_from_db()
    assert "{prenom}" not in campaign.content["fr"]["body"]


def test_approval_with_a_stale_count_is_refused_and_freezes_nothing(animator, session, people):
    campaign = message(animator, session)
    RegistrationFactory(session=session, email="nouvelle@public.example")

    with pytest.raises(Conflict) as refused:
        campaigns.approve(actor=animator, campaign=campaign, expected_count=5)

    assert refused.value.code == "campaign.count_changed"
    assert refused.value.data == {"count": 6}
    campaign.refresh_from_db()
    assert campaign.state == Campaign.State.DRAFT
    assert (campaign.recipient_count, campaign.approved_at) == (0, None)
    assert not CampaignRecipient.objects.exists()
    assert not campaign.approvals.exists()
    assert audit(actions.CAMPAIGN_APPROVED, campaign) == []


@pytest.mark.parametrize(
    ("state", "started_ago"),
    [
        (Session.State.LIVE, timedelta(minutes=30)),
        (Session.State.LIVE, timedelta(minutes=90)),  # running over its planned hour
        (Session.State.GREEN_ROOM, timedelta(minutes=75)),
        (Session.State.SCHEDULED, -timedelta(days=1)),
    ],
    ids=["live", "live-overrunning", "green-room-late", "tomorrow"],
)
def test_a_followup_cannot_be_approved_before_the_session_is_over(
    animator, people, state, started_ago
):
    event = EventFactory(owner=animator, title="Open data 2027")
    running = SessionFactory(
        event=event,
        starts_at=timezone.now() - started_ago,
        duration_minutes=60,
        state=state,
        replay_url=REPLAY,
    )
    attendee = RegistrationFactory(session=running)
    Presence.objects.create(session=running, registration=attendee, joined_at=timezone.now())
    campaign = followup(animator, running)

    with pytest.raises(Conflict) as refused:
        campaigns.approve(actor=animator, campaign=campaign, expected_count=1)

    assert refused.value.code == "campaign.session_not_over"
    campaign.refresh_from_db()
    assert (campaign.state, campaign.recipients.count()) == (Campaign.State.DRAFT, 0)


@pytest.mark.parametrize("second", ["co_animator", "admin"])
def test_above_the_threshold_a_second_different_person_must_approve(
    settings, smtp_server, animator, session, people, second, request
):
    settings.SECOND_APPROVAL_THRESHOLD = 4
    campaign = message(animator, session)

    campaign = campaigns.approve(actor=animator, campaign=campaign, expected_count=5)
    drain_tasks()

    assert campaign.state == Campaign.State.AWAITING_SECOND_APPROVAL
    assert campaign.recipients.count() == 5  # frozen by the first approval
    assert smtp_server.messages == []
    assert not OutgoingEmail.objects.exists()
    assert campaign_sending.run_campaign(campaign_id=campaign.pk) == "second"
    with pytest.raises(Conflict) as refused:
        campaigns.approve(actor=animator, campaign=campaign, expected_count=5)
    assert refused.value.code == "campaign.same_approver"
    drain_tasks()
    assert smtp_server.messages == []

    approver = request.getfixturevalue(second)
    campaign = campaigns.approve(actor=approver, campaign=campaign, expected_count=5)
    drain_tasks()

    assert campaign.state == Campaign.State.SCHEDULED
    assert envelopes(smtp_server) == sorted(p.email for p in people)
    approvals = audit(actions.CAMPAIGN_APPROVED, campaign)
    assert sorted(entry.actor.email for entry in approvals) == sorted(
        [animator.email, approver.email]
    )
    assert set(campaign.approvals.values_list("user", flat=True)) == {animator.pk, approver.pk}


def test_at_the_threshold_one_approval_is_enough(settings, smtp_server, animator, session, people):
    settings.SECOND_APPROVAL_THRESHOLD = 5

    campaigns.approve(actor=animator, campaign=message(animator, session), expected_count=5)
    drain_tasks()

    assert len(smtp_server.messages) == 5


def test_withdrawing_the_approval_returns_to_draft_and_unfreezes(
    smtp_server, animator, session, people
):
    campaign = campaigns.approve(
        actor=animator, campaign=message(animator, session), expected_count=5
    )

    campaign = campaigns.withdraw_approval(actor=animator, campaign=campaign)
    drain_tasks()  # the approval's task finds a draft and does nothing

    assert campaign.state == Campaign.State.DRAFT
    assert (campaign.recipient_count, campaign.send_after) == (0, None)
    assert not campaign.recipients.exists()
    assert not campaign.approvals.exists()
    assert smtp_server.messages == []
    assert len(audit(actions.CAMPAIGN_APPROVAL_WITHDRAWN, campaign)) == 1
    # The text can change again, and the next approval freezes today's list.
    part = {"subject": "Les supports", "body": "Bonjour {first_name}, voici les supports."}
    campaigns.update_content(actor=animator, campaign=campaign, content={"fr": part, "en": part})
    RegistrationFactory(session=session, email="nouvelle@public.example")
    campaigns.approve(actor=animator, campaign=campaign, expected_count=6)
    drain_tasks()
    assert len(smtp_server.messages) == 6
    assert "voici les supports" in smtp_server.text(smtp_server.messages[0])


def test_an_approved_message_cannot_be_edited_nor_withdrawn_once_sending(
    canary, animator, session, people
):
    campaign = campaigns.approve(
        actor=animator, campaign=message(animator, session), expected_count=5
    )
    part = {"subject": "Autre", "body": "Autre texte"}
    with pytest.raises(Conflict) as refused:
        campaigns.update_content(
            actor=animator, campaign=campaign, content={"fr": part, "en": part}
        )
    assert refused.value.code == "campaign.not_draft"

    campaign_sending.run_campaign(campaign_id=campaign.pk)
    with pytest.raises(Conflict) as refused:
        campaigns.withdraw_approval(actor=animator, campaign=campaign)
    assert refused.value.code == "campaign.not_withdrawable"
    campaign.refresh_from_db()
    assert campaign.state == Campaign.State.CANARY


# --- Preview and test send ------------------------------------------------------------------


def test_preview_shows_a_real_recipient_in_each_language(animator, session):
    french = RegistrationFactory(session=session, email="fr@public.example", first_name="Léa")
    english = RegistrationFactory(
        session=session, email="en@public.example", first_name="Jane", language="en"
    )
    for person in (french, english):
        Presence.objects.create(session=session, registration=person, joined_at=timezone.now())
    campaign = followup(animator, session)

    assert campaigns.languages_of(campaign) == ["fr", "en"]
    who, shown = campaigns.preview(campaign, "fr")
    assert who == french
    assert shown["subject"] == "Merci d'avoir participé à « Budget 2027 »"
    assert shown["text"].startswith("Bonjour Léa,")
    assert REPLAY in shown["text"]
    who, shown = campaigns.preview(campaign, "en")
    assert who == english
    assert shown["subject"] == "Thank you for attending “Budget 2027”"
    assert shown["text"].startswith("Hello Jane,")
    assert 'lang="en"' in shown["html"]

    # Once approved, the preview reads the frozen list.
    campaign = campaigns.approve(actor=animator, campaign=campaign, expected_count=2)
    registrations.erase_registration(actor=animator, registration=english)
    assert campaigns.preview(campaign, "en") == (None, {})
    assert campaigns.preview(campaign, "fr")[0] == french


def test_preview_in_a_language_nobody_reads_shows_nobody(animator, session, people):
    campaign = followup(animator, session)

    assert campaigns.languages_of(campaign) == ["fr"]
    assert campaigns.preview(campaign, "en") == (None, {})


def test_a_test_send_goes_to_the_actor_only_with_no_registrant_data(
    smtp_server, animator, session, people
):
    campaign = message(animator, session, body="Bonjour {first_name} {last_name}, {join_url}")

    campaigns.send_test(actor=animator, campaign=campaign)
    drain_tasks()

    assert smtp_server.envelopes == [[animator.email], [animator.email]]  # fr and en
    for received in smtp_server.messages:
        content = everything(received)
        assert "Budget 2027" in subject(received)
        assert "exemple-de-lien-personnel" in content
        for person in people:
            assert person.email not in content
            assert person.join_key not in content
            assert person.last_name not in content
    assert {e.kind for e in OutgoingEmail.objects.all()} == {"campaign_test"}
    campaign.refresh_from_db()
    assert campaign.state == Campaign.State.DRAFT
    (entry,) = audit(actions.CAMPAIGN_TEST_SENT, campaign)
    assert entry.data == {"to": animator.email}


def test_test_sends_are_rate_limited_per_person(animator, co_animator, session, people):
    campaign = message(animator, session)
    limit, _window = campaigns.TEST_SEND_RATE
    for _ in range(limit):
        campaigns.send_test(actor=animator, campaign=campaign)

    with pytest.raises(RateLimited) as refused:
        campaigns.send_test(actor=animator, campaign=campaign)

    assert refused.value.code == "campaign.test_rate_limited"
    assert OutgoingEmail.objects.filter(to=animator.email).count() == 2 * limit
    campaigns.send_test(actor=co_animator, campaign=campaign)  # another person's own budget
    assert OutgoingEmail.objects.filter(to=co_animator.email).count() == 2


# --- Who may do what ------------------------------------------------------------------------

SERVICES = {
    "campaigns.create_campaign": lambda actor, c: campaigns.create_campaign(
        actor=actor, session=c.session, audience="registered"
    ),
    "campaigns.update_content": lambda actor, c: campaigns.update_content(
        actor=actor, campaign=c, content=c.content
    ),
    "campaigns.confirm_flag": lambda actor, c: campaigns.confirm_flag(
        actor=actor, campaign=c, flag_id=campaigns.flags_of(c)[0].id
    ),
    "campaigns.delete_campaign": lambda actor, c: campaigns.delete_campaign(
        actor=actor, campaign=c
    ),
    "campaigns.send_test": lambda actor, c: campaigns.send_test(actor=actor, campaign=c),
    "campaigns.approve": lambda actor, c: campaigns.approve(
        actor=actor, campaign=c, expected_count=5
    ),
    "campaigns.withdraw_approval": lambda actor, c: campaigns.withdraw_approval(
        actor=actor, campaign=c
    ),
    "campaigns.access_campaign": lambda actor, c: campaigns.access_campaign(actor=actor, pk=c.pk),
    "campaign_sending.stop": lambda actor, c: campaign_sending.stop(actor=actor, campaign=c),
    "texts.save_text": lambda actor, c: texts.save_text(
        actor=actor,
        session=c.session,
        kind=FOLLOWUP_ATTENDEES,
        language="fr",
        subject="Piégé",
        body="Piégé {first_name}",
    ),
    "followups.change_rule": lambda actor, c: followups.change_rule(
        actor=actor, session=c.session, audience="noshows", enabled=True, delay_minutes=0
    ),
    "followups.set_replay_url": lambda actor, c: followups.set_replay_url(
        actor=actor, session=c.session, url="https://evil.example/"
    ),
}


def test_every_service_taking_an_actor_is_in_the_permission_list():
    found = {
        f"{module.__name__.rsplit('.', 1)[1]}.{name}"
        for module in (campaigns, campaign_sending, followups, texts)
        for name, function in inspect.getmembers(module, inspect.isfunction)
        if function.__module__ == module.__name__
        and not name.startswith("_")
        and "actor" in inspect.signature(function).parameters
    }
    assert found == set(SERVICES)


@pytest.mark.parametrize("who", ["outsider", "member"])
@pytest.mark.parametrize("service", sorted(SERVICES))
def test_people_who_do_not_run_the_session_can_do_nothing(
    animator, session, people, service, who, request
):
    EventFactory(title="Santé numérique")
    campaign = message(animator, session, body="Après Santé numérique, voici les supports.")
    if service in ("campaigns.withdraw_approval", "campaign_sending.stop"):
        for flag in campaigns.flags_of(campaign):
            campaigns.confirm_flag(actor=animator, campaign=campaign, flag_id=flag.id)
        campaigns.approve(actor=animator, campaign=campaign, expected_count=5)
    campaign.refresh_from_db()
    before = (campaign.state, campaign.content, campaign.confirmed_flags)
    actor = request.getfixturevalue(who)

    with pytest.raises(PermissionDenied):
        SERVICES[service](actor, campaign)

    campaign.refresh_from_db()
    assert (campaign.state, campaign.content, campaign.confirmed_flags) == before
    assert Campaign.objects.count() == 1
    assert not OutgoingEmail.objects.exists()
    session.refresh_from_db()
    assert session.replay_url == REPLAY
    assert not AuditEntry.objects.filter(actor=actor).exists()
    assert texts.session_text(session, FOLLOWUP_ATTENDEES, "fr").subject != "Piégé"
