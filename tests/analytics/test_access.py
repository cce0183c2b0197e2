"""Who may see a report and request, follow and download its exports — in the back office
and through the API — and the emailed link: it works for the person it was sent to, and
for nobody else."""

from __future__ import annotations

import time
from datetime import timedelta

import pytest
from django.core import signing
from django.test import Client
from django.utils import timezone

from antenne.accounts import services as accounts
from antenne.analytics import services
from antenne.analytics.models import Export
from antenne.core import actions
from antenne.core.models import AuditEntry
from antenne.core.permissions import Role
from antenne.events import lifecycle
from antenne.events.models import Speaker
from antenne.outbox.models import OutgoingEmail
from tests.conftest import client_for
from tests.factories import SessionFactory, UserFactory
from tests.helpers import drain_tasks, links_in

pytestmark = pytest.mark.django_db(transaction=True)  # tasks are queued on commit


@pytest.fixture
def people(webinar, animator, admin):
    """Everyone the rule distinguishes, for the fixture's session."""
    speaker = UserFactory(role=Role.MEMBER, email="speaker@service.example")
    Speaker.objects.create(session=webinar.session, user=speaker, email=speaker.email, name="S")
    revoked = UserFactory(role=Role.MEMBER, email="revoked@service.example")
    Speaker.objects.create(
        session=webinar.session,
        user=revoked,
        email=revoked.email,
        name="R",
        revoked_at=timezone.now(),
    )
    return {
        "animator": animator,
        "speaker": speaker,
        "admin": admin,
        "other_animator": UserFactory(role=Role.ANIMATOR, email="other@service.example"),
        "member": UserFactory(role=Role.MEMBER, email="plain@service.example"),
        "revoked_speaker": revoked,
    }


ALLOWED = ("animator", "speaker", "admin")
REFUSED = ("other_animator", "member", "revoked_speaker")


def ready_export(webinar, user, fmt="csv") -> Export:
    export = services.request_export(actor=user, session=webinar.session, format=fmt)
    drain_tasks()
    export.refresh_from_db()
    assert export.state == "done"
    return export


def status_of(client, url: str) -> int:
    """GET `url` and read the whole answer (a file response holds its file open until)."""
    response = client.get(url)
    if response.streaming:
        b"".join(response.streaming_content)
    response.close()
    return response.status_code


def emailed_link(user) -> str:
    [email] = OutgoingEmail.objects.filter(to=user.email, kind="export_ready")
    [link] = [u for u in links_in(email.body_text) if "/download/" in u]
    return link.removeprefix("https://antenne.test")


@pytest.mark.parametrize("who", ALLOWED + REFUSED)
def test_report_and_exports_in_the_back_office(webinar, people, who):
    user = people[who]
    client = client_for(user)
    session = webinar.session
    export = ready_export(webinar, people["animator"])
    report = client.get(f"/app/sessions/{session.pk}/report/")
    requested = client.post(f"/app/sessions/{session.pk}/report/exports/", {"format": "xlsx"})
    status = client.get(f"/app/exports/{export.pk}/")
    download = client.get(f"/app/exports/{export.pk}/download/")
    if who in ALLOWED:
        assert report.status_code == 200
        assert "Peak of concurrent viewers" in report.content.decode() or report.content
        assert requested.status_code == 302
        assert Export.objects.filter(requested_by=user, format="xlsx").count() == 1
        assert status.json()["status"] == "done"
        assert download.status_code == 200
        assert b"".join(download.streaming_content)[:2] == b"PK"  # a ZIP archive
        assert AuditEntry.objects.filter(
            action=actions.EXPORT_DOWNLOADED, actor=user, data={"via": "page"}
        ).exists()
    else:
        assert [r.status_code for r in (report, requested, status, download)] == [403] * 4
        assert not Export.objects.filter(requested_by=user).exists()


def test_anonymous_visitors_are_sent_to_the_login_page(webinar, people):
    export = ready_export(webinar, people["animator"])
    for url in (
        f"/app/sessions/{webinar.session.pk}/report/",
        f"/app/exports/{export.pk}/",
        f"/app/exports/{export.pk}/download/",
        f"/app/events/{webinar.session.event_id}/report/",
        "/app/reports/",
    ):
        response = Client().get(url)
        assert response.status_code == 302
        assert response["Location"].startswith("/login/")


