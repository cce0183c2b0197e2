"""Animator access requests, end to end against a real SMTP server on loopback."""

from __future__ import annotations

import pytest
from django.test import Client

from antenne.accounts.models import AccessRequest, Team, User
from antenne.core.models import AuditEntry
from antenne.core.permissions import Role
from antenne.outbox.models import MailboxMessage
from tests.conftest import client_for
from tests.factories import AccessRequestFactory, TeamFactory
from tests.helpers import drain_tasks, links_in

pytestmark = pytest.mark.django_db(transaction=True)

FORM = {
    "email": "Lea.Dupont@Service.example",
    "full_name": "Léa Dupont",
    "team_name": "Mission Données",
    "team_contact_email": "contact@donnees.example",
    "reason": "Un cycle de webinaires <b>mensuels</b> pour les collectivités.",
}


def test_request_to_approval_to_login_over_smtp(smtp_server, admin):
    second_admin = User.objects.create(email="admin2@service.example", role=Role.ADMIN)
    visitor = Client()
    response = visitor.post("/access/request/", FORM)
    assert response.status_code == 302
    assert response["Location"] == "/access/request/sent/"
    drain_tasks()

    # Every admin is told, with a link to the request.
    for address in (admin.email, second_admin.email):
        [notice] = smtp_server.to(address)
        assert "Léa Dupont" in notice["Subject"]
        assert notice["Auto-Submitted"] == "auto-generated"
        assert notice["Message-ID"]
        text = smtp_server.text(notice)
        assert "Mission Données" in text
        assert "<b>mensuels</b>" in text  # plain text part keeps the words as typed
        html = notice.get_body(preferencelist=("html",)).get_content()
        assert "&lt;b&gt;mensuels&lt;/b&gt;" in html  # the HTML part escapes them
    [review_url] = [
        u for u in links_in(smtp_server.text(smtp_server.to(admin.email)[0])) if "/app/" in u
    ]
    review_path = review_url.removeprefix("https://antenne.test")

    reviewer = client_for(admin)
    page = reviewer.get(review_path)
    assert page.status_code == 200
    assert "Léa Dupont" in page.content.decode()
    response = reviewer.post(review_path, {"decision": "approve", "message": "Bienvenue !"})
    assert response.status_code == 302
    drain_tasks()

    user = User.objects.get(email="lea.dupont@service.example")
    assert user.role == Role.ANIMATOR
    assert user.team == Team.objects.get(name="Mission Données")
    assert user.team.contact_email == "contact@donnees.example"

    [approval] = smtp_server.to("lea.dupont@service.example")
    text = smtp_server.text(approval)
    assert "Bienvenue !" in text
    [login_link] = [
        u for u in links_in(text) if "/login/" in u and u.rstrip("/").split("/")[-1] != "login"
    ]
    path = login_link.removeprefix("https://antenne.test")
    requester = Client()
    assert requester.get(path).status_code == 200
    assert requester.post(path).status_code == 302
    dashboard = requester.get("/app/")
    assert dashboard.status_code == 200
    assert dashboard.wsgi_request.user == user

    codes = set(AuditEntry.objects.values_list("action", flat=True))
    assert {
        "accounts.access_request.created",
        "accounts.access_request.approved",
        "accounts.member.added",
        "accounts.team.created",
        "accounts.login",
        "mailing.email.sent",
    } <= codes


