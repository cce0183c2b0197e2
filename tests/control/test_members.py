"""Members, roles and teams in the back office, and the audit trail they leave."""

from __future__ import annotations

import pytest
from django.test import Client

from antenne.accounts import services
from antenne.accounts.models import ApiToken, Team, User
from antenne.core.models import AuditEntry
from antenne.core.permissions import Role
from antenne.outbox.models import MailboxMessage
from tests.conftest import client_for
from tests.factories import TeamFactory, UserFactory
from tests.helpers import drain_tasks

pytestmark = pytest.mark.django_db(transaction=True)


def test_admin_adds_a_member_who_is_told_by_email(admin):
    team = TeamFactory()
    response = client_for(admin).post(
        "/app/members/",
        {
            "email": "Nouveau@Service.example",
            "full_name": "Nouveau",
            "role": "animator",
            "team": team.pk,
        },
    )
    assert response.status_code == 302
    drain_tasks()
    user = User.objects.get(email="nouveau@service.example")
    assert (user.role, user.team) == (Role.ANIMATOR, team)
    welcome = MailboxMessage.objects.get(to=user.email)
    assert "https://antenne.test/login/" in welcome.body_text
    again = client_for(admin).post(
        "/app/members/", {"email": "nouveau@service.example", "role": "member"}
    )
    assert again.status_code == 422
    assert User.objects.filter(email="nouveau@service.example").count() == 1


def test_role_change_is_audited_with_before_and_after(admin, member):
    response = client_for(admin).post(
        f"/app/members/{member.pk}/", {"action": "role", "role-role": "animator"}
    )
    assert response.status_code == 302
    member.refresh_from_db()
    assert member.role == Role.ANIMATOR
    entry = AuditEntry.objects.get(action="accounts.role.changed")
    assert (entry.actor, entry.object_id) == (admin, str(member.pk))
    assert entry.data == {"from": "member", "to": "animator"}


def test_the_last_admin_cannot_demote_or_deactivate_themselves(admin):
    client = client_for(admin)
    client.post(f"/app/members/{admin.pk}/", {"action": "role", "role-role": "member"})
    client.post(f"/app/members/{admin.pk}/", {"action": "deactivate"})
    admin.refresh_from_db()
    assert (admin.role, admin.is_active) == (Role.ADMIN, True)
    page = client.get(f"/app/members/{admin.pk}/")
    assert page.status_code == 200


def test_deactivation_revokes_tokens_and_ends_sessions(admin, member):
    services.create_api_token(actor=None, user=member)
    member_session = client_for(member)
    assert member_session.get("/app/").status_code == 200
    client_for(admin).post(f"/app/members/{member.pk}/", {"action": "deactivate"})
    member.refresh_from_db()
    assert not member.is_active
    assert not ApiToken.objects.filter(user=member, revoked_at__isnull=True).exists()
    assert member_session.get("/app/")["Location"].startswith("/login/")


def test_invalid_role_is_refused_and_nothing_changes(admin, member):
    response = client_for(admin).post(
        f"/app/members/{member.pk}/", {"action": "role", "role-role": "emperor"}
    )
    assert response.status_code == 422
    assert "emperor" in response.content.decode()  # the error names the bad choice
    member.refresh_from_db()
    assert member.role == Role.MEMBER


def test_members_search_and_role_filter(admin):
    UserFactory(email="alice@service.example", full_name="Alice Zed", role=Role.ANIMATOR)
    UserFactory(email="bob@service.example", full_name="Bob Zed", role=Role.MEMBER)
    page = client_for(admin).get("/app/members/", {"q": "zed", "role": "animator"}).content.decode()
    assert "alice@service.example" in page
    assert "bob@service.example" not in page


def test_teams_are_unique_case_insensitively(admin):
    TeamFactory(name="Mission Données")
    response = client_for(admin).post(
        "/app/teams/", {"name": "mission  données", "contact_email": "x@y.example"}
    )
    assert response.status_code == 422
    assert Team.objects.count() == 1