def api(user) -> dict[str, str]:
    _token, raw = accounts.create_api_token(actor=None, user=user, name="t")
    return {"HTTP_AUTHORIZATION": f"Bearer {raw}"}


@pytest.mark.parametrize("who", ALLOWED + REFUSED)
def test_the_api_follows_the_same_rule(webinar, people, who):
    user = people[who]
    headers = api(user)
    client = Client()
    created = client.post(
        f"/api/v1/sessions/{webinar.session.pk}/exports",
        {"format": "csv"},
        content_type="application/json",
        **headers,
    )
    if who not in ALLOWED:
        assert created.status_code == 403
        assert created.json()["code"] == "permission.not_report_viewer"
        export = ready_export(webinar, people["admin"])
        assert client.get(f"/api/v1/exports/{export.pk}", **headers).status_code == 403
        assert client.get(f"/api/v1/exports/{export.pk}/file", **headers).status_code == 403
        return
    assert created.status_code == 202
    body = created.json()
    assert set(body) == {"id", "status"}
    assert body["status"] == "pending"
    pending = client.get(f"/api/v1/exports/{body['id']}", **headers).json()
    assert (pending["status"], pending["download_url"]) == ("pending", None)
    drain_tasks()
    done = client.get(f"/api/v1/exports/{body['id']}", **headers).json()
    assert (done["status"], done["progress"], done["rows"]) == ("done", 100, 5)
    url = done["download_url"].removeprefix("https://antenne.test")
    assert url == f"/api/v1/exports/{body['id']}/file"
    response = client.get(url, **headers)
    assert response.status_code == 200
    assert b"".join(response.streaming_content)[:2] == b"PK"
    assert client.get(url).status_code == 401


def test_the_api_refuses_an_unknown_format_and_anonymous_callers(webinar, people):
    url = f"/api/v1/sessions/{webinar.session.pk}/exports"
    wrong = Client().post(
        url, {"format": "pdf"}, content_type="application/json", **api(people["admin"])
    )
    assert wrong.status_code == 422
    assert Client().post(url, {"format": "csv"}, content_type="application/json").status_code == 401


def test_the_emailed_link_works_for_its_recipient_and_nobody_else(webinar, people):
    speaker = people["speaker"]
    export = ready_export(webinar, speaker, "xlsx")
    link = emailed_link(speaker)
    assert link.startswith(f"/app/exports/{export.pk}/download/?t=")

    mine = client_for(speaker).get(link)
    assert mine.status_code == 200
    assert mine["Content-Disposition"].startswith("attachment;")
    assert b"".join(mine.streaming_content)[:2] == b"PK"
    assert AuditEntry.objects.filter(
        action=actions.EXPORT_DOWNLOADED, actor=speaker, data={"via": "link"}
    ).exists()

    # Someone else allowed to see the report, following the forwarded link: refused.
    theirs = client_for(people["admin"]).get(link)
    assert theirs.status_code == 403
    assert b"export.link_not_yours" in theirs.content
    for who in REFUSED:
        assert client_for(people[who]).get(link).status_code == 403
    anonymous = Client().get(link)
    assert anonymous.status_code == 302
    assert anonymous["Location"].startswith("/login/")
    # Nobody else received one.
    assert OutgoingEmail.objects.filter(kind="export_ready").count() == 1


def test_a_tampered_or_expired_link_is_refused(webinar, people, settings):
    animator = people["animator"]
    export = ready_export(webinar, animator)
    link = emailed_link(animator)
    client = client_for(animator)
    assert client.get(link + "x").status_code == 403

    class Earlier(signing.TimestampSigner):
        def timestamp(self):
            return signing.b62_encode(int(time.time()) - 3 * 86400)

    old = Earlier(salt=services.LINK_SALT).sign_object([export.pk, animator.pk])
    settings.EXPORT_LINK_DAYS = 7
    assert status_of(client, f"/app/exports/{export.pk}/download/?t={old}") == 200
    settings.EXPORT_LINK_DAYS = 2
    expired = client.get(f"/app/exports/{export.pk}/download/?t={old}")
    assert expired.status_code == 403
    assert b"export.link_expired" in expired.content
    # A link to another export, or for another person, signed by us: still refused.
    other = Earlier(salt=services.LINK_SALT).sign_object([export.pk + 1, animator.pk])
    assert client.get(f"/app/exports/{export.pk}/download/?t={other}").status_code == 403


