"""The public registration page: registering, the confirmation page that answers the same
for every address (the join link goes only by email), custom questions, the honeypot, the
staff rule, capacity, "lost your link?", rate limits that never refuse an address's owner,
framing and hostile input."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

import pytest
from django.test import Client
from django.utils import timezone
from django_tasks_db.models import DBTaskResult

from antenne.events.models import Session, Speaker
from antenne.outbox.models import MailboxMessage
from antenne.registrations.models import Registration, RegistrationField
from tests.factories import EventFactory, RegistrationFactory, SessionFactory
from tests.helpers import drain_tasks

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def event():
    return EventFactory(published=True, title="Données ouvertes", description="Ligne 1\n<b>2</b>")


@pytest.fixture
def session(event):
    return SessionFactory(event=event)


def form_data(session, email="alix@public.example", **extra):
    return {
        "session": str(session.pk),
        "email": email,
        "first_name": "Alix",
        "last_name": "Martin",
        "consent": "on",
        **extra,
    }


def page(response) -> str:
    return response.content.decode()


def confirmation_text(response) -> str:
    """The confirmation page's visible message, without the per-request CSRF/nonce bits
    (nor the countdown, which a minute may change between two requests)."""
    text = page(response)
    text = re.sub(r'role="timer".*?</p>', "", text, flags=re.DOTALL)
    return text[text.index("<h1>") : text.index("</main>")]


def same_page(response, email: str) -> str:
    """The confirmation page's message with the address typed (which it repeats) blanked."""
    return confirmation_text(response).replace(email, "ADDRESS")


def test_the_page_answers_the_same_whatever_the_address_and_the_link_goes_by_email(session, member):
    """The audit's enumeration: a new address, a registered one, a revoked one, a workspace
    member's and a honeypot hit get the same redirect and the same page, with no join link
    on it; what differs goes by email to the address's owner."""
    known = RegistrationFactory(session=session, email="known@public.example")
    RegistrationFactory(
        session=session, email="revoked@public.example", status=Registration.Status.REVOKED
    )
    tried = {
        "new@public.example": {},
        "known@public.example": {},
        "revoked@public.example": {},
        "membre@service.example": {},
        "bot@public.example": {"website": "http://x"},
    }
    pages = {}
    for email, extra in tried.items():
        browser = Client()
        response = browser.post(f"/e/{session.event.pk}/", form_data(session, email, **extra))
        assert response.status_code == 302, email
        assert response["Location"] == f"/e/{session.event.pk}/registered/", email
        shown = browser.get(response["Location"])
        assert shown.status_code == 200
        assert email in page(shown)
        assert "/join/" not in page(shown), email
        pages[email] = same_page(shown, email)
    assert len(set(pages.values())) == 1, pages
    assert set(Registration.objects.values_list("email", flat=True)) == {
        "known@public.example",
        "revoked@public.example",
        "new@public.example",
    }
    new = Registration.objects.get(email="new@public.example")
    drain_tasks()
    [to_new] = MailboxMessage.objects.filter(to="new@public.example")
    assert f"/join/{new.join_key}/" in to_new.body_text
    [to_known] = MailboxMessage.objects.filter(to="known@public.example")
    assert f"/join/{known.join_key}/" in to_known.body_text
    [to_member] = MailboxMessage.objects.filter(to="membre@service.example")
    assert f"/app/sessions/{session.pk}/" in to_member.body_text
    assert "/join/" not in to_member.body_text
    assert not MailboxMessage.objects.filter(to="revoked@public.example").exists()
    assert not MailboxMessage.objects.filter(to="bot@public.example").exists()


def test_registering_again_re_sends_the_link_and_never_duplicates(session):
    for _ in range(2):
        response = Client().post(
            f"/e/{session.event.pk}/", form_data(session, " ALIX@public.example")
        )
        assert response.status_code == 302
    registration = Registration.objects.get()
    drain_tasks()
    messages = MailboxMessage.objects.filter(to="alix@public.example")
    assert messages.count() == 2
    assert all(f"/join/{registration.join_key}/" in m.body_text for m in messages)


