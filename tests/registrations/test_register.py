"""Registering: confirmation with join link and .ics, idempotency, the staff rule,
capacity and the waiting list, join links that mail scanners cannot consume."""

from __future__ import annotations

from datetime import timedelta

import icalendar
import pytest
from django.test import Client
from django.utils import timezone

from antenne.core.exceptions import Conflict, Invalid
from antenne.registrations import self_service, services
from antenne.registrations.models import Registration
from tests.factories import EventFactory, RegistrationFactory, SessionFactory
from tests.helpers import drain_tasks, links_in

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def session():
    return SessionFactory(event=EventFactory(published=True, title="Données ; ouvertes, 2027"))


def register(session, email="Alix@Public.example", **extra):
    fields = {"first_name": "Alix", "last_name": "Martin", "consent": True, **extra}
    return services.register(session=session, email=email, **fields)


def test_confirmation_email_carries_the_join_link_and_a_valid_ics(smtp_server, session):
    registration, created = register(session)
    assert created
    drain_tasks()
    [message] = smtp_server.to("alix@public.example")
    text = smtp_server.text(message)
    [link] = [u for u in links_in(text) if "/join/" in u]
    assert link == f"https://antenne.test/join/{registration.join_key}/"
    assert len(registration.join_key) >= 43  # 256 bits, url-safe
    [attachment] = [part for part in message.iter_attachments() if part.get_filename()]
    calendar = icalendar.Calendar.from_ical(attachment.get_content())
    [vevent] = calendar.walk("VEVENT")
    assert vevent.decoded("DTSTART") == session.starts_at.replace(microsecond=0)
    assert vevent.decoded("DTEND") == session.ends_at.replace(microsecond=0)
    assert str(vevent["SUMMARY"]) == "Données ; ouvertes, 2027"
    assert str(vevent["UID"]) == f"session-{session.pk}@antenne.test"


def test_registering_again_resends_and_never_duplicates(session):
    first, created = register(session)
    again, created_again = register(session, email="  ALIX@public.EXAMPLE ")
    assert created
    assert not created_again
    assert first.pk == again.pk
    assert Registration.objects.count() == 1
    drain_tasks()
    from antenne.outbox.models import MailboxMessage

    assert MailboxMessage.objects.filter(to="alix@public.example").count() == 2


@pytest.mark.parametrize("typed", ["membre@service.example", " Membre@SERVICE.example  "])
def test_staff_never_register_as_attendees(session, member, typed):
    with pytest.raises(Conflict) as error:
        register(session, email=typed)
    assert error.value.code == "registration.staff_member"
    assert not Registration.objects.exists()


def test_capacity_is_never_exceeded_and_the_waiting_list_takes_the_rest(session):
    session.capacity = 2
    session.save()
    register(session, email="a@p.example")
    register(session, email="b@p.example")
    with pytest.raises(Conflict) as error:
        register(session, email="c@p.example")
    assert error.value.code == "registration.full"
    session.waitlist_enabled = True
    session.save()
    waiting, _created = register(session, email="c@p.example")
    assert waiting.status == Registration.Status.WAITLISTED
    assert Registration.objects.filter(status="confirmed").count() == 2


def test_from_the_public_page_a_full_session_is_full_for_every_address(session):
    """ "Full" must not tell a registered address from a new one (the page answers the same
    for both); the back office and the API still find the existing registration."""
    session.capacity = 1
    session.save()
    register(session, email="a@p.example")
    for email in ("a@p.example", "b@p.example"):
        with pytest.raises(Conflict) as error:
            register(session, email=email)
        assert error.value.code == "registration.full"
    existing, created = register(session, email="a@p.example", source="api")
    assert not created
    assert existing.email == "a@p.example"


def test_consent_is_required_and_recorded(session):
    with pytest.raises(Invalid) as error:
        register(session, consent=False)
    assert error.value.code == "registration.consent_required"
    registration, _ = register(session)
    assert registration.consent_at is not None
    assert len(registration.consent_version) == 16


def test_unpublished_and_cancelled_sessions_are_closed(session):
    session.event.published = False
    session.event.save()
    with pytest.raises(Conflict) as error:
        register(session)
    assert error.value.code == "registration.closed"
    # The animator may still add people by hand (source other than the public page).
    registration, _ = register(session, source="manual", consent=False)
    assert registration.consent_at is None