def test_members_see_teams_but_cannot_create_them(member):
    client = client_for(member)
    assert client.get("/app/teams/").status_code == 200
    assert (
        client.post("/app/teams/", {"name": "X", "contact_email": "x@y.example"}).status_code == 403
    )
    assert not Team.objects.exists()


def test_audit_log_filters(admin, member):
    services.change_role(actor=admin, user=member, role=Role.ANIMATOR)
    services.save_team(actor=admin, name="Équipe", contact_email="e@x.example")
    client = client_for(admin)
    page = client.get("/app/audit/", {"action": "accounts.role.changed"}).content.decode()
    assert 'data-action="accounts.role.changed"' in page
    assert 'data-action="accounts.team.created"' not in page
    by_actor = client.get("/app/audit/", {"actor": "nobody@"}).content.decode()
    assert 'data-action="accounts.role.changed"' not in by_actor
    bad = client.get("/app/audit/", {"since": "not-a-date"})
    assert bad.status_code == 200  # a bad filter is reported, not a crash


def test_member_creates_and_revokes_own_token(member, client):
    member_client = client_for(member)
    page = member_client.post("/app/tokens/", {"name": "script"}).content.decode()
    token = ApiToken.objects.get(user=member)
    raw = page.split('class="antenne-token">', 1)[1].split("<", 1)[0]
    assert raw.startswith(token.prefix)
    assert client.get("/api/v1/me", HTTP_AUTHORIZATION=f"Bearer {raw}").status_code == 200
    member_client.post(f"/app/tokens/{token.pk}/revoke/")
    assert client.get("/api/v1/me", HTTP_AUTHORIZATION=f"Bearer {raw}").status_code == 401


def test_nobody_revokes_someone_elses_token(member, animator):
    token, _raw = services.create_api_token(actor=None, user=animator)
    assert client_for(member).post(f"/app/tokens/{token.pk}/revoke/").status_code == 404
    token.refresh_from_db()
    assert token.revoked_at is None


def _path(url: str) -> str:
    return url.removeprefix("https://antenne.test")


def _sent_to_login(client: Client) -> bool:
    response = client.get("/app/")
    return response.status_code == 302 and response["Location"].startswith("/login/")


def test_deactivation_ends_every_way_in_for_good(admin, member):
    """Issue 16 §12: a deactivated member's session cookie, API token, calendar feed URL and
    unused login link must not work again once an admin reactivates the account."""
    browser = Client()
    assert browser.post(_path(services.issue_login_url(user=member))).status_code == 302
    assert browser.get("/app/").status_code == 200
    _token, raw = services.create_api_token(actor=member, user=member, name="script")
    bearer = {"HTTP_AUTHORIZATION": f"Bearer {raw}"}
    assert Client().get("/api/v1/me", **bearer).status_code == 200
    assert browser.get("/app/calendar/feed/").status_code == 200
    member.refresh_from_db()
    feed = f"/calendar/{member.calendar_token}.ics"
    assert Client().get(feed).status_code == 200
    unused_link = _path(services.issue_login_url(user=member))  # emailed, not yet clicked

    reviewer = client_for(admin)
    reviewer.post(f"/app/members/{member.pk}/", {"action": "deactivate"})
    assert _sent_to_login(browser)
    reviewer.post(f"/app/members/{member.pk}/", {"action": "reactivate"})
    member.refresh_from_db()
    assert member.is_active

    # The old cookie, token, feed URL and link stay dead after the reactivation.
    assert _sent_to_login(browser)
    assert Client().get("/api/v1/me", **bearer).status_code == 401
    assert Client().get(feed).status_code == 404
    late = Client()
    assert late.post(unused_link).status_code == 400
    assert _sent_to_login(late)
    entry = AuditEntry.objects.get(action="accounts.member.deactivated")
    assert entry.data == {"api_tokens_revoked": 1, "login_links_voided": 1, "calendar_feed": True}

    # The member logs in again like anyone, and gets a new feed URL.
    again = Client()
    assert again.post(_path(services.issue_login_url(user=member))).status_code == 302
    assert again.get("/app/").status_code == 200
    again.get("/app/calendar/feed/")
    member.refresh_from_db()
    assert member.calendar_token
    assert f"/calendar/{member.calendar_token}.ics" != feed
