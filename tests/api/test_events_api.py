"""REST API v1 for webinars: events, sessions, slot conflicts, speakers."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest
from django.test import Client
from django.utils import timezone

from antenne.accounts import services as account_services
from antenne.core.models import AuditEntry
from antenne.core.permissions import Role
from antenne.events import services
from antenne.events.models import Event, Session, Speaker
from tests.factories import EventFactory, SessionFactory, TeamFactory, UserFactory
from tests.helpers import drain_tasks, links_in

pytestmark = pytest.mark.django_db

NEXT_YEAR = timezone.now().year + 1
# A Monday well ahead: 09:00-10:00 UTC is the slot other sessions are measured against.
BASE = datetime(NEXT_YEAR, 6, 7, 9, 0, tzinfo=UTC)


class Api:
    """A client speaking JSON with one user's bearer token (or none)."""

    def __init__(self, user: Any | None) -> None:
        self.client = Client()
        self.headers: dict[str, str] = {}
        if user is not None:
            _token, raw = account_services.create_api_token(actor=None, user=user, name="test")
            self.headers = {"HTTP_AUTHORIZATION": f"Bearer {raw}"}

    def __getattr__(self, method: str) -> Any:
        def call(path: str, body: Any = None) -> Any:
            kwargs = {"data": body, "content_type": "application/json"} if body is not None else {}
            return getattr(self.client, method)(f"/api/v1{path}", **kwargs, **self.headers)

        return call


def _last_sunday(year: int, month: int) -> date:
    return max(d for d in (date(year, month, day) for day in range(25, 32)) if d.weekday() == 6)


@pytest.fixture
def taken(db):
    """Someone else's session on BASE, 60 minutes."""
    other = UserFactory(role=Role.ANIMATOR, full_name="Oscar Autre")
    return SessionFactory(
        event=EventFactory(owner=other, title="Le créneau pris"), starts_at=BASE, animators=[other]
    )


def test_animator_creates_an_event_then_a_session(animator):
    team = TeamFactory()
    api = Api(animator)
    created = api.post(
        "/events",
        {
            "title": "Ouvrir ses données",
            "description": "Pourquoi et comment.",
            "language": "fr",
            "team_id": team.pk,
            "show_speakers": False,
            "published": True,
        },
    )
    assert created.status_code == 201, created.content
    event = created.json()
    assert event["owner"]["email"] == animator.email
    assert (event["team"]["id"], event["published"], event["show_speakers"]) == (
        team.pk,
        True,
        False,
    )
    assert event["sessions"] == []

    response = api.post(
        f"/events/{event['id']}/sessions",
        {"starts_at": BASE.isoformat(), "duration_minutes": 90, "capacity": 300},
    )
    assert response.status_code == 201, response.content
    session = response.json()
    assert session["event_title"] == "Ouvrir ses données"
    assert session["starts_at"] == f"{NEXT_YEAR}-06-07T09:00:00Z"
    assert session["ends_at"] == f"{NEXT_YEAR}-06-07T10:30:00Z"
    assert session["local_start"] == f"{NEXT_YEAR}-06-07T11:00:00+02:00"  # default zone: Paris
    assert (session["capacity"], session["state"]) == (300, "scheduled")
    assert [a["email"] for a in session["animators"]] == [animator.email]  # default: the caller

    listed = api.get("/events").json()
    assert [s["id"] for s in listed[0]["sessions"]] == [session["id"]]
    assert api.get(f"/sessions/{session['id']}").json()["duration_minutes"] == 90
    assert {"events.event.created", "events.session.scheduled"} <= set(
        AuditEntry.objects.values_list("action", flat=True)
    )


