"""Follow-ups after a session: per-session rules, a draft prepared once when the session is
over and its animators told, nothing sent before an animator approves, then sent `delay` after
the end; the replay link."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from antenne.core import actions
from antenne.core.exceptions import Conflict, Invalid
from antenne.core.models import AuditEntry
from antenne.core.permissions import Role
from antenne.events import services as events
from antenne.events.models import Session
from antenne.mailing import campaign_sending, campaigns, followups, texts
from antenne.mailing.content_check import MISSING_REPLAY
from antenne.mailing.models import Campaign, FollowUpRule
from antenne.outbox.kinds import FOLLOWUP_ATTENDEES
from antenne.outbox.models import OutgoingEmail
from antenne.rooms.models import Presence
from tests.factories import EventFactory, RegistrationFactory, SessionFactory, UserFactory
from tests.helpers import drain_tasks, links_in

pytestmark = pytest.mark.django_db(transaction=True)

REPLAY = "https://video.example/replay/open-data"


def schedule(actor, title="Open data 2027", days=3):
    event = EventFactory(owner=actor, published=True, title=title)
    return events.schedule_session(
        actor=actor,
        event=event,
        starts_at=timezone.now() + timedelta(days=days),
        time_zone="Europe/Paris",
        duration_minutes=60,
    )


def time_passes(session, *, ended_ago=timedelta(hours=2)):
    """The session took place and ended `ended_ago`."""
    ended = timezone.now() - ended_ago
    Session.objects.filter(pk=session.pk).update(
        starts_at=ended - timedelta(hours=1),
        started_at=ended - timedelta(hours=1),
        ended_at=ended,
        state=Session.State.ENDED,
    )
    session.refresh_from_db()
    return session


def attend(session, *emails):
    people = []
    for email in emails:
        person = RegistrationFactory(session=session, email=email)
        Presence.objects.create(session=session, registration=person, joined_at=timezone.now())
        people.append(person)
    return people


@pytest.fixture
def session(animator):
    return schedule(animator)


def test_a_scheduled_session_gets_the_default_followup_rules(settings, animator):
    settings.FOLLOWUP_DELAY_MINUTES = 45

    session = schedule(animator)

    rules = session.followup_rules.values_list("audience", "enabled", "delay_minutes")
    assert sorted(rules) == [("attendees", True, 45), ("noshows", False, 45)]


def test_a_session_that_is_over_gets_one_draft_per_enabled_rule_once(
    smtp_server, animator, session
):
    co = UserFactory(role=Role.ANIMATOR, email="co@service.example", language="en")
    gone = UserFactory(role=Role.ANIMATOR, email="gone@service.example", is_active=False)
    session.animators.add(co, gone)
    followups.change_rule(
        actor=animator, session=session, audience="noshows", enabled=True, delay_minutes=60
    )
    attend(session, "alix@public.example", "bea@public.example")
    RegistrationFactory(session=session, email="dan@public.example")
    time_passes(session)

    assert followups.prepare_due_followups() == 2
    assert followups.prepare_due_followups() == 0  # the sweeper runs every minute
    drain_tasks()

    drafts = Campaign.objects.filter(session=session)
    assert sorted(drafts.values_list("audience", "state", "is_followup")) == [
        ("attendees", "draft", True),
        ("noshows", "draft", True),
    ]
    assert sorted(rcpt for (rcpt,) in smtp_server.envelopes) == [
        "anim@service.example",
        "anim@service.example",
        "co@service.example",
        "co@service.example",
    ]
    for user in (animator, co):
        received = smtp_server.to(user.email)
        links = sorted(u for m in received for u in links_in(smtp_server.text(m)))
        assert links == sorted(f"https://antenne.test/app/messages/{d.pk}/" for d in drafts)
    assert not OutgoingEmail.objects.filter(to__endswith="@public.example").exists()
    assert all(d.recipients.count() == 0 for d in drafts)


def test_the_draft_starts_from_the_sessions_own_followup_text(animator, session):
    texts.save_text(
        actor=animator,
        session=session,
        kind=FOLLOWUP_ATTENDEES,
        language="fr",
        subject="Merci d'être venus à {event_title}",
        body="Bonjour {first_name},\n\nLe replay : {replay_url}",
    )
    time_passes(session)

    followups.prepare_due_followups()

    draft = Campaign.objects.get(session=session)
    assert draft.content["fr"]["subject"] == "Merci d'être venus à {event_title}"
    assert draft.content["en"]["subject"] == "Thank you for attending “{event_title}”"


def test_a_session_from_before_followups_existed_gets_the_default_draft(animator):
    """A session scheduled before the upgrade has no rules yet: it is treated as having the
    defaults (the session page shows them), so its attendees' follow-up is prepared."""
    now = timezone.now()
    older = SessionFactory(
        event=EventFactory(owner=animator, title="Open data 2026"),
        starts_at=now - timedelta(hours=3),
        state=Session.State.ENDED,
        ended_at=now - timedelta(hours=2),
    )
    assert not older.followup_rules.exists()

    assert followups.prepare_due_followups() == 1

    assert list(Campaign.objects.filter(session=older).values_list("audience", flat=True)) == [
        "attendees"
    ]