def test_the_confirmation_page_needs_a_registration_in_this_browser(session):
    response = Client().get(f"/e/{session.event.pk}/registered/")
    assert response.status_code == 302
    assert response["Location"] == f"/e/{session.event.pk}/"


def test_the_page_shows_the_event_speakers_and_sessions_in_their_own_zone(event):
    tz_session = SessionFactory(
        event=event,
        starts_at=datetime(2099, 3, 31, 8, 0, tzinfo=UTC),
        time_zone="Europe/Paris",
    )
    Speaker.objects.create(
        session=tz_session, email="orateur@x.example", name="Oria Teur", title="Cheffe"
    )
    response = Client().get(f"/e/{event.pk}/")
    text = page(response)
    assert response.status_code == 200
    assert "mardi 31 mars 2099 10:00 (Europe/Paris)" in text
    # The tab's title is the webinar's, with nothing else in it (a script once was).
    title = response.content.decode().split("<title>", 1)[1].split("</title>", 1)[0]
    assert title.startswith(event.title)
    assert "<" not in title
    assert "Ligne 1<br>&lt;b&gt;2&lt;/b&gt;" in text
    assert "Oria Teur" in text
    assert "Cheffe" in text
    assert "orateur@x.example" not in text
    [radio] = re.findall(r'<input type="radio" name="session"[^>]*>', text)
    assert f'value="{tz_session.pk}"' in radio
    assert "checked" in radio  # the only session: preselected
    event.show_speakers = False
    event.save()
    assert "Oria Teur" not in page(Client().get(f"/e/{event.pk}/"))


def test_past_cancelled_and_full_sessions_are_not_offered(event):
    past = SessionFactory(event=event, starts_at=timezone.now() - timedelta(days=1))
    cancelled = SessionFactory(event=event, state=Session.State.CANCELLED)
    full = SessionFactory(event=event, capacity=1)
    RegistrationFactory(session=full)
    waiting = SessionFactory(event=event, capacity=1, waitlist_enabled=True)
    RegistrationFactory(session=waiting)
    text = page(Client().get(f"/e/{event.pk}/"))
    for hidden in (past, cancelled, full):
        assert f'value="{hidden.pk}"' not in text
    assert f'value="{waiting.pk}"' in text
    assert "complet — liste d’attente" in text or "full — waiting list" in text


def test_a_full_session_answers_a_clear_full_message(session):
    session.capacity = 1
    session.save()
    RegistrationFactory(session=session)
    other = SessionFactory(event=session.event)
    response = Client().post(f"/e/{session.event.pk}/", form_data(session))
    assert response.status_code == 422
    assert 'id="session-full"' in page(response)
    assert 'id="error-summary"' in page(response)
    assert f'value="{other.pk}"' in page(response)  # another session to choose
    assert Registration.objects.count() == 1


def test_the_waiting_list_takes_registrations_once_full(session):
    session.capacity = 1
    session.waitlist_enabled = True
    session.save()
    RegistrationFactory(session=session)
    browser = Client()
    response = browser.post(f"/e/{session.event.pk}/", form_data(session))
    assert response.status_code == 302
    registration = Registration.objects.get(email="alix@public.example")
    assert registration.status == Registration.Status.WAITLISTED
    assert registration.join_key not in page(browser.get(response["Location"]))
    drain_tasks()
    [message] = MailboxMessage.objects.filter(to="alix@public.example")
    assert registration.join_key in message.body_text
    assert "liste d’attente" in message.subject.lower() or "waiting list" in message.subject.lower()


@pytest.mark.parametrize("published", [False, None])
def test_unpublished_and_unknown_events_are_404(event, published):
    SessionFactory(event=event)
    if published is None:
        event_id = event.pk + 1000
    else:
        event.published = False
        event.save()
        event_id = event.pk
    for path in ("", "registered/", "lost/", "lost/sent/", "cover"):
        assert Client().get(f"/e/{event_id}/{path}").status_code == 404, path