@pytest.mark.parametrize(
    ("starts_at", "gap"),
    [(BASE + timedelta(minutes=90), 30), (BASE - timedelta(minutes=90), 30)],
    ids=["after", "before"],
)
def test_a_slot_exactly_at_the_buffer_is_a_conflict_to_confirm(
    settings, animator, taken, starts_at, gap
):
    settings.CONFLICT_BUFFER_MINUTES = 30
    event = EventFactory(owner=animator)
    api = Api(animator)
    body = {"starts_at": starts_at.isoformat(), "duration_minutes": 60}

    refused = api.post(f"/events/{event.pk}/sessions", body)
    assert refused.status_code == 409
    answer = refused.json()
    assert answer["code"] == "session.conflict"
    [conflict] = answer["conflicts"]
    assert conflict["id"] == taken.pk
    assert conflict["event_title"] == "Le créneau pris"
    assert conflict["animators"] == ["Oscar Autre"]
    assert (conflict["kind"], conflict["gap_minutes"]) == ("near", gap)
    assert datetime.fromisoformat(conflict["starts_at"]) == BASE
    assert datetime.fromisoformat(conflict["ends_at"]) == BASE + timedelta(hours=1)
    assert not event.sessions.exists()

    confirmed = api.post(f"/events/{event.pk}/sessions", {**body, "confirm_conflicts": True})
    assert confirmed.status_code == 201
    assert Session.objects.get(pk=confirmed.json()["id"]).confirmed_conflicts == [taken.pk]


def test_a_slot_one_minute_past_the_buffer_needs_no_confirmation(settings, animator, taken):
    settings.CONFLICT_BUFFER_MINUTES = 30
    event = EventFactory(owner=animator)
    api = Api(animator)
    after = (BASE + timedelta(minutes=91)).isoformat()
    slot = api.get("/conflicts", {"starts_at": after, "duration_minutes": 60}).json()
    assert slot == {"conflicts": [], "parallel": 1, "limit": 1, "over_limit": False}
    response = api.post(f"/events/{event.pk}/sessions", {"starts_at": after})
    assert response.status_code == 201
    before = (BASE - timedelta(minutes=91)).isoformat()
    assert api.post(f"/events/{event.pk}/sessions", {"starts_at": before}).status_code == 201


def test_over_the_parallel_limit_is_refused_to_animators_and_confirmed_by_admins(
    settings, animator, admin, taken
):
    settings.MAX_PARALLEL_SESSIONS = 1
    event = EventFactory(owner=animator)
    body = {"starts_at": (BASE + timedelta(minutes=30)).isoformat(), "confirm_conflicts": True}

    refused = Api(animator).post(f"/events/{event.pk}/sessions", body)
    assert refused.status_code == 422
    answer = refused.json()
    assert answer["code"] == "session.parallel_limit"
    assert (answer["parallel"], answer["limit"]) == (2, 1)
    assert [c["id"] for c in answer["conflicts"]] == [taken.pk]
    assert answer["conflicts"][0]["kind"] == "overlap"

    unconfirmed = Api(admin).post(
        f"/events/{event.pk}/sessions", {**body, "confirm_conflicts": False}
    )
    assert unconfirmed.status_code == 409
    assert not event.sessions.exists()
    allowed = Api(admin).post(f"/events/{event.pk}/sessions", body)
    assert allowed.status_code == 201
    assert event.sessions.count() == 1

    slot = (
        Api(animator)
        .get("/conflicts", {"starts_at": BASE.isoformat(), "duration_minutes": 60})
        .json()
    )
    assert (slot["parallel"], slot["over_limit"]) == (3, True)


def test_cancelled_sessions_do_not_conflict(animator, taken):
    services.cancel_session(actor=taken.event.owner, session=taken)
    event = EventFactory(owner=animator)
    api = Api(animator)
    slot = api.get("/conflicts", {"starts_at": BASE.isoformat(), "duration_minutes": 60}).json()
    assert slot["conflicts"] == []
    response = api.post(f"/events/{event.pk}/sessions", {"starts_at": BASE.isoformat()})
    assert response.status_code == 201


