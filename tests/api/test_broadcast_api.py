"""REST API v1: opening the green room, starting and ending a session's broadcast."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest
from django.utils import timezone

from antenne.core.models import AuditEntry
from antenne.core.permissions import Role
from antenne.events.models import Session, Speaker
from tests.api.test_events_api import Api
from tests.factories import SessionFactory, UserFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def session(animator):
    """Starting in 30 minutes, run by `animator`."""
    return SessionFactory(starts_at=timezone.now() + timedelta(minutes=30), animators=[animator])


def _instant(value: str) -> datetime:
    return datetime.fromisoformat(value)


def test_an_animator_runs_the_broadcast_through_the_api(animator, session):
    api = Api(animator)
    assert api.get(f"/sessions/{session.pk}").json()["state"] == "scheduled"

    opened = api.post(f"/sessions/{session.pk}/green-room")
    assert opened.status_code == 200, opened.content
    assert (opened.json()["state"], opened.json()["started_at"]) == ("green_room", None)

    started = api.post(f"/sessions/{session.pk}/start")
    assert started.status_code == 200, started.content
    body = started.json()
    assert body["state"] == "live"
    assert body["ended_at"] is None
    assert abs(_instant(body["started_at"]) - timezone.now()) < timedelta(seconds=30)
    assert body["id"] == session.pk
    assert [a["email"] for a in body["animators"]] == [animator.email]

    ended = api.post(f"/sessions/{session.pk}/end")
    assert ended.status_code == 200, ended.content
    assert ended.json()["state"] == "ended"
    assert _instant(ended.json()["ended_at"]) >= _instant(body["started_at"])
    assert api.get(f"/sessions/{session.pk}").json()["state"] == "ended"
    assert list(
        AuditEntry.objects.filter(action__startswith="events.session.")
        .order_by("pk")
        .values_list("action", "actor_label")
    ) == [
        ("events.session.green_room_opened", animator.email),
        ("events.session.started", animator.email),
        ("events.session.ended", animator.email),
    ]


def test_an_admin_may_start_and_end(admin, session):
    api = Api(admin)
    assert api.post(f"/sessions/{session.pk}/start").json()["state"] == "live"
    assert api.post(f"/sessions/{session.pk}/end").json()["state"] == "ended"


@pytest.mark.parametrize("path", ["green-room", "start", "end"])
def test_anyone_else_is_refused(session, path):
    other_animator = SessionFactory().event.owner
    member = UserFactory(role=Role.MEMBER)
    speaker = UserFactory(role=Role.ANIMATOR)
    Speaker.objects.create(session=session, user=speaker, email=speaker.email, name="Sam")
    Session.objects.filter(pk=session.pk).update(state="green_room")
    for user in (other_animator, member, speaker):
        response = Api(user).post(f"/sessions/{session.pk}/{path}")
        assert response.status_code == 403, (user.role, response.content)
        assert response.json()["code"] == "permission.not_animator"
    response = Api(None).post(f"/sessions/{session.pk}/{path}")
    assert response.status_code == 401
    assert response.json()["code"] == "auth.unauthenticated"
    session.refresh_from_db()
    assert session.state == "green_room"
    assert not AuditEntry.objects.filter(action__startswith="events.session.").exists()


@pytest.mark.parametrize("path", ["green-room", "start", "end"])
def test_an_unknown_session_is_404(animator, path):
    response = Api(animator).post(f"/sessions/999999/{path}")
    assert response.status_code == 404
    assert response.json()["code"] == "session.not_found"


def test_wrong_states_and_times_are_409_with_a_code(animator, session):
    api = Api(animator)

    def answer(path: str, pk: int = session.pk) -> tuple[int, str]:
        response = api.post(f"/sessions/{pk}/{path}")
        return response.status_code, response.json().get("code", "")

    assert answer("end") == (409, "session.not_live")
    assert answer("start")[0] == 200
    assert answer("start") == (409, "session.already_live")
    assert answer("green-room") == (409, "session.not_scheduled")
    assert answer("end")[0] == 200
    assert answer("end") == (409, "session.ended")  # twice: a conflict, not a 500
    assert answer("start") == (409, "session.ended")

    later = SessionFactory(starts_at=timezone.now() + timedelta(hours=3), animators=[animator])
    response = api.post(f"/sessions/{later.pk}/start")
    assert response.status_code == 409
    assert response.json()["code"] == "session.too_early"
    assert _instant(response.json()["opens_at"]) == later.starts_at - timedelta(hours=1)
    assert answer("green-room", later.pk) == (409, "session.too_early")

    cancelled = SessionFactory(state="cancelled", animators=[animator])
    assert answer("start", cancelled.pk) == (409, "session.cancelled")
    past = SessionFactory(starts_at=timezone.now() - timedelta(days=1), animators=[animator])
    assert answer("start", past.pk) == (409, "session.too_late")


def test_the_openapi_schema_documents_the_three_calls(animator, session):
    schema = Api(animator).get("/openapi.json").json()
    for path in ("green-room", "start", "end"):
        operation = schema["paths"][f"/api/v1/sessions/{{session_id}}/{path}"]["post"]
        assert {"200", "403", "404", "409"} <= set(operation["responses"])
        assert "requestBody" not in operation
    session_out = schema["components"]["schemas"]["SessionOut"]["properties"]
    assert {"state", "started_at", "ended_at"} <= set(session_out)