def test_hostile_input_is_stored_as_typed_and_shown_escaped(session, client):
    registration, _ = register(
        session,
        first_name="<script>alert(1)</script>\r\nBcc: x@evil.example\x00",
        last_name="مرحبا 🎉 " + "x" * 500,
    )
    registration.refresh_from_db()
    assert "\x00" not in registration.first_name
    assert "\n" not in registration.first_name  # names are single-line
    assert len(registration.last_name) <= 100
    page = client.get(f"/join/{registration.join_key}/").content.decode()
    assert "<script>alert(1)</script>" not in page
    assert "&lt;script&gt;" in page


def test_scanner_get_and_head_leave_the_join_link_working(session):
    registration, _ = register(session)
    path = f"/join/{registration.join_key}/"
    scanner = Client()
    assert scanner.get(path).status_code == 200
    assert scanner.head(path).status_code == 200
    person, phone = Client(), Client()
    assert person.get(path).status_code == 200
    assert phone.get(path).status_code == 200  # several devices
    ics = person.get(f"{path}calendar.ics")
    assert ics["Content-Type"].startswith("text/calendar")
    icalendar.Calendar.from_ical(ics.content)


def test_join_page_phases(session, animator):
    registration, _ = register(session)
    path = f"/join/{registration.join_key}/"
    assert "antenne-countdown" in Client().get(path).content.decode()
    session.starts_at = timezone.now() - timedelta(minutes=5)
    session.save()
    assert "antenne-countdown" not in Client().get(path).content.decode()
    session.starts_at = timezone.now() - timedelta(hours=3)
    session.save()
    ended = Client().get(path).content.decode()
    assert "antenne-countdown" not in ended
    services.revoke_registration(actor=session.event.owner, registration=registration)
    assert Client().get(path).status_code == 404


def test_lost_link_resend_is_silent_for_unknown_addresses(session):
    register(session)
    drain_tasks()
    from antenne.outbox.models import MailboxMessage

    before = MailboxMessage.objects.count()
    self_service.resend_links(email="nobody@p.example", session_ids=[session.pk])
    self_service.resend_links(email="ALIX@public.example", session_ids=[session.pk])
    drain_tasks()
    assert MailboxMessage.objects.count() == before + 1


def test_erasing_removes_the_person_and_their_answers(session, animator):
    registration = RegistrationFactory(session=session, answers={"field_1": "secret"})
    services.erase_registration(actor=session.event.owner, registration=registration)
    assert not Registration.objects.exists()
    from antenne.core.models import AuditEntry

    entry = AuditEntry.objects.get(action="registrations.registration.erased")
    assert "secret" not in str(entry.data)
    assert registration.email not in str(entry.data) + entry.object_repr


def test_moving_and_cancelling_tell_registrants_with_an_updated_ics(smtp_server, session):
    from antenne.events import services as events

    registration, _ = register(session)
    RegistrationFactory(session=session, status=Registration.Status.REVOKED, email="gone@p.example")
    owner = session.event.owner
    new_start = (session.starts_at + timedelta(days=1)).replace(microsecond=0)
    events.reschedule_session(
        actor=owner,
        session=session,
        starts_at=new_start,
        time_zone=session.time_zone,
        duration_minutes=session.duration_minutes,
        confirm_conflicts=True,
    )
    drain_tasks()
    confirmation, moved = smtp_server.to("alix@public.example")
    assert registration.join_key in smtp_server.text(moved)

    def vevent(message):
        [part] = [p for p in message.iter_attachments() if p.get_filename()]
        [event] = icalendar.Calendar.from_ical(part.get_content()).walk("VEVENT")
        return event

    assert vevent(moved).decoded("DTSTART") == new_start
    assert str(vevent(moved)["UID"]) == str(vevent(confirmation)["UID"])  # same event, updated
    assert int(vevent(moved)["SEQUENCE"]) > int(vevent(confirmation).get("SEQUENCE", 0))

    events.cancel_session(actor=owner, session=session, message="Reporté au printemps.")
    drain_tasks()
    cancelled = smtp_server.to("alix@public.example")[-1]
    assert "Reporté au printemps." in smtp_server.text(cancelled)
    assert str(vevent(cancelled)["STATUS"]) == "CANCELLED"
    assert smtp_server.to("gone@p.example") == []  # revoked registrations hear nothing