def test_custom_fields_of_every_kind_are_stored_with_their_label(session):
    event = session.event
    text = RegistrationField.objects.create(event=event, label="Service", required=True)
    choice = RegistrationField.objects.create(
        event=event, label="Région", kind="choice", choices=["Nord", "Sud"]
    )
    multiple = RegistrationField.objects.create(
        event=event, label="Sujets", kind="multiple", choices=["A", "B", "C"]
    )
    box = RegistrationField.objects.create(event=event, label="Replay ?", kind="checkbox")
    missing = Client().post(f"/e/{event.pk}/", form_data(session))
    assert missing.status_code == 422
    assert 'id="error-summary"' in page(missing)
    assert f'href="#id_{text.key}"' in page(missing)
    assert not Registration.objects.exists()
    response = Client().post(
        f"/e/{event.pk}/",
        form_data(
            session,
            **{text.key: "DINUM", choice.key: "Sud", multiple.key: ["A", "C"], box.key: "on"},
        ),
    )
    assert response.status_code == 302
    answers = Registration.objects.get().answers
    assert answers == {
        text.key: {"label": "Service", "value": "DINUM"},
        choice.key: {"label": "Région", "value": "Sud"},
        multiple.key: {"label": "Sujets", "value": ["A", "C"]},
        box.key: {"label": "Replay ?", "value": True},
    }


def test_consent_is_required(session):
    data = form_data(session)
    del data["consent"]
    response = Client().post(f"/e/{session.event.pk}/", data)
    assert response.status_code == 422
    assert 'id="error-summary"' in page(response)
    assert not Registration.objects.exists()


def test_the_honeypot_answers_like_a_success_and_registers_nothing(session):
    human, bot = Client(), Client()
    bot_response = bot.post(
        f"/e/{session.event.pk}/", form_data(session, email="bot@x.example", website="http://x")
    )
    human_response = human.post(f"/e/{session.event.pk}/", form_data(session, email="h@x.example"))
    assert bot_response.status_code == human_response.status_code == 302
    assert bot_response["Location"] == human_response["Location"]
    assert not Registration.objects.filter(email="bot@x.example").exists()
    bot_page = bot.get(bot_response["Location"])
    assert bot_page.status_code == 200
    assert "bot@x.example" in page(bot_page)
    drain_tasks()
    assert not MailboxMessage.objects.filter(to="bot@x.example").exists()


def test_the_honeypot_is_hidden_and_skipped_by_the_keyboard(session):
    text = page(Client().get(f"/e/{session.event.pk}/"))
    start = text.index('class="antenne-hp"')
    honeypot = text[start : text.index("</div>", start)]
    assert 'tabindex="-1"' in honeypot
    assert 'autocomplete="off"' in honeypot
    assert "Leave this field empty" in honeypot or "Laissez ce champ vide" in honeypot


@pytest.mark.parametrize("typed", ["membre@service.example", "  MEMBRE@Service.EXAMPLE "])
def test_staff_are_not_registered_and_are_told_so_by_email(session, member, typed):
    response = Client().post(f"/e/{session.event.pk}/", form_data(session, email=typed))
    assert response.status_code == 302
    assert response["Location"] == f"/e/{session.event.pk}/registered/"
    assert not Registration.objects.exists()
    drain_tasks()
    [message] = MailboxMessage.objects.filter(to="membre@service.example")
    assert f"https://antenne.test/app/sessions/{session.pk}/" in message.body_text
    assert "/join/" not in message.body_text


def test_closed_sessions_say_so(session, monkeypatch):
    from antenne.registrations import self_service

    original = self_service.register

    def end_meanwhile(**kwargs):
        Session.objects.filter(pk=session.pk).update(state=Session.State.ENDED)
        return original(**kwargs)

    monkeypatch.setattr(self_service, "register", end_meanwhile)
    response = Client().post(f"/e/{session.event.pk}/", form_data(session))
    assert response.status_code == 409
    assert 'id="registration-closed"' in page(response)
    assert not Registration.objects.exists()


