"""Headers, CSRF, escaping and languages: what every page must do."""

from __future__ import annotations

import ipaddress

import pytest
from django.test import Client

from antenne.accounts.models import AccessRequest
from tests.conftest import client_for

pytestmark = pytest.mark.django_db


def test_pages_carry_a_strict_csp_with_a_fresh_nonce(client):
    first = client.get("/login/")
    second = client.get("/login/")
    csp = first["Content-Security-Policy"]
    assert "script-src 'self' 'nonce-" in csp
    assert "frame-ancestors 'none'" in csp
    assert "unsafe-inline" not in csp
    nonce = csp.split("'nonce-", 1)[1].split("'", 1)[0]
    assert f'nonce="{nonce}"' in first.content.decode()
    assert second["Content-Security-Policy"] != csp
    assert first["X-Frame-Options"] == "DENY"
    assert first["X-Content-Type-Options"] == "nosniff"


def test_forms_refuse_posts_without_csrf_token(db):
    client = Client(enforce_csrf_checks=True)
    response = client.post("/access/request/", {"email": "a@b.example"})
    assert response.status_code == 403
    assert "request.csrf" in response.content.decode()
    assert not AccessRequest.objects.exists()


def test_french_by_default_whatever_the_browser_says(client):
    response = client.get("/login/", HTTP_ACCEPT_LANGUAGE="en-US,en;q=0.9")
    assert response["Content-Language"] == "fr"
    assert '<html lang="fr"' in response.content.decode()
    assert "Se connecter" in response.content.decode()


def test_language_switch_to_english_sticks(client):
    response = client.post("/i18n/setlang/", {"language": "en", "next": "/login/"})
    assert response.status_code == 302
    page = client.get("/login/")
    assert page["Content-Language"] == "en"
    assert "Send me a login link" in page.content.decode()


def test_user_text_is_escaped_in_the_back_office(admin):
    request = AccessRequest.objects.create(
        email="x@service.example",
        full_name="<script>alert(1)</script>",
        team_name="<img src=x onerror=alert(1)>",
        team_contact_email="t@service.example",
        reason="{{ settings.SECRET_KEY }}",
    )
    page = client_for(admin).get(f"/app/access-requests/{request.pk}/").content.decode()
    assert "<script>alert(1)</script>" not in page
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page
    assert "<img src=x" not in page
    assert "{{ settings.SECRET_KEY }}" in page  # shown as typed, never evaluated


def test_unknown_pages_are_friendly_404s(client):
    response = client.get("/nowhere/")
    assert response.status_code == 404
    assert "Page non trouvée" in response.content.decode()


def test_wrong_host_header_is_refused(client):
    response = client.get("/login/", HTTP_HOST="evil.example")
    assert response.status_code == 400


def test_pages_let_scripts_connect_to_this_site_only(client):
    csp = client.get("/login/")["Content-Security-Policy"]
    [connect_src] = [d.strip() for d in csp.split(";") if d.strip().startswith("connect-src")]
    # 'self', and the site's own WebSocket address (ANTENNE_BASE_URL is https://antenne.test
    # in tests) for browsers whose 'self' does not cover ws(s)://: never any host.
    assert connect_src == "connect-src 'self' wss://antenne.test"


def _guess_statuses(peer: str, forwarded: list[str]) -> list[int]:
    """Wrong join links from `peer`, each with its X-Forwarded-For."""
    client = Client(REMOTE_ADDR=peer)
    return [
        client.get(f"/join/guess{number}/", HTTP_X_FORWARDED_FOR=header).status_code
        for number, header in enumerate(forwarded)
    ]


def test_x_forwarded_for_is_believed_only_from_trusted_proxies(db, settings):
    settings.RATE_LIMIT_SECRET = (2, 600)
    rotating = [f"203.0.113.{n}" for n in range(1, 5)]
    # By default no proxy is trusted, loopback included: a forged header changes nothing.
    assert settings.TRUSTED_PROXIES == []
    assert _guess_statuses("127.0.0.1", rotating) == [404, 404, 429, 429]

    # Behind a trusted proxy, each client has its own count…
    settings.TRUSTED_PROXIES = [ipaddress.ip_network("10.0.0.0/30")]
    assert _guess_statuses("10.0.0.1", rotating) == [404, 404, 404, 404]
    # …kept whatever the client itself prepends, and through a chain of trusted proxies.
    forged = [f"198.51.100.{n}, 192.0.2.9, 10.0.0.2" for n in range(1, 4)]
    assert _guess_statuses("10.0.0.1", forged) == [404, 404, 429]
