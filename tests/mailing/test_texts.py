"""Organiser-editable email texts: named placeholders filled once and never re-read, checked
when saved; each session's own copy; the workspace defaults an admin edits; reminders sent
from the session's own text."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from antenne.core import actions
from antenne.core.exceptions import Invalid, PermissionDenied
from antenne.core.models import AuditEntry
from antenne.events import services as events
from antenne.mailing import campaigns, reminders, texts, unsubscribe
from antenne.mailing.models import MessageTemplate
from antenne.outbox.kinds import FOLLOWUP_ATTENDEES, FOLLOWUP_NOSHOWS, REMINDER
from antenne.registrations.services import join_url
from tests.factories import EventFactory, RegistrationFactory
from tests.helpers import drain_tasks, links_in

pytestmark = pytest.mark.django_db(transaction=True)

DEFAULT_FOLLOWUP_SUBJECT = "Merci d'avoir participé à « {event_title} »"


def schedule(actor, title="Open data 2027", days=3.0):
    event = EventFactory(owner=actor, published=True, title=title)
    return events.schedule_session(
        actor=actor,
        event=event,
        starts_at=timezone.now() + timedelta(days=days),
        time_zone="Europe/Paris",
        duration_minutes=60,
    )


@pytest.fixture
def session(animator):
    return schedule(animator)


def rendered_for(session, registration, kind=FOLLOWUP_ATTENDEES, *, subject=None, body=None):
    text = texts.session_text(session, kind, registration.language)
    return texts.render(
        subject=subject if subject is not None else text.subject,
        body=body if body is not None else text.body,
        values={
            **texts.session_values(session, registration.language),
            **texts.person_values(registration),
        },
        language=registration.language,
        unsubscribe_url=unsubscribe.unsubscribe_url(registration),
    )


# --- Placeholders checked on save ---------------------------------------------------------


@pytest.mark.parametrize("typo", ["{firstname}", "{first name}", "{prénom}", "{First_Name}"])
def test_unknown_placeholders_are_refused_on_save(animator, session, typo):
    with pytest.raises(Invalid) as refused:
        texts.save_text(
            actor=animator,
            session=session,
            kind=FOLLOWUP_ATTENDEES,
            language="fr",
            subject="Merci",
            body=f"Bonjour {typo},\n\nMerci d'être venu.",
        )

    assert refused.value.code == "template.unknown_placeholder"
    assert typo in refused.value.message
    saved = texts.session_text(session, FOLLOWUP_ATTENDEES, "fr")
    assert saved.subject == DEFAULT_FOLLOWUP_SUBJECT


def test_an_unknown_placeholder_in_the_subject_is_refused_too(animator, session):
    with pytest.raises(Invalid) as refused:
        texts.save_text(
            actor=animator,
            session=session,
            kind=FOLLOWUP_ATTENDEES,
            language="fr",
            subject="Merci {prenom}",
            body="Bonjour {first_name}",
        )

    assert refused.value.code == "template.unknown_placeholder"


def test_double_braces_are_literal_braces(animator, session):
    texts.save_text(
        actor=animator,
        session=session,
        kind=FOLLOWUP_ATTENDEES,
        language="fr",
        subject="Le code {{promo}} pour {first_name}",
        body="Bonjour {first_name},\n\nTapez {{first_name}} dans le formulaire, }} compris.",
    )
    alix = RegistrationFactory(session=session, first_name="Alix")

    mail = rendered_for(session, alix)

    assert mail["subject"] == "Le code {promo} pour Alix"
    assert mail["text"].startswith(
        "Bonjour Alix,\n\nTapez {first_name} dans le formulaire, } compris.\n"
    )
    assert "Tapez {first_name} dans le formulaire, } compris." in mail["html"]


def test_a_reminder_must_contain_the_persons_join_link(animator, session):
    for body in ("Bonjour {first_name}, à demain.", "Votre lien : {{join_url}}"):
        with pytest.raises(Invalid) as refused:
            texts.save_text(
                actor=animator,
                session=session,
                kind=REMINDER,
                language="fr",
                subject="Rappel {join_url}",  # in the subject only: not enough
                body=body,
            )
        assert refused.value.code == "template.missing_placeholder"
    assert "{join_url}" in texts.session_text(session, REMINDER, "fr").body

    # A follow-up needs no join link (the session is over).
    texts.save_text(
        actor=animator,
        session=session,
        kind=FOLLOWUP_ATTENDEES,
        language="fr",
        subject="Merci",
        body="Bonjour {first_name}, merci !",
    )


def test_empty_texts_are_refused(animator, session):
    with pytest.raises(Invalid) as refused:
        texts.save_text(
            actor=animator,
            session=session,
            kind=FOLLOWUP_ATTENDEES,
            language="fr",
            subject="  ",
            body="Bonjour",
        )
    assert refused.value.code == "template.empty"


# --- Filling: people's input stays what it is -------------------------------------------------

HOSTILE_NAMES = ["{join_url}", "<script>alert(1)</script>", "Eve\r\nBcc: x@example.org"]


@pytest.mark.parametrize("name", HOSTILE_NAMES)
def test_a_registrants_name_is_shown_literally_in_text_and_escaped_in_html(session, name):
    eve = RegistrationFactory(session=session, first_name=name, last_name="<b>Martin</b>")

    mail = rendered_for(
        session,
        eve,
        subject="Pour {first_name} {last_name} : {event_title}",
        body="Bonjour {first_name} {last_name},\n\nVotre lien : {join_url}",
    )

    assert mail["text"].startswith(f"Bonjour {name} <b>Martin</b>,\n")
    assert mail["text"].count(join_url(eve)) == 1
    assert mail["subject"] == f"Pour {' '.join(name.split())} <b>Martin</b> : Open data 2027"
    assert "\n" not in mail["subject"]
    assert "\r" not in mail["subject"]
    html = mail["html"]
    assert "<script>" not in html
    assert "<b>Martin" not in html
    assert "&lt;b&gt;Martin&lt;/b&gt;" in html
    if name.startswith("<script>"):
        assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    assert html.count(f'href="{join_url(eve)}"') == 1
    if name == "{join_url}":
        assert "Bonjour {join_url}" in mail["text"]
        assert "Bonjour {join_url}" in html


def test_url_values_become_links_in_html_but_names_never_do(session):
    eve = RegistrationFactory(session=session, first_name="https://phishing.example/login")
    body = (
        "Bonjour {first_name},\n\nVotre lien : {join_url}\n"
        "Le programme : https://numerique.gouv.fr/agenda."
    )

    mail = rendered_for(session, eve, body=body)

    html = mail["html"]
    assert f'<a href="{join_url(eve)}">' in html
    assert '<a href="https://numerique.gouv.fr/agenda">' in html  # no trailing dot
    assert 'href="https://phishing.example' not in html
    assert "Bonjour https://phishing.example/login," in html
    assert "<a " not in mail["text"]
    assert links_in(mail["text"])[:2] == ["https://phishing.example/login,", join_url(eve)]


def test_the_organisers_text_is_escaped_in_html_and_keeps_its_paragraphs(animator, session):
    alix = RegistrationFactory(session=session, first_name="Alix")
    body = "Bonjour {first_name},\n\nR&D <i>surprise</i>\nligne 2\n\n\nFin"

    html = rendered_for(session, alix, body=body)["html"]

    assert "<p>Bonjour Alix,</p>" in html
    assert "<p>R&amp;D &lt;i&gt;surprise&lt;/i&gt;<br>\nligne 2</p>" in html
    assert "<p>Fin</p>" in html


def test_an_unsubscribe_footer_is_added_that_the_organiser_cannot_remove(session):
    alix = RegistrationFactory(session=session)

    mail = rendered_for(session, alix, body="Bonjour {first_name}")

    link = unsubscribe.unsubscribe_url(alix)
    assert mail["text"].rstrip().endswith(link)
    assert f'href="{link}"' in mail["html"]


# --- Per-session copies and workspace defaults ------------------------------------------------


def test_editing_one_sessions_text_does_not_change_another(animator, session):
    other = schedule(animator, title="Santé numérique", days=4)

    texts.save_text(
        actor=animator,
        session=session,
        kind=FOLLOWUP_ATTENDEES,
        language="fr",
        subject="Merci pour Open data !",
        body="Bonjour {first_name}, les supports : {replay_url}",
    )

    assert texts.session_text(session, FOLLOWUP_ATTENDEES, "fr").subject == (
        "Merci pour Open data !"
    )
    theirs = campaigns.create_campaign(
        actor=animator, session=other, audience="attendees", is_followup=True
    )
    assert theirs.content["fr"]["subject"] == DEFAULT_FOLLOWUP_SUBJECT
    assert theirs.content["en"]["subject"] == "Thank you for attending “{event_title}”"
    mine = campaigns.create_campaign(
        actor=animator, session=session, audience="attendees", is_followup=True
    )
    assert mine.content["fr"]["subject"] == "Merci pour Open data !"
    # The English text and the other kinds of the same session are untouched.
    assert mine.content["en"] == theirs.content["en"]
    assert (
        texts.session_text(session, FOLLOWUP_NOSHOWS, "fr").body
        == (texts.DEFAULTS[FOLLOWUP_NOSHOWS]["fr"][1])
    )
    (entry,) = AuditEntry.objects.filter(action=actions.TEMPLATE_UPDATED)
    assert (entry.actor, entry.object_id) == (animator, str(session.pk))


def test_a_scheduled_session_has_its_own_copy_of_every_text(session):
    copies = set(MessageTemplate.objects.filter(session=session).values_list("kind", "language"))
    assert copies == {(kind, lang) for kind in texts.KINDS for lang in texts.LANGUAGES}


def test_only_an_admin_changes_the_workspace_defaults(animator):
    with pytest.raises(PermissionDenied) as refused:
        texts.save_text(
            actor=animator,
            kind=FOLLOWUP_ATTENDEES,
            language="fr",
            subject="Merci de la part de tout le service",
            body="Bonjour {first_name}",
        )

    assert refused.value.code == "permission.admin_only"
    assert not MessageTemplate.objects.filter(session=None).exists()
    assert texts.workspace_text(FOLLOWUP_ATTENDEES, "fr")[0] == DEFAULT_FOLLOWUP_SUBJECT


def test_a_new_workspace_default_applies_to_sessions_scheduled_afterwards_only(
    admin, animator, session
):
    texts.save_text(
        actor=admin,
        kind=FOLLOWUP_ATTENDEES,
        language="fr",
        subject="Merci de la part de tout le service",
        body="Bonjour {first_name},\n\nÀ bientôt, {workspace_name}",
    )
    later = schedule(animator, title="Santé numérique", days=5)

    assert texts.session_text(session, FOLLOWUP_ATTENDEES, "fr").subject == (
        DEFAULT_FOLLOWUP_SUBJECT
    )
    assert texts.session_text(later, FOLLOWUP_ATTENDEES, "fr").subject == (
        "Merci de la part de tout le service"
    )
    assert texts.session_text(later, FOLLOWUP_ATTENDEES, "en").subject == (
        "Thank you for attending “{event_title}”"
    )

    # Saving the default again updates the one workspace row.
    texts.save_text(
        actor=admin,
        kind=FOLLOWUP_ATTENDEES,
        language="fr",
        subject="Merci, encore",
        body="Bonjour {first_name}",
    )
    assert MessageTemplate.objects.filter(session=None).count() == 1
    assert texts.session_text(later, FOLLOWUP_ATTENDEES, "fr").subject == (
        "Merci de la part de tout le service"
    )
    assert texts.workspace_text(FOLLOWUP_ATTENDEES, "fr")[0] == "Merci, encore"


def test_a_workspace_reminder_must_contain_the_join_link_too(admin):
    with pytest.raises(Invalid) as refused:
        texts.save_text(
            actor=admin, kind=REMINDER, language="en", subject="Soon", body="See you soon"
        )
    assert refused.value.code == "template.missing_placeholder"


# --- Reminders from the session's own text ----------------------------------------------------


def plain(sink, message) -> str:
    return sink.text(message).replace("\r\n", "\n")


def hour_reminder_time(session):
    session.refresh_from_db()
    return session.starts_at - timedelta(minutes=60)


def test_reminders_use_the_sessions_own_edited_text(smtp_server, animator, session):
    other = schedule(animator, title="Santé numérique", days=3 + 2 / 24)  # two hours later
    texts.save_text(
        actor=animator,
        session=session,
        kind=REMINDER,
        language="fr",
        subject="{first_name}, on se voit bientôt",
        body="Coucou {first_name} !\n\nLe lien, rien que pour vous : {join_url}",
    )
    alix = RegistrationFactory(session=session, email="alix@public.example", first_name="Alix")
    jane = RegistrationFactory(
        session=session, email="jane@public.example", first_name="Jane", language="en"
    )
    bob = RegistrationFactory(session=other, email="bob@public.example", first_name="Bob")
    for reminder_session in (session, other):
        reminder_session.reminders.filter(offset_minutes=60).delete()

    assert reminders.dispatch_due_reminders(other.starts_at - timedelta(days=1)) == 2
    drain_tasks()

    (mine,) = smtp_server.to(alix.email)
    assert " ".join(str(mine["Subject"]).split()) == "Alix, on se voit bientôt"
    text = plain(smtp_server, mine)
    assert text.startswith("Coucou Alix !\n\nLe lien, rien que pour vous : ")
    assert [u for u in links_in(text) if "/join/" in u] == [join_url(alix)]
    # The English copy of the same session, and the other session, keep their text.
    (theirs,) = smtp_server.to(jane.email)
    assert smtp_server.text(theirs).startswith("Hello Jane,")
    assert join_url(jane) in smtp_server.text(theirs)
    (bobs,) = smtp_server.to(bob.email)
    assert smtp_server.text(bobs).startswith("Bonjour Bob,")
    assert "« Santé numérique »" in str(bobs["Subject"])


@pytest.mark.parametrize("name", HOSTILE_NAMES)
def test_a_hostile_name_in_an_edited_reminder_subject_adds_no_header(
    smtp_server, animator, session, name
):
    texts.save_text(
        actor=animator,
        session=session,
        kind=REMINDER,
        language="fr",
        subject="{first_name}, on se voit bientôt",
        body="Bonjour {first_name} : {join_url}",
    )
    eve = RegistrationFactory(session=session, email="eve@public.example", first_name=name)
    session.reminders.filter(offset_minutes=1440).delete()

    assert reminders.dispatch_due_reminders(hour_reminder_time(session)) == 1
    drain_tasks()

    (received,) = smtp_server.messages
    assert smtp_server.envelopes == [[eve.email]]
    assert received["Bcc"] is None
    assert " ".join(str(received["Subject"]).split()) == (
        f"{' '.join(name.split())}, on se voit bientôt"
    )
    html = received.get_body(preferencelist=("html",)).get_content()
    assert "<script>" not in html
    assert html.count(f'href="{join_url(eve)}"') == 1
    assert smtp_server.text(received).count(join_url(eve)) == 1