def test_duplicate_pending_requests_are_merged(admin):
    visitor = Client()
    visitor.post("/access/request/", FORM)
    visitor.post(
        "/access/request/", {**FORM, "email": "lea.dupont@service.example", "reason": "Précision."}
    )
    drain_tasks()
    [request] = AccessRequest.objects.all()
    assert request.times_requested == 2
    assert request.reason == FORM["reason"]  # a repeat is counted, never rewrites it
    # Admins are told once, not once per repeat.
    assert AuditEntry.objects.filter(action="accounts.access_request.created").count() == 1
    assert MailboxMessage.objects.filter(to=admin.email).count() == 1

    # The address's owner confirms the new text from the link emailed to them.
    [offer] = MailboxMessage.objects.filter(to="lea.dupont@service.example")
    [link] = [u for u in links_in(offer.body_text) if "/access/request/update/" in u]
    path = link.removeprefix("https://antenne.test")
    owner = Client()
    page = owner.get(path)
    assert page.status_code == 200
    assert "Précision." in page.content.decode()
    request.refresh_from_db()
    assert request.reason == FORM["reason"]  # a GET (a mail scanner) changes nothing
    assert owner.post(path).status_code == 200
    request.refresh_from_db()
    assert request.reason == "Précision."
    assert AuditEntry.objects.filter(action="accounts.access_request.updated").exists()

    # Once the request is decided, the link is dead.
    client_for(admin).post(
        f"/app/access-requests/{request.pk}/", {"decision": "refuse", "message": "Non."}
    )
    assert owner.post(path).status_code == 400
    assert Client().get(path[:-3] + "xx/").status_code == 400  # a forged link


def test_strangers_cannot_flood_an_address_with_update_links(admin):
    Client().post("/access/request/", FORM)
    for n in range(6):
        stranger = Client(REMOTE_ADDR=f"192.0.2.{n + 1}")
        stranger.post("/access/request/", {**FORM, "reason": f"Version {n}."})
    drain_tasks()
    offers = MailboxMessage.objects.filter(to="lea.dupont@service.example")
    assert offers.count() == 3  # at most 3 offers per address and hour
    assert AccessRequest.objects.get().times_requested == 7


def test_a_new_request_after_a_decision_is_a_new_request(admin):
    AccessRequestFactory(email=FORM["email"].lower(), status=AccessRequest.Status.REFUSED)
    Client().post("/access/request/", FORM)
    assert AccessRequest.objects.filter(status="pending").count() == 1


def test_workspace_domains_are_enforced(admin, settings):
    settings.WORKSPACE_EMAIL_DOMAINS = ["numerique.gouv.fr"]
    response = Client().post("/access/request/", FORM)
    assert response.status_code == 422
    assert "@numerique.gouv.fr" in response.content.decode()
    assert not AccessRequest.objects.exists()
    ok = Client().post("/access/request/", {**FORM, "email": "lea@numerique.gouv.fr"})
    assert ok.status_code == 302


def test_missing_fields_are_listed_and_nothing_is_saved(db):
    response = Client().post("/access/request/", {"email": "x@service.example"})
    assert response.status_code == 422
    body = response.content.decode()
    for field in ("full_name", "team_name", "team_contact_email", "reason"):
        assert f'href="#id_{field}"' in body
    assert 'value="x@service.example"' in body  # what was typed is kept
    assert not AccessRequest.objects.exists()


def test_access_requests_are_rate_limited(db, settings):
    settings.RATE_LIMIT_ACCESS_REQUEST = (2, 3600)
    visitor = Client()
    statuses = [
        visitor.post("/access/request/", {**FORM, "email": f"p{i}@service.example"}).status_code
        for i in range(3)
    ]
    assert statuses == [302, 302, 429]


def test_refusal_needs_a_message_and_tells_the_requester(admin):
    request = AccessRequestFactory()
    reviewer = client_for(admin)
    url = f"/app/access-requests/{request.pk}/"
    response = reviewer.post(url, {"decision": "refuse", "message": "  "})
    assert response.status_code == 422
    request.refresh_from_db()
    assert request.status == AccessRequest.Status.PENDING
    response = reviewer.post(url, {"decision": "refuse", "message": "Voyez avec votre équipe."})
    assert response.status_code == 302
    drain_tasks()
    request.refresh_from_db()
    assert request.status == AccessRequest.Status.REFUSED
    assert request.decided_by == admin
    message = MailboxMessage.objects.get(to=request.email)
    assert "Voyez avec votre équipe." in message.body_text
    assert not User.objects.filter(email=request.email).exists()


