"""The API answers what its OpenAPI document says, and never 500: the attacks of issue 16
(point 8, API side, and "The API contract"), each against the real application."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest
from django.test import Client
from django.utils import timezone

from antenne.core.permissions import Role
from antenne.events.models import Event, Session
from tests.api.test_events_api import Api
from tests.factories import EventFactory, SessionFactory, TeamFactory, UserFactory

pytestmark = pytest.mark.django_db

HUGE = 2**64  # past every database integer


@pytest.fixture
def animator(db):
    return UserFactory(role=Role.ANIMATOR, team=TeamFactory())


@pytest.fixture
def session(animator):
    event = EventFactory(owner=animator, team=animator.team)
    return SessionFactory(
        event=event, animators=[animator], starts_at=timezone.now() + timedelta(days=9)
    )


def _schema() -> dict:
    return Client().get("/api/v1/openapi.json").json()


@pytest.mark.parametrize(
    "path",
    [
        f"/events?offset={HUGE}",
        f"/events?team_id={HUGE}",
        f"/events/{HUGE}",
        f"/sessions/{HUGE}",
        f"/sessions/{HUGE}/speakers",
        f"/exports/{HUGE}",
        f"/sessions/{HUGE}/registrations",
        f"/conflicts?starts_at=2030-01-01T10:00:00Z&exclude_session={HUGE}",
    ],
)
def test_integers_past_the_database_range_are_422_not_500(animator, path):
    response = Api(animator).get(path)
    assert response.status_code == 422, response.content
    assert response.json()["code"] == "request.invalid"


def test_nul_in_text_is_dropped_before_the_database(animator, session):
    api = Api(animator)
    team = animator.team_id
    created = api.post(
        "/events", {"title": "Web\x00inaire", "team_id": team, "description": "\x00"}
    )
    assert created.status_code == 201, created.content
    assert (created.json()["title"], created.json()["description"]) == ("Webinaire", "")
    blank = api.patch(f"/events/{session.event_id}", {"title": "\x00"})
    assert (blank.status_code, blank.json()["code"]) == (422, "event.title_required")
    speaker = api.post(
        f"/sessions/{session.pk}/speakers", {"email": "o@p.example", "name": "Or\x00la"}
    )
    assert (speaker.status_code, speaker.json()["name"]) == (201, "Orla")
    assert api.get("/events?q=Web%00inaire").json()[0]["title"] == "Webinaire"
    cancelled = api.post(f"/sessions/{session.pk}/cancel", {"message": "a\x00"})
    assert cancelled.status_code == 200, cancelled.content
    assert api.post(f"/events/{session.event_id}/cancel", {"message": "\x00"}).status_code == 200


def test_a_body_over_the_upload_limit_is_413(animator, settings):
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 2_621_440  # Django's default, 2.5 MB
    body = {"title": "Webinaire", "team_id": animator.team_id, "description": "x" * 3_000_000}
    response = Api(animator).post("/events", body)
    assert response.status_code == 413, response.content
    assert response.json()["code"] == "request.too_large"
    assert not Event.objects.exists()


def test_a_body_that_is_not_json_is_a_documented_400(animator):
    response = Api(animator).client.post(
        "/api/v1/events",
        data="{not json",
        content_type="application/json",
        **Api(animator).headers,
    )
    assert response.status_code == 400
    assert response.json()["code"] == "request.malformed"
    operations = _schema()["paths"]["/api/v1/events"]["post"]["responses"]
    assert {"400", "413", "422", "429"} <= operations.keys()


def test_a_start_must_be_an_iso_date_and_time(animator, session):
    api = Api(animator)
    for value in (0.5, "0.5", 1_900_000_000, "2030-01-31"):
        response = api.post(f"/events/{session.event_id}/sessions", {"starts_at": value})
        assert response.status_code == 422, (value, response.content)
        assert response.json()["code"] == "request.invalid"
    far = api.post(
        f"/events/{session.event_id}/sessions", {"starts_at": "0001-01-01T00:00:00+14:00"}
    )
    assert (far.status_code, far.json()["code"]) == (422, "session.date_out_of_range")
    assert Session.objects.count() == 1


def test_a_409_that_is_not_a_slot_conflict_matches_the_documented_body(animator, session):
    Session.objects.filter(pk=session.pk).update(state=Session.State.CANCELLED)
    response = Api(animator).patch(f"/sessions/{session.pk}", {"duration_minutes": 30})
    assert response.status_code == 409
    documented = _schema()["paths"]["/api/v1/sessions/{session_id}"]["patch"]["responses"]["409"]
    reference = documented["content"]["application/json"]["schema"]["$ref"].rsplit("/", 1)[-1]
    required = _schema()["components"]["schemas"][reference].get("required", [])
    assert set(required) <= response.json().keys()


def test_the_schema_states_what_is_refused(animator):
    schemas = _schema()["components"]["schemas"]
    assert schemas["RoleIn"]["properties"]["role"]["enum"] == ["admin", "animator", "member"]
    assert "Europe/Paris" in schemas["SessionIn"]["properties"]["time_zone"]["enum"]
    title = schemas["EventIn"]["properties"]["title"]
    assert (title["minLength"], title["maxLength"]) == (1, 200)
    assert "pattern" in schemas["SpeakerIn"]["properties"]["email"]
    # A field that may be left out of a PATCH but not set to null does not offer null.
    patch_title = schemas["EventPatch"]["properties"]["title"]
    assert "null" not in json.dumps(patch_title)
    assert "null" in json.dumps(schemas["SessionPatch"]["properties"]["capacity"])