def test_sessions_not_over_or_with_follow_ups_off_get_no_draft(animator, session):
    now = timezone.now()
    live = schedule(animator, title="Budget 2027", days=4)
    Session.objects.filter(pk=live.pk).update(
        starts_at=now - timedelta(minutes=30), state=Session.State.LIVE
    )
    off = time_passes(schedule(animator, title="Santé numérique", days=5))
    followups.change_rule(
        actor=animator, session=off, audience="attendees", enabled=False, delay_minutes=60
    )
    long_ago = time_passes(schedule(animator, title="RGAA", days=6), ended_ago=timedelta(days=8))
    scheduled_but_not_ended = schedule(animator, title="Accessibilité", days=7)
    Session.objects.filter(pk=scheduled_but_not_ended.pk).update(
        starts_at=now - timedelta(minutes=20)
    )

    assert followups.prepare_due_followups() == 0

    assert not Campaign.objects.exists()
    assert not OutgoingEmail.objects.exists()
    assert long_ago.ended_at < now - followups.LOOKBACK


def test_an_approved_followup_goes_delay_after_the_end(smtp_server, animator, session):
    followups.change_rule(
        actor=animator, session=session, audience="attendees", enabled=True, delay_minutes=30
    )
    followups.set_replay_url(actor=animator, session=session, url=REPLAY)
    attend(session, "alix@public.example", "bea@public.example")
    time_passes(session, ended_ago=timedelta(minutes=10))
    followups.prepare_due_followups()
    drain_tasks()
    smtp_server.messages.clear()
    smtp_server.envelopes.clear()
    draft = Campaign.objects.get(session=session)

    approved = campaigns.approve(actor=animator, campaign=draft, expected_count=2)
    drain_tasks()

    assert approved.send_after == session.ended_at + timedelta(minutes=30)
    assert approved.state == Campaign.State.SCHEDULED
    assert smtp_server.messages == []
    early = approved.send_after - timedelta(seconds=1)
    assert campaign_sending.run_campaign(campaign_id=draft.pk, now=early) == "scheduled"
    assert campaign_sending.resume_due_campaigns(now=early) == 0
    assert campaign_sending.resume_due_campaigns(now=approved.send_after) == 1
    drain_tasks()
    assert sorted(rcpt for (rcpt,) in smtp_server.envelopes) == [
        "alix@public.example",
        "bea@public.example",
    ]
    assert all(REPLAY in smtp_server.text(m) for m in smtp_server.messages)


def test_a_followup_approved_after_its_delay_goes_at_once(smtp_server, animator, session):
    followups.set_replay_url(actor=animator, session=session, url=REPLAY)
    attend(session, "alix@public.example")
    time_passes(session, ended_ago=timedelta(hours=3))
    followups.prepare_due_followups()
    before = timezone.now()

    approved = campaigns.approve(
        actor=animator, campaign=Campaign.objects.get(session=session), expected_count=1
    )
    drain_tasks()

    assert approved.send_after >= before
    assert len(smtp_server.to("alix@public.example")) == 1


@pytest.mark.parametrize(
    "url",
    [
        "http://video.example/replay",
        "javascript:alert(1)",
        "ftp://video.example/replay",
        "video.example/replay",
        "https://",
        "https://video.example/" + "r" * 500,
    ],
)
def test_the_replay_link_must_be_https(animator, session, url):
    followups.set_replay_url(actor=animator, session=session, url=REPLAY)

    with pytest.raises(Invalid) as refused:
        followups.set_replay_url(actor=animator, session=session, url=url)

    assert refused.value.code == "session.replay_url_invalid"
    session.refresh_from_db()
    assert session.replay_url == REPLAY


def test_the_replay_link_is_set_and_removed(animator, session):
    followups.set_replay_url(actor=animator, session=session, url=f"  {REPLAY}  ")
    session.refresh_from_db()
    assert session.replay_url == REPLAY

    followups.set_replay_url(actor=animator, session=session, url="")
    session.refresh_from_db()
    assert session.replay_url == ""
    entries = AuditEntry.objects.filter(action=actions.SESSION_REPLAY_SET)
    assert sorted(e.data["url"] for e in entries) == ["", REPLAY]


def test_a_missing_replay_link_is_flagged_until_it_is_set(smtp_server, animator, session):
    attend(session, "alix@public.example")
    time_passes(session)
    followups.prepare_due_followups()
    draft = Campaign.objects.get(session=session)

    flags = campaigns.unconfirmed_flags(draft)

    assert [(f.kind, f.language, f.match) for f in flags] == [
        (MISSING_REPLAY, "en", "{replay_url}"),
        (MISSING_REPLAY, "fr", "{replay_url}"),
    ]
    with pytest.raises(Conflict) as refused:
        campaigns.approve(actor=animator, campaign=draft, expected_count=1)
    assert refused.value.code == "campaign.unconfirmed_flags"

    followups.set_replay_url(actor=animator, session=session, url=REPLAY)
    draft.refresh_from_db()
    assert campaigns.unconfirmed_flags(draft) == []
    campaigns.approve(actor=animator, campaign=draft, expected_count=1)
    drain_tasks()
    (received,) = smtp_server.to("alix@public.example")
    assert REPLAY in smtp_server.text(received)


@pytest.mark.parametrize("delay", [-1, followups.MAX_DELAY + 1])
def test_a_followup_delay_out_of_range_is_refused(animator, session, delay):
    with pytest.raises(Invalid) as refused:
        followups.change_rule(
            actor=animator, session=session, audience="attendees", enabled=True, delay_minutes=delay
        )

    assert refused.value.code == "followup.delay_invalid"
    rule = FollowUpRule.objects.get(session=session, audience="attendees")
    assert rule.delay_minutes == 60