def test_conflicts_can_leave_out_the_session_being_moved(animator, taken):
    api = Api(animator)
    query = {"starts_at": BASE.isoformat(), "duration_minutes": 60}
    assert [c["id"] for c in api.get("/conflicts", query).json()["conflicts"]] == [taken.pk]
    alone = api.get("/conflicts", {**query, "exclude_session": taken.pk}).json()
    assert alone["conflicts"] == []


@pytest.mark.parametrize(("month", "utc_hour", "offset"), [(3, 8, "+02:00"), (10, 9, "+01:00")])
def test_a_naive_start_is_wall_clock_time_in_its_zone_across_dst(animator, month, utc_hour, offset):
    day = _last_sunday(NEXT_YEAR, month)  # Paris changes its clocks that night
    event = EventFactory(owner=animator)
    response = Api(animator).post(
        f"/events/{event.pk}/sessions",
        {"starts_at": f"{day}T10:00:00", "time_zone": "Europe/Paris"},
    )
    assert response.status_code == 201, response.content
    session = response.json()
    assert session["starts_at"] == f"{day}T{utc_hour:02}:00:00Z"
    assert session["local_start"] == f"{day}T10:00:00{offset}"
    assert session["time_zone"] == "Europe/Paris"


def test_an_offset_wins_over_the_zone_and_a_skipped_local_time_is_refused(animator):
    event = EventFactory(owner=animator)
    api = Api(animator)
    with_offset = api.post(
        f"/events/{event.pk}/sessions",
        {"starts_at": f"{NEXT_YEAR}-01-15T10:00:00-05:00", "time_zone": "America/Montreal"},
    )
    assert with_offset.json()["starts_at"] == f"{NEXT_YEAR}-01-15T15:00:00Z"

    spring = _last_sunday(NEXT_YEAR, 3)
    skipped = api.post(f"/events/{event.pk}/sessions", {"starts_at": f"{spring}T02:30:00"})
    assert skipped.status_code == 422
    assert skipped.json()["code"] == "session.time_nonexistent"
    unknown = api.post(
        f"/events/{event.pk}/sessions",
        {"starts_at": f"{spring}T10:00:00", "time_zone": "Europe/Atlantis"},
    )
    assert unknown.status_code == 422
    assert unknown.json()["code"] == "request.invalid"  # not in the schema's enum
    assert event.sessions.count() == 1


def test_members_cannot_write_and_anonymous_callers_are_401(member, animator, taken):
    team = TeamFactory()
    member_api = Api(member)
    create = member_api.post("/events", {"title": "Non", "team_id": team.pk})
    assert create.status_code == 403
    assert not Event.objects.filter(title="Non").exists()
    schedule = member_api.post(
        f"/events/{taken.event_id}/sessions", {"starts_at": (BASE + timedelta(days=1)).isoformat()}
    )
    assert schedule.status_code == 403
    assert member_api.patch(f"/events/{taken.event_id}", {"title": "Pris"}).status_code == 403
    assert member_api.get(f"/sessions/{taken.pk}").status_code == 200  # reading is fine

    anonymous = Api(None)
    for response in (
        anonymous.get("/events"),
        anonymous.post("/events", {"title": "Non", "team_id": team.pk}),
        anonymous.get(f"/conflicts?starts_at={BASE.date()}T10:00"),
    ):
        assert response.status_code == 401
        assert response.json()["code"] == "auth.unauthenticated"


def test_another_animator_cannot_touch_a_webinar_they_do_not_run(animator, taken):
    api = Api(animator)  # neither owner of `taken`'s event nor assigned to it
    attempts = [
        api.patch(f"/events/{taken.event_id}", {"title": "Détourné"}),
        api.post(f"/events/{taken.event_id}/cancel", {"message": ""}),
        api.post(
            f"/events/{taken.event_id}/sessions",
            {"starts_at": (BASE + timedelta(days=1)).isoformat()},
        ),
        api.patch(f"/sessions/{taken.pk}", {"capacity": 5}),
        api.patch(f"/sessions/{taken.pk}", {}),
        api.post(f"/sessions/{taken.pk}/cancel", {"message": ""}),
        api.post(f"/sessions/{taken.pk}/speakers", {"email": "intrus@x.example"}),
    ]
    codes = ["permission.not_owner"] * 2 + ["permission.not_animator"] * 5
    for response, code in zip(attempts, codes, strict=True):
        assert response.status_code == 403, response.content
        assert response.json()["code"] == code
    taken.refresh_from_db()
    assert (taken.event.title, taken.state, taken.capacity) == (
        "Le créneau pris",
        "scheduled",
        None,
    )
    assert not taken.speakers.exists()
    assert taken.event.sessions.count() == 1


