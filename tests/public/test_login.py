"""Passwordless login by emailed link."""

from __future__ import annotations

from datetime import timedelta
from urllib.parse import urlencode

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import timezone
from django_tasks_db.models import DBTaskResult

from antenne.accounts.models import LoginToken
from antenne.core.models import AuditEntry
from antenne.outbox.models import MailboxMessage
from tests.helpers import drain_tasks, links_in

pytestmark = pytest.mark.django_db(transaction=True)

LOGIN = "/login/"


def _login_link_for(address: str) -> str:
    message = MailboxMessage.objects.get(to=address)
    [link] = [u for u in links_in(message.body_text) if "/login/" in u]
    return link


def test_login_link_round_trip_logs_in(client, admin):
    response = client.post(LOGIN, {"email": "  ADMIN@service.example "})
    assert response.status_code == 302
    assert response["Location"] == reverse("public:login_sent")
    drain_tasks()

    link = _login_link_for(admin.email)
    assert link.startswith("https://antenne.test/login/")  # ANTENNE_BASE_URL, not the Host
    path = link.removeprefix("https://antenne.test")

    # A mail scanner's GET shows a confirmation page and consumes nothing.
    for _ in range(3):
        page = client.get(path)
        assert page.status_code == 200
        assert b'method="post"' in page.content
    assert client.get(reverse("control:dashboard")).status_code == 302  # still anonymous

    response = client.post(path)
    assert response.status_code == 302
    assert response["Location"] == reverse("control:dashboard")
    assert client.get(reverse("control:dashboard")).status_code == 200
    assert AuditEntry.objects.filter(action="accounts.login", actor=admin).exists()

    # Single use: a second device posting the same link is refused with a clear page.
    other = type(client)()
    again = other.post(path)
    assert again.status_code == 400
    assert b"login.link_used" not in again.content  # codes stay internal, the text explains
    assert LoginToken.objects.get().used_at is not None


def test_expired_link_is_refused(client, admin):
    client.post(LOGIN, {"email": admin.email})
    drain_tasks()
    path = _login_link_for(admin.email).removeprefix("https://antenne.test")
    LoginToken.objects.update(expires_at=timezone.now() - timedelta(seconds=1))
    response = client.post(path)
    assert response.status_code == 400
    assert client.get(reverse("control:dashboard")).status_code == 302


def test_link_validity_is_fifteen_minutes_by_default(client, admin):
    client.post(LOGIN, {"email": admin.email})
    drain_tasks()
    token = LoginToken.objects.get()
    lifetime = token.expires_at - token.created_at
    assert timedelta(minutes=14, seconds=59) < lifetime <= timedelta(minutes=15, seconds=1)


def test_deactivated_member_cannot_use_a_link_issued_before(client, admin, member):
    client.post(LOGIN, {"email": member.email})
    drain_tasks()
    path = _login_link_for(member.email).removeprefix("https://antenne.test")
    member.is_active = False
    member.save()
    assert client.post(path).status_code == 400


def test_known_and_unknown_addresses_get_the_same_answer(client, admin):
    known = client.post(LOGIN, {"email": admin.email})
    tasks_after_known = DBTaskResult.objects.count()
    unknown = client.post(LOGIN, {"email": "nobody@service.example"})
    assert known.status_code == unknown.status_code == 302
    assert known["Location"] == unknown["Location"]
    # Both queue exactly one task: no difference in work done inside the request either.
    assert DBTaskResult.objects.count() == tasks_after_known * 2 == 2
    sent = client.get(known["Location"])
    assert sent.status_code == 200
    drain_tasks()
    assert MailboxMessage.objects.filter(to=admin.email).count() == 1
    assert MailboxMessage.objects.count() == 1


def test_invalid_email_shows_error_summary(client, db):
    response = client.post(LOGIN, {"email": "not-an-email"})
    assert response.status_code == 422
    assert b'id="error-summary"' in response.content
    assert b'href="#id_email"' in response.content


def test_login_requests_are_rate_limited(client, admin, settings):
    settings.RATE_LIMIT_LOGIN = (3, 900)
    statuses = [client.post(LOGIN, {"email": admin.email}).status_code for _ in range(5)]
    assert statuses == [302, 302, 302, 429, 429]


