"""Every code a person may see has a label, marked for translation: the choices of every
model, every audit action, every kind of email, every reason a reminder is withheld; and
the back-office pages that show them, filled with data, show labels and never the codes.

A new code without a label fails here; its French wording then goes to the catalogue
(`tests/test_project.py` checks that every marked string is translated)."""

from __future__ import annotations

import re
from datetime import timedelta
from pathlib import Path

import pytest
from django.apps import apps
from django.utils import timezone
from django.utils.functional import Promise

from antenne.control.templatetags.antenne_labels import REMINDER_REASONS
from antenne.core import action_labels, actions
from antenne.core.audit import log_action
from antenne.mailing import reminders
from antenne.mailing.models import Reminder
from antenne.media.views import media_strings
from antenne.outbox import kinds
from antenne.outbox.models import MailboxMessage, OutgoingEmail
from antenne.rooms.models import Question
from tests.conftest import client_for
from tests.factories import EventFactory, SessionFactory

SRC = Path(__file__).resolve().parents[2] / "src" / "antenne"
# Names of formats, the same in every language.
PROPER_NAMES = {("analytics.export", "format")}


def marked(label: object, code: str) -> bool:
    return isinstance(label, Promise) and str(label) != code


def test_every_choice_of_every_model_has_a_translatable_label():
    bare = [
        (model._meta.label_lower, field.name, code, label)
        for model in apps.get_app_configs()
        if model.name.startswith("antenne")
        for model in model.get_models()
        for field in model._meta.get_fields()
        if getattr(field, "choices", None)
        and (model._meta.label_lower, field.name) not in PROPER_NAMES
        for code, label in field.flatchoices
        if not marked(label, code)
    ]
    assert not bare, f"choices without a translatable label: {bare}"


def test_every_audit_action_has_a_translatable_label():
    assert set(action_labels.LABELS) == set(actions.ALL)
    bare = [code for code, label in action_labels.LABELS.items() if not marked(label, code)]
    assert not bare


def _email_kinds_in_the_code() -> set[str]:
    """Kinds written as literals (`kind="welcome"`), sent from a template of the same name,
    or named in `outbox.kinds`."""
    found = set()
    for path in SRC.rglob("*.py"):
        found |= set(re.findall(r'\bkind="([a-z_]+)"', path.read_text()))
    for path in (SRC / "templates" / "mailing" / "email").glob("*.subject.txt"):
        name = path.name.removesuffix(".subject.txt")
        if not name.endswith("_speaker"):  # sent as session_moved / session_cancelled
            found.add(name)
    found |= {v for k, v in vars(kinds).items() if k.isupper() and isinstance(v, str)}
    return found


def test_every_email_kind_has_a_translatable_label():
    kinds_used = _email_kinds_in_the_code()
    assert {"registration_confirmation", "export_ready", "followup_ready"} <= kinds_used
    missing = sorted(kinds_used - set(kinds.LABELS))
    assert not missing, f"email kinds without a label: {missing}"
    bare = [code for code, label in kinds.LABELS.items() if not marked(label, code)]
    assert not bare


def test_every_reason_a_reminder_is_withheld_has_a_label():
    reasons = {
        reminders.MOVED,
        reminders.CANCELLED,
        reminders.STARTED_EARLY,
        reminders.MISSED,
        reminders.TOO_LATE,
    }
    assert set(REMINDER_REASONS) == reasons
    assert all(marked(label, code) for code, label in REMINDER_REASONS.items())


def test_the_media_quality_table_names_track_kinds():
    """The console's media table shows "picture · download", not "video · download"."""
    labels = media_strings()["kinds"]
    assert set(labels) == {"audio", "video"}
    assert all(str(label) != code for code, label in labels.items())  # gettext'd
    script = (SRC / "static" / "antenne" / "console-media.js").read_text()
    assert "s.kinds || {})[track.kind]" in script


# --- The pages ----------------------------------------------------------------------------


def english(user):
    client = client_for(user)
    client.cookies["django_language"] = "en"
    return client


def text_of(response) -> str:
    """What a reader sees: the page without its tags, attributes and scripts."""
    assert response.status_code == 200
    page = response.content.decode()
    page = re.sub(r"<(script|style)\b.*?</\1>", " ", page, flags=re.DOTALL)
    return re.sub(r"<[^>]+>", " ", page)


@pytest.fixture
def session(admin):
    return SessionFactory(
        event=EventFactory(owner=admin, published=True),
        starts_at=timezone.now() - timedelta(hours=2),
        started_at=timezone.now() - timedelta(hours=2),
        ended_at=timezone.now() - timedelta(hours=1),
        state="ended",
    )


@pytest.mark.django_db
def test_the_audit_log_shows_what_happened_not_the_codes(admin, session):
    for code in (actions.SESSION_STARTED, actions.EXPORT_READY, actions.REMINDER_WITHHELD):
        log_action(session, code, actor=admin)
    seen = text_of(english(admin).get("/app/audit/"))
    for code in (actions.SESSION_STARTED, actions.EXPORT_READY, actions.REMINDER_WITHHELD):
        assert code not in seen
    assert "Session started" in seen
    assert "events.session" not in seen
    assert "Export ready" in seen
    # The filter lists labels too (the codes stay the options' values).
    assert "events.session.green_room_opened" not in seen
    assert "Green room opened" in seen


@pytest.mark.django_db
def test_email_pages_and_the_report_name_kinds_states_and_reasons(admin, session):
    for kind in ("registration_confirmation", "registration_moved", "followup_ready"):
        OutgoingEmail.objects.create(
            to="p@public.example", kind=kind, subject="S", body_text="b", session=session
        )
    Reminder.objects.create(
        session=session, offset_minutes=60, state="withheld", reason=reminders.STARTED_EARLY
    )
    Question.objects.create(session=session, text="Et après ?", author_name="Zoé", state="open")
    MailboxMessage.objects.create(
        to="p@public.example", subject="Votre inscription", body_text="b", raw="raw"
    )
    client = english(admin)
    pages = {
        "email log": text_of(client.get(f"/app/sessions/{session.pk}/emails/log/")),
        "emails": text_of(client.get(f"/app/sessions/{session.pk}/emails/")),
        "report": text_of(client.get(f"/app/sessions/{session.pk}/report/")),
        "session": text_of(client.get(f"/app/sessions/{session.pk}/")),
        "mailbox": text_of(client.get("/app/mailbox/")),
    }
    for name in ("email log", "emails", "report"):
        page = pages[name]
        for code in ("registration_confirmation", "registration_moved", "followup_ready"):
            assert code not in page, (name, code)
        assert "Registration confirmation" in page, name
        assert "Follow-up ready to review" in page, name
    # The reminders are listed in the session's Emails section.
    assert "started early" not in pages["emails"]
    assert "the session started before it was due" in pages["emails"]
    report = pages["report"]
    assert re.search(r"Et après \?\s+Zoé\s+0\s+Open", report)
    assert " open " not in report
    assert "Votre inscription" in pages["mailbox"]
