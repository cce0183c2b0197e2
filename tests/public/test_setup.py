"""The first-admin link printed by `antenne run` on an empty workspace."""

from __future__ import annotations

import pytest
from django.test import Client

from antenne.accounts import services
from antenne.accounts.models import User
from antenne.core.models import AuditEntry
from antenne.core.permissions import Role

pytestmark = pytest.mark.django_db


def _path(url: str) -> str:
    return url.removeprefix("https://antenne.test")


def test_setup_link_makes_the_first_admin_and_logs_them_in(client):
    path = _path(services.issue_setup_url())
    assert client.get(path).status_code == 200
    response = client.post(path, {"email": "Premiere@Service.example", "full_name": "Première"})
    assert response.status_code == 302
    admin = User.objects.get()
    assert (admin.email, admin.role) == ("premiere@service.example", Role.ADMIN)
    assert client.get("/app/members/").status_code == 200
    assert AuditEntry.objects.filter(action="accounts.admin.created").exists()
    assert AuditEntry.objects.filter(action="accounts.login", data__method="setup_link").exists()
    # Used once; and once an admin exists no setup link is issued or accepted any more.
    assert Client().get(path).status_code == 400
    assert services.issue_setup_url() is None


def test_a_new_setup_link_replaces_the_old_one(client):
    old = _path(services.issue_setup_url())
    new = _path(services.issue_setup_url())
    assert client.get(old).status_code == 400
    assert client.get(new).status_code == 200


def test_setup_link_stops_working_when_an_admin_appears_otherwise(client):
    path = _path(services.issue_setup_url())
    services.create_admin(email="cli@service.example")
    response = client.post(path, {"email": "late@service.example", "full_name": "Late"})
    assert response.status_code == 400
    assert not User.objects.filter(email="late@service.example").exists()


def test_setup_form_errors_keep_the_link_usable(client):
    path = _path(services.issue_setup_url())
    response = client.post(path, {"email": "nope", "full_name": ""})
    assert response.status_code == 422
    assert 'id="error-summary"' in response.content.decode()
    assert not User.objects.exists()
    assert client.post(path, {"email": "ok@service.example", "full_name": "Ok"}).status_code == 302