def test_owner_updates_and_hands_over_a_webinar(animator):
    event = EventFactory(owner=animator, published=False)
    successor = UserFactory(role=Role.ANIMATOR)
    team = TeamFactory()
    api = Api(animator)
    response = api.patch(
        f"/events/{event.pk}",
        {"title": "Nouveau titre", "published": True, "team_id": team.pk, "owner_id": successor.pk},
    )
    assert response.status_code == 200, response.content
    body = response.json()
    assert (body["title"], body["published"], body["team"]["id"], body["owner"]["id"]) == (
        "Nouveau titre",
        True,
        team.pk,
        successor.pk,
    )
    assert event.description == body["description"]  # untouched
    entry = AuditEntry.objects.get(action="events.event.updated")
    assert entry.data["title"] == "Nouveau titre"
    # No longer the owner nor assigned to a session: the former owner is now an outsider.
    assert api.patch(f"/events/{event.pk}", {"title": "Retour"}).status_code == 403


def test_moving_a_session_follows_the_conflict_rule_and_keeps_the_rest(settings, animator, taken):
    settings.CONFLICT_BUFFER_MINUTES = 30
    mine = SessionFactory(
        event=EventFactory(owner=animator), starts_at=BASE + timedelta(days=1), animators=[animator]
    )
    api = Api(animator)
    near = {"starts_at": (BASE + timedelta(minutes=75)).isoformat()}
    refused = api.patch(f"/sessions/{mine.pk}", near)
    assert refused.status_code == 409
    assert [c["id"] for c in refused.json()["conflicts"]] == [taken.pk]
    mine.refresh_from_db()
    assert mine.starts_at == BASE + timedelta(days=1)

    moved = api.patch(
        f"/sessions/{mine.pk}", {**near, "duration_minutes": 45, "confirm_conflicts": True}
    )
    assert moved.status_code == 200, moved.content
    assert moved.json()["starts_at"] == f"{NEXT_YEAR}-06-07T10:15:00Z"
    assert moved.json()["duration_minutes"] == 45

    # A naive time is read in the new zone when one is given.
    moved = api.patch(
        f"/sessions/{mine.pk}",
        {"starts_at": f"{NEXT_YEAR}-06-09T09:00", "time_zone": "America/Montreal"},
    )
    assert moved.json()["starts_at"] == f"{NEXT_YEAR}-06-09T13:00:00Z"
    assert moved.json()["local_start"] == f"{NEXT_YEAR}-06-09T09:00:00-04:00"


def test_team_changes_and_a_move_are_all_or_nothing(animator):
    mine = SessionFactory(
        event=EventFactory(owner=animator), starts_at=BASE + timedelta(days=2), animators=[animator]
    )
    colleague = UserFactory(role=Role.ANIMATOR)
    member = UserFactory(role=Role.MEMBER)
    api = Api(animator)
    later = (BASE + timedelta(days=3)).isoformat()

    refused = api.patch(f"/sessions/{mine.pk}", {"starts_at": later, "animator_ids": [member.pk]})
    assert refused.status_code == 422
    assert refused.json()["code"] == "session.animator_invalid"
    mine.refresh_from_db()
    assert mine.starts_at == BASE + timedelta(days=2)  # not moved either

    unknown = api.patch(f"/sessions/{mine.pk}", {"animator_ids": [999999]})
    assert unknown.status_code == 422
    assert unknown.json()["code"] == "session.animator_invalid"

    done = api.patch(
        f"/sessions/{mine.pk}", {"capacity": 40, "animator_ids": [animator.pk, colleague.pk]}
    )
    assert done.status_code == 200
    assert done.json()["capacity"] == 40
    assert {a["id"] for a in done.json()["animators"]} == {animator.pk, colleague.pk}
    unlimited = api.patch(f"/sessions/{mine.pk}", {"capacity": None})
    assert unlimited.json()["capacity"] is None
    assert len(unlimited.json()["animators"]) == 2  # kept


