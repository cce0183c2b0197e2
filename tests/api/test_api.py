"""REST API v1: token auth, roles, error format."""

from __future__ import annotations

import pytest
from django.test import Client

from antenne.accounts import services
from antenne.accounts.models import User
from antenne.core.permissions import Role
from tests.factories import AccessRequestFactory

pytestmark = pytest.mark.django_db


def bearer(user) -> dict[str, str]:
    _token, raw = services.create_api_token(actor=None, user=user, name="test")
    return {"HTTP_AUTHORIZATION": f"Bearer {raw}"}


def test_me_returns_the_token_user_and_role(client, animator):
    response = client.get("/api/v1/me", **bearer(animator))
    assert response.status_code == 200
    body = response.json()
    assert body["email"] == animator.email
    assert body["role"] == "animator"


@pytest.mark.parametrize("header", ["Bearer ant_unknown", "Bearer ", "Basic Zm9vOmJhcg==", None])
def test_unknown_or_missing_token_is_401_json(client, db, header):
    extra = {"HTTP_AUTHORIZATION": header} if header is not None else {}
    response = client.get("/api/v1/me", **extra)
    assert response.status_code == 401
    assert response.json()["code"] == "auth.unauthenticated"


def test_revoked_token_and_deactivated_user_are_401(client, member):
    token, raw = services.create_api_token(actor=None, user=member)
    services.revoke_api_token(actor=member, token=token)
    assert client.get("/api/v1/me", HTTP_AUTHORIZATION=f"Bearer {raw}").status_code == 401
    headers = bearer(member)
    User.objects.filter(pk=member.pk).update(is_active=False)
    assert client.get("/api/v1/me", **headers).status_code == 401


ADMIN_ROUTES = [
    ("get", "/api/v1/members", None),
    ("get", "/api/v1/access-requests", None),
    ("post", "/api/v1/access-requests/{req}/approve", {}),
    ("post", "/api/v1/access-requests/{req}/refuse", {"message": "non"}),
    ("put", "/api/v1/members/{member}/role", {"role": "admin"}),
    ("get", "/api/v1/audit", None),
]


@pytest.mark.parametrize(("method", "path", "body"), ADMIN_ROUTES)
@pytest.mark.parametrize("role", [Role.MEMBER, Role.ANIMATOR])
def test_admin_routes_are_403_for_other_roles(client, admin, method, path, body, role):
    user = User.objects.create(email=f"{role}@x.example", role=role)
    request = AccessRequestFactory()
    url = path.format(req=request.pk, member=user.pk)
    kwargs = {"content_type": "application/json", "data": body} if body is not None else {}
    response = getattr(client, method)(url, **kwargs, **bearer(user))
    assert response.status_code == 403
    assert response.json()["code"] == "permission.admin_only"
    user.refresh_from_db()
    assert user.role == role  # nothing changed
    request.refresh_from_db()
    assert request.status == "pending"


def test_admin_can_approve_through_the_api(client, admin):
    request = AccessRequestFactory(email="api@service.example")
    response = client.post(
        f"/api/v1/access-requests/{request.pk}/approve",
        data={"message": "ok"},
        content_type="application/json",
        **bearer(admin),
    )
    assert response.status_code == 200
    assert response.json()["role"] == "animator"
    again = client.post(
        f"/api/v1/access-requests/{request.pk}/approve",
        data={},
        content_type="application/json",
        **bearer(admin),
    )
    assert again.status_code == 409
    assert again.json()["code"] == "access_request.decided"


def test_approving_a_deactivated_account_is_refused_through_the_api(client, admin, member):
    services.set_active(actor=admin, user=member, active=False)
    request = AccessRequestFactory(email=member.email)
    response = client.post(
        f"/api/v1/access-requests/{request.pk}/approve",
        data={"message": ""},
        content_type="application/json",
        **bearer(admin),
    )
    assert response.status_code == 409
    assert response.json()["code"] == "access_request.account_deactivated"
    member.refresh_from_db()
    assert (member.is_active, member.role) == (False, Role.MEMBER)


def test_unknown_keys_and_bad_values_are_422_with_a_code(client, admin, member):
    headers = bearer(admin)
    extra = client.put(
        f"/api/v1/members/{member.pk}/role",
        data={"role": "admin", "surprise": 1},
        content_type="application/json",
        **headers,
    )
    assert extra.status_code == 422
    assert extra.json()["code"] == "request.invalid"
    bad_role = client.put(
        f"/api/v1/members/{member.pk}/role",
        data={"role": "emperor"},
        content_type="application/json",
        **headers,
    )
    assert bad_role.status_code == 422
    assert bad_role.json()["code"] == "request.invalid"  # not in the schema's enum
    broken = client.put(
        f"/api/v1/members/{member.pk}/role",
        data="{not json",
        content_type="application/json",
        **headers,
    )
    assert broken.status_code == 400
    assert broken.json()["code"] == "request.malformed"


def test_last_admin_cannot_be_demoted(client, admin):
    response = client.put(
        f"/api/v1/members/{admin.pk}/role",
        data={"role": "member"},
        content_type="application/json",
        **bearer(admin),
    )
    assert response.status_code == 409
    assert response.json()["code"] == "member.last_admin"


def test_unknown_objects_and_paths_are_404_json(client, admin):
    headers = bearer(admin)
    response = client.post(
        "/api/v1/access-requests/999999/approve",
        data={},
        content_type="application/json",
        **headers,
    )
    assert response.status_code == 404
    assert response.json()["code"] == "access_request.not_found"
    nowhere = client.get("/api/v1/nowhere", **headers)
    assert nowhere.status_code == 404
    assert nowhere.json()["code"] == "not_found"


def test_openapi_and_healthz(db):
    client = Client()
    schema = client.get("/api/v1/openapi.json")
    assert schema.status_code == 200
    assert "/api/v1/me" in schema.json()["paths"]
    health = client.get("/healthz")
    assert health.status_code == 200
    assert health.json() == {"status": "ok"}


def test_bad_tokens_are_rate_limited(client, db, settings):
    settings.RATE_LIMIT_SECRET = (3, 600)
    statuses = [
        client.get("/api/v1/me", HTTP_AUTHORIZATION=f"Bearer ant_guess{i}").status_code
        for i in range(5)
    ]
    assert statuses == [401, 401, 401, 429, 429]