def test_lost_link_answers_identically_and_queues_one_task_each_time(session):
    RegistrationFactory(session=session, email="known@public.example")
    answers = []
    for email in ("known@public.example", "unknown@public.example"):
        before = DBTaskResult.objects.count()
        response = Client().post(f"/e/{session.event.pk}/lost/", {"email": email, "session": ""})
        assert response.status_code == 302
        assert DBTaskResult.objects.count() == before + 1
        answers.append((response["Location"], page(Client().get(response["Location"]))))
    assert answers[0][0] == answers[1][0] == f"/e/{session.event.pk}/lost/sent/"
    assert confirmation_text_sent(answers[0][1]) == confirmation_text_sent(answers[1][1])
    drain_tasks()
    assert MailboxMessage.objects.filter(to="known@public.example").count() == 1
    assert not MailboxMessage.objects.filter(to="unknown@public.example").exists()


def confirmation_text_sent(text: str) -> str:
    return text[text.index("<h1>") : text.index("</main>")]


def test_lost_link_for_one_chosen_session(event):
    first, second = SessionFactory(event=event), SessionFactory(event=event)
    RegistrationFactory(session=first, email="p@public.example")
    RegistrationFactory(session=second, email="p@public.example")
    Client().post(f"/e/{event.pk}/lost/", {"email": "P@public.example", "session": second.pk})
    drain_tasks()
    [message] = MailboxMessage.objects.filter(to="p@public.example")
    assert Registration.objects.get(session=second).join_key in message.body_text


def test_strangers_cannot_block_an_address_from_registering(event):
    """The audit's attack: many posts for someone's address from many client addresses.
    None is refused, the owner's own registration goes through, and what is limited per
    address is what is sent to it."""
    first, second = SessionFactory(event=event), SessionFactory(event=event)
    for number in range(8):
        attack = Client(REMOTE_ADDR=f"203.0.113.{number}").post(
            f"/e/{event.pk}/", form_data(first, email="victim@public.example")
        )
        assert attack.status_code == 302, number
    own = Client(REMOTE_ADDR="198.51.100.7").post(
        f"/e/{event.pk}/", form_data(second, email="victim@public.example")
    )
    assert own.status_code == 302
    assert own["Location"] == f"/e/{event.pk}/registered/"
    mine = Registration.objects.get(session=second, email="victim@public.example")
    drain_tasks()
    messages = MailboxMessage.objects.filter(to="victim@public.example")
    assert messages.count() == 5 + 1  # the limit per address, then the new registration's
    assert any(f"/join/{mine.join_key}/" in m.body_text for m in messages)


def test_one_client_address_is_still_refused_whatever_the_addresses_it_types(session, settings):
    settings.RATE_LIMIT_REGISTER_CLIENT = (3, 900)
    statuses = [
        Client(REMOTE_ADDR="203.0.113.9")
        .post(f"/e/{session.event.pk}/", form_data(session, email=f"p{n}@x.example"))
        .status_code
        for n in range(5)
    ]
    assert statuses == [302, 302, 302, 429, 429]
    lost = Client(REMOTE_ADDR="203.0.113.9").post(
        f"/e/{session.event.pk}/lost/", {"email": "p0@x.example"}
    )
    assert lost.status_code == 429
    assert Registration.objects.count() == 3


def test_ten_people_behind_one_address_can_all_register(session):
    browser = Client(REMOTE_ADDR="192.0.2.7")
    for number in range(10):
        response = browser.post(
            f"/e/{session.event.pk}/", form_data(session, email=f"agent{number}@x.example")
        )
        assert response.status_code == 302
    assert Registration.objects.count() == 10


