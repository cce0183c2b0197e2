"""What reaches every session of a webinar belongs to its owner and admins (issue 16, §1),
and cancelling a webinar never cancels a broadcast under way (§5): the attacks, through the
API with bearer tokens, as the audit made them."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from antenne.core.models import AuditEntry
from antenne.core.permissions import Role
from antenne.events.models import Session
from tests.api.test_events_api import BASE, Api
from tests.factories import EventFactory, RegistrationFactory, SessionFactory, UserFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def owner(db):
    return UserFactory(role=Role.ANIMATOR, full_name="Olga Propriétaire")


@pytest.fixture
def webinar(owner, animator):
    """The owner's webinar: one session of the owner's, one of `animator`'s."""
    event = EventFactory(owner=owner, title="Cycle données", published=True)
    SessionFactory(event=event, starts_at=BASE, animators=[owner])
    SessionFactory(event=event, starts_at=BASE + timedelta(days=7), animators=[animator])
    return event


def test_an_animator_of_one_session_cannot_take_the_webinar_over(owner, animator, webinar):
    theirs = webinar.sessions.get(animators=owner)
    mine = webinar.sessions.get(animators=animator)
    RegistrationFactory(session=theirs)
    api = Api(animator)
    attempts = [
        api.patch(f"/events/{webinar.pk}", {"owner_id": animator.pk}),
        api.patch(f"/events/{webinar.pk}", {"title": "Détourné"}),
        api.patch(f"/events/{webinar.pk}", {"published": False}),
        api.patch(f"/events/{webinar.pk}", {"owner_id": 999999}),  # 403 before the 422
        api.post(f"/events/{webinar.pk}/cancel", {"message": "Annulé."}),
    ]
    for response in attempts:
        assert response.status_code == 403, response.content
        assert response.json()["code"] == "permission.not_owner"
    webinar.refresh_from_db()
    assert (webinar.owner, webinar.title, webinar.published) == (owner, "Cycle données", True)
    assert set(webinar.sessions.values_list("state", flat=True)) == {"scheduled"}
    assert not AuditEntry.objects.filter(
        action__in=("events.event.updated", "events.event.cancelled")
    ).exists()
    # The other session's registrants stay out of reach.
    assert api.get(f"/sessions/{theirs.pk}/registrations").status_code == 403

    # What is theirs stays theirs: their own session, and a new one in the webinar.
    assert api.patch(f"/sessions/{mine.pk}", {"capacity": 30}).status_code == 200
    added = api.post(
        f"/events/{webinar.pk}/sessions", {"starts_at": (BASE + timedelta(days=14)).isoformat()}
    )
    assert added.status_code == 201, added.content
    cancelled = api.post(f"/sessions/{mine.pk}/cancel", {"message": ""})
    assert cancelled.json()["state"] == "cancelled"
    theirs.refresh_from_db()
    assert theirs.state == Session.State.SCHEDULED


def test_the_owner_and_an_admin_hold_the_event_wide_actions(owner, animator, admin, webinar):
    by_admin = Api(admin).patch(f"/events/{webinar.pk}", {"owner_id": animator.pk})
    assert by_admin.status_code == 200, by_admin.content
    assert by_admin.json()["owner"]["id"] == animator.pk
    # The new owner now holds them; the former owner, who animates a session, no longer.
    assert Api(owner).patch(f"/events/{webinar.pk}", {"title": "Retour"}).status_code == 403
    handed = Api(animator).patch(f"/events/{webinar.pk}", {"owner_id": owner.pk})
    assert handed.status_code == 200
    cancelled = Api(owner).post(f"/events/{webinar.pk}/cancel", {"message": "Reporté."})
    assert cancelled.status_code == 200, cancelled.content
    assert {s["state"] for s in cancelled.json()["sessions"]} == {"cancelled"}


def test_a_demoted_owner_loses_the_event_wide_actions(owner, webinar):
    owner.role = Role.MEMBER
    owner.save()
    response = Api(owner).post(f"/events/{webinar.pk}/cancel", {"message": ""})
    assert response.status_code == 403
    assert response.json()["code"] == "permission.not_owner"


@pytest.mark.parametrize("transition", ["green-room", "start"])
def test_cancelling_a_webinar_never_cancels_a_session_under_way(owner, webinar, transition):
    soon = SessionFactory(
        event=webinar, starts_at=timezone.now() + timedelta(minutes=30), animators=[owner]
    )
    later = webinar.sessions.get(starts_at=BASE)
    api = Api(owner)
    moved = api.post(f"/sessions/{soon.pk}/{transition}")
    assert moved.status_code == 200, moved.content
    state = moved.json()["state"]

    response = api.post(f"/events/{webinar.pk}/cancel", {"message": "Annulé."})
    assert response.status_code == 409, response.content
    body = response.json()
    assert body["code"] == "session.under_way"
    assert [(s["id"], s["state"]) for s in body["sessions"]] == [(soon.pk, state)]
    # Nothing was cancelled: the broadcast goes on, the coming session too.
    soon.refresh_from_db()
    later.refresh_from_db()
    webinar.refresh_from_db()
    assert (soon.state, later.state, webinar.published) == (state, "scheduled", True)
    assert not AuditEntry.objects.filter(action="events.session.cancelled").exists()

    # Once the broadcast is ended (its end recorded), the rest of the webinar can go.
    ended = api.post(f"/sessions/{soon.pk}/end")
    assert ended.json()["state"] == "ended"
    done = api.post(f"/events/{webinar.pk}/cancel", {"message": "Annulé."})
    assert done.status_code == 200, done.content
    soon.refresh_from_db()
    assert soon.state == Session.State.ENDED
    assert soon.ended_at is not None
    assert {s["state"] for s in done.json()["sessions"]} == {"ended", "cancelled"}