def test_strangers_cannot_lock_a_member_out_of_login(admin, settings):
    """The audit's attack: posts of the login form for a member's address from many client
    addresses. None is refused, the member's own request answers as always, at most the
    limit's links reach the mailbox, and the member can log in with the last one."""
    settings.RATE_LIMIT_LOGIN = (5, 900)
    for number in range(8):
        attack = Client(REMOTE_ADDR=f"203.0.113.{number}").post(LOGIN, {"email": admin.email})
        assert attack.status_code == 302, number
        assert attack["Location"] == reverse("public:login_sent")
    own = Client(REMOTE_ADDR="198.51.100.7")
    response = own.post(LOGIN, {"email": admin.email})
    assert response.status_code == 302
    assert response["Location"] == reverse("public:login_sent")
    assert own.get(response["Location"]).status_code == 200
    drain_tasks()
    messages = MailboxMessage.objects.filter(to=admin.email).order_by("pk")
    assert messages.count() == 5  # what is limited per address is what is sent
    [link] = [u for u in links_in(messages.last().body_text) if "/login/" in u]
    assert own.post(link.removeprefix("https://antenne.test")).status_code == 302
    assert own.get(reverse("control:dashboard")).status_code == 200


def test_one_client_address_is_still_refused_whatever_the_addresses_it_types(db, settings):
    settings.RATE_LIMIT_LOGIN = (3, 900)
    browser = Client(REMOTE_ADDR="203.0.113.50")
    statuses = [
        browser.post(LOGIN, {"email": f"x{n}@service.example"}).status_code for n in range(5)
    ]
    assert statuses == [302, 302, 302, 429, 429]
    # Another client is not affected.
    assert (
        Client(REMOTE_ADDR="203.0.113.51").post(LOGIN, {"email": "y@x.example"}).status_code == 302
    )


def test_guessing_links_is_rate_limited(client, db, settings):
    settings.RATE_LIMIT_SECRET = (4, 600)
    statuses = [client.post(f"/login/guess{i}/").status_code for i in range(6)]
    assert statuses == [400, 400, 400, 400, 429, 429]


def test_next_parameter_only_redirects_inside_antenne(client, admin):
    client.post(LOGIN, {"email": admin.email})
    drain_tasks()
    path = _login_link_for(admin.email).removeprefix("https://antenne.test")
    response = client.post(path + "?next=https://evil.example/")
    assert response["Location"] == reverse("control:dashboard")


def test_next_survives_the_emailed_link(client, admin):
    """A member opening a back-office page while logged out lands there after the link."""
    wanted = reverse("control:audit") + "?page=2&action=accounts.login"
    login_page = client.get(wanted)
    assert login_page.status_code == 302
    form_url = login_page["Location"]  # /login/?next=…: the form posts to its own address
    assert client.post(form_url, {"email": admin.email}).status_code == 302
    drain_tasks()
    link = _login_link_for(admin.email)
    path = link.removeprefix("https://antenne.test")
    assert client.get(path).status_code == 200  # the confirmation posts to its own address
    response = client.post(path)
    assert response.status_code == 302
    assert response["Location"] == wanted


@pytest.mark.parametrize(
    "target",
    ["https://evil.example/", "//evil.example/", "/\\evil.example/", "/\t/evil.example/"],
)
def test_next_to_another_site_is_dropped_before_the_email(client, admin, target):
    client.post(f"{LOGIN}?{urlencode({'next': target})}", {"email": admin.email})
    drain_tasks()
    link = _login_link_for(admin.email)
    assert "next=" not in link
    path = link.removeprefix("https://antenne.test")
    # Added to the link by hand, it is refused again when the link is used.
    response = client.post(f"{path}?{urlencode({'next': target})}")
    assert response["Location"] == reverse("control:dashboard")


def test_logout_is_a_post_and_is_audited(client, admin):
    client.force_login(admin)
    assert client.get("/logout/").status_code == 405
    response = client.post("/logout/")
    assert response.status_code == 302
    assert AuditEntry.objects.filter(action="accounts.logout", actor=admin).exists()
    assert client.get(reverse("control:dashboard")).status_code == 302