def test_cancelling_an_event_cancels_its_sessions_and_unpublishes_it(animator):
    event = EventFactory(owner=animator, published=True)
    first = SessionFactory(event=event, starts_at=BASE)
    second = SessionFactory(event=event, starts_at=BASE + timedelta(days=7))
    api = Api(animator)
    assert api.post(f"/sessions/{first.pk}/cancel", {"message": "Reporté."}).json()["state"] == (
        "cancelled"
    )
    again = api.post(f"/sessions/{first.pk}/cancel", {"message": ""})
    assert again.status_code == 409
    assert again.json()["code"] == "session.over"

    response = api.post(f"/events/{event.pk}/cancel", {"message": "Annulé."})
    assert response.status_code == 200
    assert response.json()["published"] is False
    assert [s["state"] for s in response.json()["sessions"]] == ["cancelled", "cancelled"]
    second.refresh_from_db()
    assert second.is_cancelled
    assert Session.objects.filter(event=event).count() == 2  # cancelled, never deleted


def test_unknown_keys_and_bad_values_are_422_with_a_code(animator):
    event = EventFactory(owner=animator)
    mine = SessionFactory(event=event, starts_at=BASE + timedelta(days=1), animators=[animator])
    api = Api(animator)
    start = (BASE + timedelta(days=4)).isoformat()
    cases = [
        (
            api.post("/events", {"title": "X", "team_id": event.team_id, "owner": 1}),
            "request.invalid",
        ),
        (api.post("/events", {"title": "X", "team_id": 999999}), "event.team_invalid"),
        (
            api.post("/events", {"title": "X", "team_id": event.team_id, "language": "xx"}),
            "request.invalid",
        ),
        (api.post("/events", {"title": "  ", "team_id": event.team_id}), "event.title_required"),
        (api.post("/events", {"title": "x" * 201, "team_id": event.team_id}), "request.invalid"),
        (api.patch(f"/events/{event.pk}", {"title": None}), "request.invalid"),
        (api.patch(f"/events/{event.pk}", {"owner_id": 999999}), "event.owner_invalid"),
        (
            api.post(f"/events/{event.pk}/sessions", {"starts_at": start, "room": 1}),
            "request.invalid",
        ),
        (api.post(f"/events/{event.pk}/sessions", {"starts_at": "demain"}), "request.invalid"),
        (
            api.post(f"/events/{event.pk}/sessions", {"starts_at": "9999-12-31T23:59"}),
            "session.date_out_of_range",
        ),
        (
            api.post(f"/events/{event.pk}/sessions", {"starts_at": start, "capacity": 0}),
            "request.invalid",
        ),
        (
            api.post(f"/events/{event.pk}/sessions", {"starts_at": start, "duration_minutes": 0}),
            "request.invalid",
        ),
        (
            api.post(f"/events/{event.pk}/sessions", {"starts_at": "2001-01-01T10:00Z"}),
            "session.in_past",
        ),
        (api.patch(f"/sessions/{mine.pk}", {"starts_at": None}), "request.invalid"),
        (
            api.patch(f"/sessions/{mine.pk}", {"duration_minutes": 10**9}),
            "request.invalid",
        ),
        (
            api.post(f"/sessions/{mine.pk}/speakers", {"email": "pas-une-adresse"}),
            "request.invalid",
        ),
        (
            api.post(f"/sessions/{mine.pk}/speakers", {"email": "a@b.example", "role": "x"}),
            "request.invalid",
        ),
        (api.post(f"/sessions/{mine.pk}/cancel", {"reason": ""}), "request.invalid"),
        (
            api.get("/conflicts", {"starts_at": start, "duration_minutes": 2000}),
            "request.invalid",
        ),
        (api.get("/conflicts?duration_minutes=60"), "request.invalid"),
    ]
    for response, code in cases:
        assert response.status_code == 422, (code, response.content)
        assert response.json()["code"] == code, response.content
    assert Event.objects.count() == 1
    mine.refresh_from_db()
    assert (mine.starts_at, mine.duration_minutes) == (BASE + timedelta(days=1), 60)
    assert not Speaker.objects.exists()


