"""REST API v1 for registrants: add by hand (idempotent), the staff rule, capacity, closed
sessions, listing with pagination and search, revoke and erase."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from antenne.core.models import AuditEntry
from antenne.core.permissions import Role
from antenne.events.models import Session
from antenne.outbox.models import MailboxMessage
from antenne.registrations import services
from antenne.registrations.models import Registration
from tests.api.test_events_api import Api
from tests.factories import EventFactory, RegistrationFactory, SessionFactory, UserFactory
from tests.helpers import drain_tasks, links_in

pytestmark = pytest.mark.django_db


@pytest.fixture
def session(animator):
    event = EventFactory(owner=animator, published=False)
    return SessionFactory(event=event, animators=[animator], capacity=2)


def person(email="alix@public.example", **extra):
    return {"email": email, "first_name": "Alix", "last_name": "Martin", **extra}


@pytest.mark.django_db(transaction=True)  # emails are queued on commit
def test_animator_adds_a_registrant_who_is_emailed_their_join_link(animator, session):
    api = Api(animator)
    response = api.post(
        f"/sessions/{session.pk}/registrations",
        person(
            email=" Alix@Public.EXAMPLE ",
            answers={"field_1": "Mairie", "field_2": ["a", "b"], "field_3": True},
            language="en",
            utm={"utm_source": "newsletter"},
        ),
    )
    assert response.status_code == 201, response.content
    body = response.json()
    registration = Registration.objects.get()
    assert body == {
        "id": registration.pk,
        "status": "confirmed",
        "join_url": f"https://antenne.test/join/{registration.join_key}/",
    }
    # An unpublished webinar, no consent box: organisers add people by hand.
    assert (registration.email, registration.source, registration.consent_at) == (
        "alix@public.example",
        "api",
        None,
    )
    assert registration.answers == {"field_1": "Mairie", "field_2": ["a", "b"], "field_3": True}
    assert (registration.language, registration.utm) == ("en", {"utm_source": "newsletter"})
    drain_tasks()
    [mail] = MailboxMessage.objects.filter(to="alix@public.example")
    assert body["join_url"] in links_in(mail.body_text)
    assert AuditEntry.objects.filter(action="registrations.registration.created").count() == 1


@pytest.mark.django_db(transaction=True)
def test_registering_the_same_email_again_answers_200_with_the_same_link(animator, session):
    api = Api(animator)
    first = api.post(f"/sessions/{session.pk}/registrations", person())
    again = api.post(f"/sessions/{session.pk}/registrations", person(email="ALIX@public.example"))
    assert (first.status_code, again.status_code) == (201, 200)
    assert again.json() == first.json()
    assert Registration.objects.count() == 1
    drain_tasks()
    assert MailboxMessage.objects.filter(to="alix@public.example").count() == 2  # re-sent


def test_staff_full_and_closed_answer_409_with_their_code(animator, session, member):
    api = Api(animator)
    staff = api.post(
        f"/sessions/{session.pk}/registrations", person(email=f"  {member.email.upper()} ")
    )
    assert staff.status_code == 409
    assert staff.json()["code"] == "registration.staff_member"
    for n in range(2):
        created = api.post(f"/sessions/{session.pk}/registrations", person(email=f"p{n}@x.example"))
        assert created.status_code == 201
    full = api.post(f"/sessions/{session.pk}/registrations", person(email="late@x.example"))
    assert full.status_code == 409
    assert full.json()["code"] == "registration.full"
    # Someone already registered still gets their link back on a full session.
    assert (
        api.post(f"/sessions/{session.pk}/registrations", person(email="p0@x.example")).status_code
        == 200
    )
    assert Registration.objects.filter(session=session).count() == 2

    past = SessionFactory(
        event=session.event,
        animators=[animator],
        starts_at=timezone.now() - timedelta(days=2),
        state=Session.State.ENDED,
    )
    closed = api.post(f"/sessions/{past.pk}/registrations", person())
    assert closed.status_code == 409
    assert closed.json()["code"] == "registration.closed"


def test_waiting_list_instead_of_full(animator, session):
    session.waitlist_enabled = True
    session.capacity = 1
    session.save()
    api = Api(animator)
    assert (
        api.post(f"/sessions/{session.pk}/registrations", person(email="a@x.example")).json()[
            "status"
        ]
        == "confirmed"
    )
    second = api.post(f"/sessions/{session.pk}/registrations", person(email="b@x.example"))
    assert (second.status_code, second.json()["status"]) == (201, "waitlisted")


@pytest.mark.parametrize(
    "body",
    [
        {"email": "a@x.example", "first_name": "A"},  # last_name missing
        {**person(), "unknown": 1},  # extra keys are refused
        {**person(), "language": "de"},
        {**person(), "answers": {"q": 3}},
        {**person(), "answers": {f"q{n}": "x" for n in range(101)}},
    ],
)
def test_invalid_bodies_answer_422(animator, session, body):
    response = Api(animator).post(f"/sessions/{session.pk}/registrations", body)
    assert response.status_code == 422
    assert response.json()["code"] == "request.invalid"
    assert not Registration.objects.exists()


def test_bad_email_and_blank_names_answer_422_with_a_code(animator, session):
    api = Api(animator)
    bad = api.post(f"/sessions/{session.pk}/registrations", person(email="not-an-email"))
    assert (bad.status_code, bad.json()["code"]) == (422, "request.invalid")
    blank = api.post(f"/sessions/{session.pk}/registrations", person(first_name=" \x00 "))
    assert (blank.status_code, blank.json()["code"]) == (422, "registration.first_name_required")


def test_hostile_text_is_stored_as_typed_without_nul(animator, session):
    text = "<script>alert(1)</script>\r\nשלום 🎉\x00" + "x" * 4000
    response = Api(animator).post(
        f"/sessions/{session.pk}/registrations",
        person(first_name="Zoë\r\n<b>", answers={"q\x00": text}, utm={"utm_x": "\x00y"}),
    )
    assert response.status_code == 201, response.content
    registration = Registration.objects.get()
    assert registration.first_name == "Zoë <b>"
    assert registration.answers == {"q": text.replace("\x00", "")}
    assert registration.utm == {"utm_x": "y"}
    listed = Api(animator).get(f"/sessions/{session.pk}/registrations?q=%00Zo")
    assert listed.status_code == 200
    assert listed.json()["items"][0]["answers"] == {"q": text.replace("\x00", "")}


def test_other_animators_and_members_may_not_add_or_list(session, member):
    stranger = UserFactory(role=Role.ANIMATOR)
    for user in (stranger, member):
        api = Api(user)
        added = api.post(f"/sessions/{session.pk}/registrations", person())
        listed = api.get(f"/sessions/{session.pk}/registrations")
        assert (added.status_code, listed.status_code) == (403, 403)
        assert added.json()["code"] in {"permission.not_animator", "permission.member_only"}
    assert Api(None).get(f"/sessions/{session.pk}/registrations").status_code == 401
    assert not Registration.objects.exists()


def test_admin_manages_any_session(admin, session):
    response = Api(admin).post(f"/sessions/{session.pk}/registrations", person())
    assert response.status_code == 201
    assert Api(admin).get(f"/sessions/{session.pk}/registrations").json()["count"] == 1


def test_unknown_session_answers_404(animator):
    response = Api(animator).get("/sessions/999999/registrations")
    assert response.status_code == 404


def test_list_paginates_filters_and_searches(animator, session):
    session.capacity = None
    session.save()
    for n in range(5):
        RegistrationFactory(session=session, email=f"agent{n}@mairie.example", last_name=f"Nom{n}")
    RegistrationFactory(session=session, email="zoe@autre.example", last_name="Durand")
    revoked = RegistrationFactory(session=session, email="old@autre.example")
    services.revoke_registration(actor=animator, registration=revoked)
    RegistrationFactory(email="elsewhere@mairie.example")  # another session
    api = Api(animator)

    page = api.get(f"/sessions/{session.pk}/registrations?limit=3&offset=0").json()
    assert (page["count"], page["limit"], page["offset"], len(page["items"])) == (7, 3, 0, 3)
    rest = api.get(f"/sessions/{session.pk}/registrations?limit=3&offset=3").json()
    last = api.get(f"/sessions/{session.pk}/registrations?limit=3&offset=6").json()
    emails = [i["email"] for i in page["items"] + rest["items"] + last["items"]]
    assert len(emails) == len(set(emails)) == 7
    assert "elsewhere@mairie.example" not in emails
    item = page["items"][0]
    assert set(item) == {
        "id",
        "email",
        "first_name",
        "last_name",
        "status",
        "created_at",
        "consent_at",
        "answers",
        "utm",
        "join_url",
    }
    assert item["join_url"].startswith("https://antenne.test/join/")

    found = api.get(f"/sessions/{session.pk}/registrations?q=mairie nom3").json()
    assert [i["email"] for i in found["items"]] == ["agent3@mairie.example"]
    assert found["count"] == 1
    by_status = api.get(f"/sessions/{session.pk}/registrations?status=revoked").json()
    assert [i["email"] for i in by_status["items"]] == ["old@autre.example"]
    assert api.get(f"/sessions/{session.pk}/registrations?limit=501").status_code == 422
    assert api.get(f"/sessions/{session.pk}/registrations?status=bogus").status_code == 422
    assert api.get(f"/sessions/{session.pk}/registrations?offset=-1").status_code == 422


def test_listing_costs_the_same_queries_for_2_or_40_registrants(
    animator, session, django_assert_num_queries
):
    session.capacity = None
    session.save()
    api = Api(animator)
    path = f"/sessions/{session.pk}/registrations?limit=500"

    def queries() -> int:
        with CaptureQueriesContext(connection) as captured:
            assert api.get(path).status_code == 200
        return len(captured)

    queries()  # the token's first use is recorded once
    RegistrationFactory.create_batch(2, session=session)
    few = queries()
    RegistrationFactory.create_batch(38, session=session)
    many = queries()
    assert few == many
    # A fixed number of queries whatever the page size: none per registrant.
    with django_assert_num_queries(few):
        assert len(api.get(path).json()["items"]) == 40


def test_revoke_then_erase(animator, session):
    api = Api(animator)
    created = api.post(f"/sessions/{session.pk}/registrations", person()).json()
    revoked = api.post(f"/registrations/{created['id']}/revoke")
    assert revoked.status_code == 200
    assert revoked.json()["status"] == "revoked"
    assert (
        services.registration_for_key(key=created["join_url"].rstrip("/").rsplit("/", 1)[1]) is None
    )
    # Registering the revoked address again does not bring the link back.
    again = api.post(f"/sessions/{session.pk}/registrations", person())
    assert (again.status_code, again.json()["status"]) == (200, "revoked")

    erased = api.delete(f"/registrations/{created['id']}")
    assert erased.status_code == 204
    assert not Registration.objects.exists()
    entry = AuditEntry.objects.get(action="registrations.registration.erased")
    assert "alix" not in str(entry.data).lower()
    assert api.delete(f"/registrations/{created['id']}").status_code == 404


def test_others_may_not_revoke_or_erase(session, member):
    registration = RegistrationFactory(session=session)
    for user in (UserFactory(role=Role.ANIMATOR), member):
        api = Api(user)
        assert api.post(f"/registrations/{registration.pk}/revoke").status_code == 403
        assert api.delete(f"/registrations/{registration.pk}").status_code == 403
    registration.refresh_from_db()
    assert registration.status == Registration.Status.CONFIRMED