def test_a_decided_request_cannot_be_decided_again(admin):
    request = AccessRequestFactory(status=AccessRequest.Status.REFUSED, decision_message="Non.")
    response = client_for(admin).post(
        f"/app/access-requests/{request.pk}/", {"decision": "approve"}
    )
    assert response.status_code == 422
    assert not User.objects.filter(email=request.email).exists()


def test_approving_an_existing_member_promotes_them_into_an_existing_team(admin, member):
    team = TeamFactory(name="Mission Données")
    request = AccessRequestFactory(email=member.email, team_name="mission données")
    client_for(admin).post(f"/app/access-requests/{request.pk}/", {"decision": "approve"})
    member.refresh_from_db()
    assert member.role == Role.ANIMATOR
    assert member.team == team
    assert Team.objects.count() == 1
    assert AuditEntry.objects.filter(
        action="accounts.role.changed", object_id=str(member.pk)
    ).exists()


def test_approving_keeps_an_admin_admin(admin):
    request = AccessRequestFactory(email=admin.email)
    client_for(admin).post(f"/app/access-requests/{request.pk}/", {"decision": "approve"})
    admin.refresh_from_db()
    assert admin.role == Role.ADMIN


def test_nobody_rewrites_someone_elses_pending_request(admin):
    """Issue 16 §10: the form proves nothing about who typed the address, so a second
    request for it cannot change the pending one (its name, team, team address, reason)."""
    Client().post("/access/request/", FORM)  # Léa's own request
    attacker = Client()
    response = attacker.post(
        "/access/request/",
        {
            **FORM,
            "full_name": "Mallory",
            "team_name": "Équipe Mallory",
            "team_contact_email": "mallory@evil.example",
            "reason": "Approuvez vite, c'est urgent.",
        },
    )
    assert response.status_code == 302  # the same answer as any request: nothing to learn
    assert response["Location"] == "/access/request/sent/"
    [request] = AccessRequest.objects.all()
    assert (
        request.full_name,
        request.team_name,
        request.team_contact_email,
        request.reason,
        request.times_requested,
    ) == ("Léa Dupont", "Mission Données", "contact@donnees.example", FORM["reason"], 2)
    page = client_for(admin).get(f"/app/access-requests/{request.pk}/").content.decode()
    assert "Mallory" not in page
    drain_tasks()
    # Only the address's owner is offered the new text (and ignores it).
    [offer] = MailboxMessage.objects.filter(to="lea.dupont@service.example")
    assert "/access/request/update/" in offer.body_text
    client_for(admin).post(f"/app/access-requests/{request.pk}/", {"decision": "approve"})
    user = User.objects.get(email="lea.dupont@service.example")
    assert user.team.name == "Mission Données"
    assert not Team.objects.filter(name="Équipe Mallory").exists()


def test_approving_never_reactivates_a_deactivated_account(admin, member):
    """Issue 16 §10: a deactivated member files a request (or anyone files one for their
    address): approving it must not bring the account back, nor promote it, on the side."""
    reviewer = client_for(admin)
    reviewer.post(f"/app/members/{member.pk}/", {"action": "deactivate"})
    Client().post("/access/request/", {**FORM, "email": member.email})
    request = AccessRequest.objects.get()
    url = f"/app/access-requests/{request.pk}/"
    refused = reviewer.post(url, {"decision": "approve", "message": "Bienvenue"})
    assert refused.status_code == 422
    member.refresh_from_db()
    request.refresh_from_db()
    assert (member.is_active, member.role, request.status) == (False, Role.MEMBER, "pending")
    assert not Team.objects.filter(name="Mission Données").exists()  # nothing half done
    assert not AuditEntry.objects.filter(action="accounts.member.reactivated").exists()

    # Reactivating is a decision of its own; then the request can be approved.
    reviewer.post(f"/app/members/{member.pk}/", {"action": "reactivate"})
    assert reviewer.post(url, {"decision": "approve"}).status_code == 302
    member.refresh_from_db()
    assert (member.is_active, member.role) == (True, Role.ANIMATOR)