def test_unknown_objects_are_404(animator):
    api = Api(animator)
    assert api.get("/events/999999").json()["code"] == "event.not_found"
    assert api.get("/sessions/999999").status_code == 404
    session = SessionFactory(event=EventFactory(owner=animator))
    missing = api.delete(f"/sessions/{session.pk}/speakers/999999")
    assert (missing.status_code, missing.json()["code"]) == (404, "speaker.not_found")


def test_speakers_are_listed_and_removed(animator):
    session = SessionFactory(event=EventFactory(owner=animator), animators=[animator])
    api = Api(animator)
    added = api.post(
        f"/sessions/{session.pk}/speakers",
        {"email": "Orla@Partenaire.example", "name": "Orla Trice", "title": "Cheffe de projet"},
    )
    assert added.status_code == 201
    speaker = added.json()
    assert (speaker["email"], speaker["state"], speaker["is_guest"]) == (
        "orla@partenaire.example",
        "invited",
        True,
    )
    twice = api.post(f"/sessions/{session.pk}/speakers", {"email": "orla@partenaire.example"})
    assert (twice.status_code, twice.json()["code"]) == (409, "speaker.exists")
    assert [s["name"] for s in api.get(f"/sessions/{session.pk}/speakers").json()] == ["Orla Trice"]

    removed = api.delete(f"/sessions/{session.pk}/speakers/{speaker['id']}")
    assert removed.status_code == 204
    assert api.get(f"/sessions/{session.pk}/speakers").json() == []
    assert AuditEntry.objects.filter(action="events.speaker.removed").exists()


@pytest.mark.django_db(transaction=True)
def test_a_speaker_invited_through_the_api_gets_a_link_that_can_be_revoked(smtp_server, animator):
    session = SessionFactory(event=EventFactory(owner=animator), animators=[animator])
    api = Api(animator)
    added = api.post(
        f"/sessions/{session.pk}/speakers", {"email": "invitee@partenaire.example", "name": "Ina"}
    )
    assert added.status_code == 201
    speaker_id = added.json()["id"]
    drain_tasks()
    [invitation] = smtp_server.to("invitee@partenaire.example")
    [link] = [u for u in links_in(smtp_server.text(invitation)) if "/speaker/" in u]
    path = link.removeprefix("https://antenne.test")
    guest = Client()
    page = guest.get(path)
    assert page.status_code == 200
    assert session.event.title in page.content.decode()

    revoked = api.post(f"/sessions/{session.pk}/speakers/{speaker_id}/revoke")
    assert revoked.json()["state"] == "revoked"
    assert guest.get(path).status_code == 403

    resent = api.post(f"/sessions/{session.pk}/speakers/{speaker_id}/resend")
    assert resent.json()["state"] == "invited"
    drain_tasks()
    [new_link] = [
        u
        for u in links_in(smtp_server.text(smtp_server.to("invitee@partenaire.example")[-1]))
        if "/speaker/" in u
    ]
    assert new_link != link
    assert guest.get(new_link.removeprefix("https://antenne.test")).status_code == 200
    assert guest.get(path).status_code == 403  # the revoked link stays dead
    assert {"events.speaker.invited", "events.speaker.revoked", "events.speaker.reinvited"} <= set(
        AuditEntry.objects.values_list("action", flat=True)
    )