def test_a_file_past_its_retention_is_gone(webinar, people):
    animator = people["animator"]
    export = ready_export(webinar, animator)
    Export.objects.filter(pk=export.pk).update(expires_at=timezone.now() - timedelta(seconds=1))
    assert client_for(animator).get(f"/app/exports/{export.pk}/download/").status_code == 404
    assert client_for(animator).get(emailed_link(animator)).status_code == 404


def test_ending_a_session_exports_it_for_every_animator(animator):
    second = UserFactory(role=Role.ANIMATOR, email="co@service.example")
    session = SessionFactory(
        animators=[animator, second], starts_at=timezone.now() - timedelta(minutes=5)
    )
    lifecycle.start_session(actor=animator, session=session)
    lifecycle.end_session(actor=second, session=session)
    drain_tasks()
    export = Export.objects.get(session=session)
    assert (export.automatic, export.format, export.state, export.requested_by) == (
        True,
        "xlsx",
        "done",
        None,
    )
    links = {}
    for user in (animator, second):
        links[user] = emailed_link(user)
        assert status_of(client_for(user), links[user]) == 200
    assert links[animator] != links[second]
    assert client_for(animator).get(links[second]).status_code == 403
    assert OutgoingEmail.objects.filter(kind="export_ready").count() == 2


def test_no_automatic_export_when_switched_off(animator, settings):
    settings.AUTO_EXPORT_ON_END = False
    session = SessionFactory(animators=[animator], starts_at=timezone.now())
    lifecycle.start_session(actor=animator, session=session)
    lifecycle.end_session(actor=animator, session=session)
    drain_tasks()
    assert not Export.objects.exists()


def test_asking_again_while_running_returns_the_same_export(webinar, people):
    first = services.request_export(actor=people["animator"], session=webinar.session, format="csv")
    again = services.request_export(actor=people["animator"], session=webinar.session, format="csv")
    theirs = services.request_export(actor=people["admin"], session=webinar.session, format="csv")
    assert again.pk == first.pk != theirs.pk


def test_dashboards_are_for_the_webinars_managers_and_admins(webinar, people):
    event_url = f"/app/events/{webinar.session.event_id}/report/"
    for who, status in [
        ("animator", 200),
        ("admin", 200),
        ("speaker", 403),
        ("other_animator", 403),
        ("member", 403),
    ]:
        assert client_for(people[who]).get(event_url).status_code == status, who
        expected = 200 if who == "admin" else 403
        assert client_for(people[who]).get("/app/reports/").status_code == expected, who


def test_the_api_takes_the_language_and_the_csv_separator(webinar, people):
    url = f"/api/v1/sessions/{webinar.session.pk}/exports"
    headers = api(people["animator"])
    created = Client().post(
        url,
        {"format": "csv", "language": "en", "csv_delimiter": "semicolon"},
        content_type="application/json",
        **headers,
    )
    assert created.status_code == 202
    got = Client().get(f"/api/v1/exports/{created.json()['id']}", **headers).json()
    assert (got["language"], got["csv_delimiter"]) == ("en", "semicolon")
    default = Client().post(url, {"format": "xlsx"}, content_type="application/json", **headers)
    got = Client().get(f"/api/v1/exports/{default.json()['id']}", **headers).json()
    assert (got["language"], got["csv_delimiter"]) == ("fr", "semicolon")  # the animator's
    wrong = Client().post(
        url, {"format": "csv", "csv_delimiter": "tab"}, content_type="application/json", **headers
    )
    assert wrong.status_code == 422


def test_the_report_form_offers_the_csv_separator(webinar, people):
    client = client_for(people["animator"])  # a French page
    session = webinar.session
    page = client.get(f"/app/sessions/{session.pk}/report/").content.decode()
    assert 'name="delimiter" value="semicolon" checked' in page
    assert 'name="delimiter" value="comma">' in page
    url = f"/app/sessions/{session.pk}/report/exports/"
    client.post(url, {"format": "csv", "delimiter": "comma"})
    export = Export.objects.get(requested_by=people["animator"])
    assert (export.language, export.delimiter) == ("fr", "comma")
    refused = client.post(url, {"format": "csv", "delimiter": "tab"}, follow=True)
    assert refused.status_code == 200
    assert Export.objects.filter(requested_by=people["animator"]).count() == 1
