"""The animator's back office for webinars: create, schedule with conflict rules, speakers,
moving and cancelling, the readiness checklist and the dashboard."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from django.contrib.messages import get_messages
from django.test import Client
from django.utils import timezone

from antenne.core.models import AuditEntry
from antenne.core.permissions import Role
from antenne.events import lifecycle
from antenne.events.models import Event, Session, Speaker
from antenne.outbox.models import MailboxMessage
from antenne.registrations.models import RegistrationField
from tests.conftest import client_for
from tests.factories import EventFactory, SessionFactory, TeamFactory, UserFactory
from tests.helpers import drain_tasks, links_in

pytestmark = pytest.mark.django_db(transaction=True)

NEXT_YEAR = timezone.now().year + 1


def slot(day: str, clock: str, zone: str = "Europe/Paris", minutes: int = 60, **extra) -> dict:
    return {"date": day, "time": clock, "time_zone": zone, "duration_minutes": minutes, **extra}


def test_animator_creates_a_webinar_and_its_first_session(animator):
    team = TeamFactory()
    client = client_for(animator)
    response = client.post(
        "/app/events/new/",
        {"title": "Ouvrir ses données", "language": "fr", "team": team.pk, "show_speakers": "on"},
    )
    event = Event.objects.get()
    assert response["Location"] == f"/app/events/{event.pk}/sessions/new/"
    assert (event.owner, event.team) == (animator, team)
    response = client.post(
        f"/app/events/{event.pk}/sessions/new/",
        {**slot(f"{NEXT_YEAR}-03-28", "10:00"), "animators": [animator.pk], "capacity": "300"},
    )
    session = Session.objects.get()
    assert response["Location"] == f"/app/sessions/{session.pk}/"
    assert session.starts_at == datetime(NEXT_YEAR, 3, 28, 10, 0, tzinfo=session.local_start.tzinfo)
    assert session.capacity == 300
    page = client.get(f"/app/sessions/{session.pk}/").content.decode()
    assert "Ouvrir ses données" in page
    assert {"events.event.created", "events.session.scheduled"} <= set(
        AuditEntry.objects.values_list("action", flat=True)
    )


def _last_sunday(year: int, month: int) -> date:
    return max(d for d in (date(year, month, day) for day in range(25, 32)) if d.weekday() == 6)


@pytest.mark.parametrize(
    ("month", "montreal_clock"),
    [(3, "04:00"), (10, "05:00")],  # Montreal switches two weeks before / one week after Paris
)
def test_session_set_at_10_in_paris_on_dst_day_shows_right_everywhere(
    animator, month, montreal_clock
):
    day = _last_sunday(NEXT_YEAR, month)
    event = EventFactory(owner=animator)
    client_for(animator).post(
        f"/app/events/{event.pk}/sessions/new/",
        {**slot(day.isoformat(), "10:00"), "animators": [animator.pk]},
    )
    session = event.sessions.get()
    paris = client_for(animator).get(f"/app/sessions/{session.pk}/").content.decode()
    assert "10:00 (" in paris  # your time, Europe/Paris
    animator.time_zone = "America/Montreal"
    animator.save()
    montreal = client_for(animator).get(f"/app/sessions/{session.pk}/").content.decode()
    assert f"{montreal_clock} (" in montreal
    assert "10:00" in montreal  # the time as set, in the session's own zone


def test_near_slot_must_be_confirmed(animator, settings):
    settings.CONFLICT_BUFFER_MINUTES = 30
    other = SessionFactory(starts_at=datetime(NEXT_YEAR, 6, 10, 8, 0, tzinfo=UTC))
    event = EventFactory(owner=animator)
    client = client_for(animator)
    url = f"/app/events/{event.pk}/sessions/new/"
    form = {**slot(f"{NEXT_YEAR}-06-10", "11:30"), "animators": [animator.pk]}  # 09:30 UTC
    response = client.post(url, form)
    assert response.status_code == 422
    page = response.content.decode()
    assert other.event.title in page
    assert "30 minutes" in page
    assert not event.sessions.exists()
    response = client.post(url, {**form, "confirm_conflicts": "on"})
    assert response.status_code == 302
    session = event.sessions.get()
    assert session.confirmed_conflicts == [other.pk]


def test_parallel_limit_refuses_animators_but_lets_admins_confirm(animator, admin, settings):
    settings.MAX_PARALLEL_SESSIONS = 1
    SessionFactory(starts_at=datetime(NEXT_YEAR, 6, 10, 8, 0, tzinfo=UTC))
    form = {**slot(f"{NEXT_YEAR}-06-10", "10:30"), "confirm_conflicts": "on"}  # 08:30 UTC
    event = EventFactory(owner=animator)
    response = client_for(animator).post(
        f"/app/events/{event.pk}/sessions/new/", {**form, "animators": [animator.pk]}
    )
    assert response.status_code == 422
    assert "la plateforme" not in response.content.decode()
    assert not event.sessions.exists()
    response = client_for(admin).post(
        f"/app/events/{event.pk}/sessions/new/", {**form, "animators": [animator.pk]}
    )
    assert response.status_code == 302
    assert event.sessions.count() == 1


def test_nonexistent_local_time_is_a_form_error(animator):
    # Paris skips 02:00–03:00 on the last Sunday of March.
    switch = max(d for d in (date(NEXT_YEAR, 3, day) for day in range(25, 32)) if d.weekday() == 6)
    event = EventFactory(owner=animator)
    response = client_for(animator).post(
        f"/app/events/{event.pk}/sessions/new/",
        {**slot(switch.isoformat(), "02:30"), "animators": [animator.pk]},
    )
    assert response.status_code == 422
    assert 'href="#id_time"' in response.content.decode()  # the error points at the time
    assert not event.sessions.exists()


def test_guest_speaker_invited_after_creation_gets_a_working_link(smtp_server, animator):
    session = SessionFactory(event=EventFactory(owner=animator))
    client = client_for(animator)
    response = client.post(
        f"/app/sessions/{session.pk}/speakers/",
        {"speaker-email": "Invitee@Partenaire.example", "speaker-name": "Ina Vitée"},
    )
    assert response.status_code == 302
    drain_tasks()
    [invitation] = smtp_server.to("invitee@partenaire.example")
    [link] = [u for u in links_in(smtp_server.text(invitation)) if "/speaker/" in u]
    path = link.removeprefix("https://antenne.test")

    guest = Client()
    page = guest.get(path)
    assert page.status_code == 200
    assert session.event.title in page.content.decode()
    assert Speaker.objects.get().accepted_at is None  # a GET (mail scanner) accepts nothing
    assert guest.post(path).status_code == 302
    assert Speaker.objects.get().accepted_at is not None

    speaker = Speaker.objects.get()
    client.post(f"/app/sessions/{session.pk}/speakers/{speaker.pk}/revoke/")
    assert guest.get(path).status_code == 403

    client.post(f"/app/sessions/{session.pk}/speakers/{speaker.pk}/resend/")
    drain_tasks()
    newest = smtp_server.to("invitee@partenaire.example")[-1]
    [new_link] = [u for u in links_in(smtp_server.text(newest)) if "/speaker/" in u]
    assert new_link != link
    assert guest.get(new_link.removeprefix("https://antenne.test")).status_code == 200
    assert guest.get(path).status_code == 403  # the old link stays dead


def test_workspace_member_speaker_is_linked_to_their_account(animator, member):
    session = SessionFactory(event=EventFactory(owner=animator))
    client_for(animator).post(
        f"/app/sessions/{session.pk}/speakers/", {"speaker-email": member.email.upper()}
    )
    speaker = Speaker.objects.get()
    assert speaker.user == member
    assert speaker.name == member.full_name


def test_speakers_cannot_be_added_after_the_start(animator):
    session = SessionFactory(
        event=EventFactory(owner=animator), starts_at=timezone.now() - timedelta(minutes=5)
    )
    response = client_for(animator).post(
        f"/app/sessions/{session.pk}/speakers/", {"speaker-email": "late@x.example"}
    )
    assert response.status_code == 422
    assert not Speaker.objects.exists()


def test_moving_a_session_tells_its_speakers(animator):
    session = SessionFactory(
        event=EventFactory(owner=animator), starts_at=datetime(NEXT_YEAR, 5, 4, 8, 0, tzinfo=UTC)
    )
    client = client_for(animator)
    client.post(f"/app/sessions/{session.pk}/speakers/", {"speaker-email": "s@x.example"})
    response = client.post(
        f"/app/sessions/{session.pk}/reschedule/",
        {f"slot-{k}": v for k, v in slot(f"{NEXT_YEAR}-05-05", "14:00").items()},
    )
    assert response.status_code == 302
    session.refresh_from_db()
    assert session.starts_at == datetime(NEXT_YEAR, 5, 5, 12, 0, tzinfo=UTC)
    drain_tasks()
    subjects = list(
        MailboxMessage.objects.filter(to="s@x.example").values_list("subject", flat=True)
    )
    assert len(subjects) == 2  # the invitation, then the new time
    moved = MailboxMessage.objects.filter(to="s@x.example").order_by("id").last()
    assert "14:00" in moved.body_text


def test_cancelling_keeps_the_session_and_tells_speakers(animator):
    session = SessionFactory(event=EventFactory(owner=animator))
    client = client_for(animator)
    client.post(f"/app/sessions/{session.pk}/speakers/", {"speaker-email": "s@x.example"})
    client.post(f"/app/sessions/{session.pk}/cancel/", {"cancel-message": "Grève des transports."})
    session.refresh_from_db()
    assert session.state == Session.State.CANCELLED
    drain_tasks()
    cancelled = MailboxMessage.objects.filter(to="s@x.example").order_by("id").last()
    assert "Grève des transports." in cancelled.body_text
    assert client.get(f"/app/sessions/{session.pk}/").status_code == 200  # still there


def test_only_the_sessions_animators_and_admins_manage_it(animator, member, admin):
    session = SessionFactory(event=EventFactory(owner=animator))
    stranger = UserFactory(role=Role.ANIMATOR)
    for user in (stranger, member):
        client = client_for(user)
        assert client.get(f"/app/sessions/{session.pk}/").status_code == 200  # can see
        client.post(f"/app/sessions/{session.pk}/cancel/", {})
        client.post(f"/app/sessions/{session.pk}/speakers/", {"speaker-email": "x@y.example"})
    session.refresh_from_db()
    assert session.state == Session.State.SCHEDULED
    assert not Speaker.objects.exists()
    client_for(admin).post(f"/app/sessions/{session.pk}/cancel/", {})
    session.refresh_from_db()
    assert session.state == Session.State.CANCELLED


def test_checklist_and_dashboard_show_what_is_missing_the_day_before(animator, member):
    session = SessionFactory(
        event=EventFactory(owner=animator), starts_at=timezone.now() + timedelta(hours=20)
    )
    page = client_for(animator).get(f"/app/sessions/{session.pk}/").content.decode()
    assert page.count("fr-badge--error") == 2  # published, test run (no speaker is no item)
    dashboard = client_for(member).get("/app/").content.decode()
    assert session.event.title in dashboard
    assert f"/app/sessions/{session.pk}/broadcast/#test-run" in dashboard

    client = client_for(animator)
    client.post(f"/app/events/{session.event.pk}/publish/", {"published": "1"})
    client.post(f"/app/sessions/{session.pk}/test-run/", {"done": "1"})
    client.post(f"/app/sessions/{session.pk}/speakers/", {"speaker-email": "s@x.example"})
    Speaker.objects.update(accepted_at=timezone.now())
    dashboard = client_for(member).get("/app/").content.decode()
    assert f"/app/sessions/{session.pk}/broadcast/#test-run" not in dashboard
    assert session.event.title not in dashboard.split("Vos prochaines sessions")[0]


def test_bad_inputs_are_form_errors_not_crashes(animator):
    event = EventFactory(owner=animator)
    client = client_for(animator)
    for form in (
        {**slot("not-a-date", "10:00"), "animators": [animator.pk]},
        {**slot(f"{NEXT_YEAR}-06-10", "25:00"), "animators": [animator.pk]},
        {**slot(f"{NEXT_YEAR}-06-10", "10:00", zone="Mars/Base"), "animators": [animator.pk]},
        {**slot(f"{NEXT_YEAR}-06-10", "10:00", minutes=0), "animators": [animator.pk]},
        {**slot(f"{NEXT_YEAR}-06-10", "10:00"), "animators": [999999]},
    ):
        assert client.post(f"/app/events/{event.pk}/sessions/new/", form).status_code == 422
    assert client.post("/app/events/new/", {"title": "", "team": "x"}).status_code == 422
    assert not event.sessions.exists()


def test_move_form_is_filled_with_the_current_slot(animator):
    session = SessionFactory(
        event=EventFactory(owner=animator),
        starts_at=datetime(NEXT_YEAR, 7, 1, 12, 30, tzinfo=UTC),
        time_zone="America/Montreal",
    )
    page = client_for(animator).get(f"/app/sessions/{session.pk}/settings/").content.decode()
    # Browsers only accept ISO values in date and time inputs.
    assert f'name="slot-date" value="{NEXT_YEAR}-07-01"' in page
    assert 'name="slot-time" value="08:30"' in page
    assert '<option value="America/Montreal" selected>' in page


def test_an_animator_of_one_session_cannot_run_the_whole_webinar(animator):
    """Issue 16 §1 in the back office: the webinar's page, questions, publication and
    cancellation reach every session, so they are the owner's and admins' only."""
    owner = UserFactory(role=Role.ANIMATOR)
    event = EventFactory(owner=owner, title="Cycle données", published=True)
    theirs = SessionFactory(event=event, animators=[owner])
    SessionFactory(
        event=event, starts_at=theirs.starts_at + timedelta(days=7), animators=[animator]
    )
    question = RegistrationField.objects.create(event=event, label="Service", kind="text")
    client = client_for(animator)
    attempts = [
        client.get(f"/app/events/{event.pk}/edit/"),
        client.post(
            f"/app/events/{event.pk}/edit/",
            {"title": "Détourné", "language": "fr", "team": event.team_id},
        ),
        client.post(f"/app/events/{event.pk}/publish/", {"published": "0"}),
        client.post(f"/app/events/{event.pk}/cancel/", {"message": "Annulé."}),
        client.post(
            f"/app/events/{event.pk}/questions/",
            {"question-label": "Âge", "question-kind": "text", "question-required": "on"},
        ),
        client.post(f"/app/questions/{question.pk}/remove/"),
    ]
    assert [r.status_code for r in attempts] == [403] * len(attempts)
    event.refresh_from_db()
    theirs.refresh_from_db()
    assert (event.title, event.published, theirs.state) == ("Cycle données", True, "scheduled")
    assert list(event.registration_fields.values_list("label", flat=True)) == ["Service"]
    # Their page offers what they may do (a new session, the dashboard), not the rest.
    page = client.get(f"/app/events/{event.pk}/").content.decode()
    assert f"/app/events/{event.pk}/sessions/new/" in page
    for path in ("edit/", "publish/", "cancel/", "questions/"):
        assert f'"/app/events/{event.pk}/{path}"' not in page
    assert client.get(f"/app/events/{event.pk}/sessions/new/").status_code == 200
    # The owner still holds them.
    owner_page = client_for(owner).get(f"/app/events/{event.pk}/").content.decode()
    assert f'"/app/events/{event.pk}/cancel/"' in owner_page
    client_for(owner).post(f"/app/events/{event.pk}/publish/", {"published": "0"})
    event.refresh_from_db()
    assert not event.published


def test_cancelling_a_webinar_with_a_live_session_is_refused_and_says_which(animator):
    """Issue 16 §5 in the back office: nothing is cancelled while a session is live."""
    event = EventFactory(owner=animator, published=True)
    live = SessionFactory(
        event=event, starts_at=timezone.now() + timedelta(minutes=20), animators=[animator]
    )
    coming = SessionFactory(event=event, starts_at=timezone.now() + timedelta(days=7))
    lifecycle.start_session(actor=animator, session=live)

    response = client_for(animator).post(f"/app/events/{event.pk}/cancel/", {"message": "Non."})
    assert response.status_code == 302
    [message] = get_messages(response.wsgi_request)
    assert message.level_tag == "error"
    paris = live.starts_at.astimezone(ZoneInfo("Europe/Paris")).strftime("%H:%M")
    assert paris in message.message  # the session under way, at its start in the viewer's time
    live.refresh_from_db()
    coming.refresh_from_db()
    event.refresh_from_db()
    assert (live.state, coming.state, event.published) == ("live", "scheduled", True)
    assert not AuditEntry.objects.filter(action="events.session.cancelled").exists()