def test_lost_link_never_refuses_the_address_and_limits_what_it_sends(session):
    registration = RegistrationFactory(session=session, email="x@public.example")
    statuses = [
        Client(REMOTE_ADDR=f"10.0.1.{n}")
        .post(f"/e/{session.event.pk}/lost/", {"email": "x@public.example"})
        .status_code
        for n in range(7)
    ]
    assert statuses == [302] * 7
    drain_tasks()
    messages = MailboxMessage.objects.filter(to="x@public.example")
    assert messages.count() == 5
    assert all(registration.join_key in m.body_text for m in messages)


def test_the_public_pages_may_be_framed_and_others_may_not(session):
    browser = Client()
    for path in ("", "?embed=1", "lost/", "lost/sent/"):
        response = browser.get(f"/e/{session.event.pk}/{path}")
        assert response.status_code == 200, path
        assert "frame-ancestors *" in response["Content-Security-Policy"]
        assert "X-Frame-Options" not in response.headers
    other = browser.get("/login/")
    assert "frame-ancestors 'none'" in other["Content-Security-Policy"]
    assert other["X-Frame-Options"] == "DENY"


def test_embed_mode_links_to_the_full_page_in_a_new_tab(session):
    response = Client().get(f"/e/{session.event.pk}/?embed=1&utm_source=site")
    text = page(response)
    assert "<form" not in text.split('id="content"')[1]  # never a POST from a third party
    assert f'href="/e/{session.event.pk}/?utm_source=site" target="_blank"' in text
    assert "fr-header" not in text
    assert "fr-footer" not in text


def test_hostile_input_is_stored_safely_and_shown_escaped(session):
    event = session.event
    question = RegistrationField.objects.create(event=event, label="Texte")
    hostile = "<script>alert(1)</script>\r\nBcc: x@evil.example\x00 مرحبا 🎉"
    response = Client().post(
        f"/e/{event.pk}/",
        form_data(session, first_name=hostile[:90], **{question.key: hostile}),
    )
    assert response.status_code == 302
    registration = Registration.objects.get()
    assert "\x00" not in registration.first_name
    assert "\n" not in registration.first_name
    stored = registration.answers[question.key]["value"]
    assert "\x00" not in stored
    assert "مرحبا 🎉" in stored
    assert "\r\nBcc" in stored or "\nBcc" in stored
    # Too long: refused with a message, never a 500, and the input is echoed escaped.
    long = Client().post(
        f"/e/{event.pk}/",
        form_data(
            session,
            email="long@x.example",
            first_name="x" * 10_000,
            **{question.key: "<b>é</b>" + "y" * 10_000},
        ),
    )
    assert long.status_code == 422
    assert "<b>é</b>" not in page(long)
    assert "&lt;b&gt;é&lt;/b&gt;" in page(long)
    assert not Registration.objects.filter(email="long@x.example").exists()


def test_utm_parameters_are_carried_and_stored(session):
    browser = Client()
    shown = browser.get(f"/e/{session.event.pk}/?utm_source=newsletter&utm_campaign=mars")
    assert 'name="utm_source" value="newsletter"' in page(shown)
    response = browser.post(
        f"/e/{session.event.pk}/",
        form_data(session, utm_source="newsletter", utm_campaign="mars", utm_medium=""),
    )
    assert response.status_code == 302
    assert Registration.objects.get().utm == {"utm_source": "newsletter", "utm_campaign": "mars"}


def test_the_cover_image_is_served_only_for_published_events(session, settings, tmp_path):
    from django.core.files.base import ContentFile

    settings.MEDIA_ROOT = tmp_path
    event = session.event
    assert Client().get(f"/e/{event.pk}/cover").status_code == 404
    event.cover_image.save("c.png", ContentFile(b"\x89PNG fake"), save=True)
    response = Client().get(f"/e/{event.pk}/cover")
    assert response.status_code == 200
    assert b"".join(response.streaming_content) == b"\x89PNG fake"
    assert f'src="/e/{event.pk}/cover"' in page(Client().get(f"/e/{event.pk}/"))
