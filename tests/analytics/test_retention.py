"""The retention period: registrants' personal data and export files go, the report's
figures stay (without names), nothing younger is touched; the command and the sweeper."""

from __future__ import annotations

import io
from datetime import timedelta
from pathlib import Path

import pytest
from django.conf import settings
from django.core.management import call_command
from django.utils import timezone

from antenne.analytics import retention, services
from antenne.analytics.models import Export, SessionSummary
from antenne.core import actions
from antenne.core.models import AuditEntry
from antenne.outbox.models import OutgoingEmail
from antenne.registrations.models import Registration
from antenne.rooms.models import ChatMessage, PollVote, Presence, Question
from antenne.runner import Sweeper
from tests.conftest import client_for
from tests.factories import RegistrationFactory, SessionFactory
from tests.helpers import drain_tasks

pytestmark = pytest.mark.django_db(transaction=True)  # tasks are queued on commit


def later(days: int):
    return timezone.now() + timedelta(days=days)


def test_purge_deletes_personal_data_and_keeps_the_figures(webinar, animator):
    session = webinar.session
    export = services.request_export(actor=animator, session=session, format="csv")
    drain_tasks()
    export.refresh_from_db()
    file = Path(settings.EXPORTS_DIR) / export.file_name
    assert file.is_file()
    recent = SessionFactory(animators=[animator])  # not over: untouched
    RegistrationFactory(session=recent, email="recent@public.example")

    # 364 days after the end: nothing yet.
    assert retention.purge_personal_data(now=later(364), retention_days=365).sessions == 0
    assert Registration.objects.filter(session=session).count() == 5

    purged = retention.purge_personal_data(now=later(366), retention_days=365)
    assert (purged.sessions, purged.registrations, purged.exports) == (1, 5, 1)
    assert not Registration.objects.filter(session=session).exists()
    assert not Presence.objects.filter(session=session, registration__isnull=False).exists()
    assert list(ChatMessage.objects.filter(session=session).values_list("text", flat=True)) == [
        "Bienvenue à tous",
        "Entre nous",
    ]  # only the staff's messages are left
    assert not Question.objects.filter(session=session).exists()
    assert not PollVote.objects.filter(poll__session=session).exists()
    assert set(OutgoingEmail.objects.filter(session=session).values_list("to", "body_text")) == {
        ("", "")
    }
    assert not file.exists()
    export.refresh_from_db()
    assert (export.state, export.file_name) == ("expired", "")
    assert Registration.objects.filter(session=recent).count() == 1

    summary = SessionSummary.objects.get(session=session)
    assert summary.frozen_at is not None
    assert (summary.figures["registrants"], summary.figures["attendees"]) == (5, 2)
    assert summary.figures["peak_viewers"] == 3
    assert summary.figures["top_questions"] == []  # what people wrote goes too
    entry = AuditEntry.objects.get(action=actions.PERSONAL_DATA_PURGED)
    # 4 emails of the fixture and the export's link to the animator.
    assert entry.data == {
        "sessions": 1,
        "registrations": 5,
        "emails": 5,
        "exports": 1,
        "calls": 0,
    }

    # The report keeps its figures, says why the names are gone, offers no new export.
    page = client_for(animator).get(f"/app/sessions/{session.pk}/report/").content.decode()
    assert "personal data was deleted" in page or "données personnelles" in page
    assert 'name="format"' not in page
    # Nothing left to purge: a second run does nothing.
    assert retention.purge_personal_data(now=later(366), retention_days=365).sessions == 0


def test_retention_zero_keeps_everything_but_expired_files(webinar, animator):
    export = services.request_export(actor=animator, session=webinar.session, format="xlsx")
    drain_tasks()
    export.refresh_from_db()
    purged = retention.purge_personal_data(now=later(5000), retention_days=0)
    assert purged.sessions == 0
    assert Registration.objects.filter(session=webinar.session).count() == 5
    assert purged.exports == 1  # past its own expiry date


def test_exports_expire_after_the_retention_period(webinar, animator, settings):
    settings.RETENTION_DAYS = 30
    export = services.request_export(actor=animator, session=webinar.session, format="csv")
    drain_tasks()
    export.refresh_from_db()
    assert export.expires_at - export.finished_at == timedelta(days=30)
    file = Path(settings.EXPORTS_DIR) / export.file_name
    assert retention.delete_exports(Export.objects.filter(expires_at__lte=later(29))) == 0
    assert file.exists()
    assert retention.delete_exports(Export.objects.filter(expires_at__lte=later(31))) == 1
    assert not file.exists()


def test_the_command_and_the_sweeper_apply_it(webinar, animator, settings):
    out = io.StringIO()
    call_command("purge_personal_data", "--days", "1", "--dry-run", stdout=out)
    assert out.getvalue() == ""  # over for 2 hours only
    settings.RETENTION_DAYS = 1
    webinar.session.__class__.objects.filter(pk=webinar.session.pk).update(
        ended_at=timezone.now() - timedelta(days=2)
    )
    call_command("purge_personal_data", "--dry-run", stdout=out)
    assert f"would purge session {webinar.session.pk}" in out.getvalue()
    assert Registration.objects.filter(session=webinar.session).count() == 5

    sweeper = Sweeper()
    sweeper.sweep()
    assert not Registration.objects.filter(session=webinar.session).exists()
    out = io.StringIO()
    call_command("purge_personal_data", stdout=out)
    assert out.getvalue().startswith("purged 0 session(s)")


def test_a_running_export_left_by_a_dead_worker_is_failed(webinar, animator):
    export = services.request_export(actor=animator, session=webinar.session, format="csv")
    Export.objects.filter(pk=export.pk).update(
        state="running", started_at=timezone.now() - timedelta(hours=2)
    )
    assert services.fail_stuck_exports() == 1
    export.refresh_from_db()
    assert (export.state, export.error) == ("failed", "interrupted")


def test_calls_lose_their_numbers_with_the_session_or_when_as_old(webinar, animator):
    from antenne.rooms.models import PhoneCall

    session = webinar.session
    with_session = PhoneCall.objects.create(
        session=session, call_id="a", caller_masked="+33 •• 78", caller_hash="h1"
    )
    old = PhoneCall.objects.create(call_id="b", caller_masked="+33 •• 11", caller_hash="h2")
    PhoneCall.objects.filter(pk=old.pk).update(started_at=later(-400))
    young = PhoneCall.objects.create(call_id="c", caller_masked="+33 •• 12", caller_hash="h3")
    PhoneCall.objects.filter(pk=young.pk).update(started_at=later(5))  # within the period

    purged = retention.purge_personal_data(now=later(366), retention_days=365)
    assert purged.calls == 2  # the session's call, and the old one that named no session
    for call in (with_session, old):
        call.refresh_from_db()
        assert (call.caller_masked, call.caller_hash) == ("", "")
    young.refresh_from_db()
    assert (young.caller_masked, young.caller_hash) == ("+33 •• 12", "h3")
