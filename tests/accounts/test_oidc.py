"""OpenID Connect (ProConnect) login, end to end against a real OpenID provider on loopback.

This module is also the tests' URLconf (see `__getattr__`): antenne's URLs plus `oidc/`, as
when ANTENNE_OIDC_ISSUER is set."""

from __future__ import annotations

import functools
import json
import logging
import secrets
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qsl, urlencode, urlsplit

import jwt
import pytest
import requests
from cryptography.hazmat.primitives.asymmetric import rsa
from django.urls import include, path, reverse

import antenne.urls as antenne_urls
from antenne.accounts.models import User
from antenne.core.models import AuditEntry
from tests.factories import UserFactory

CLIENT_ID, CLIENT_SECRET, KID = "antenne-test", "client-secret", "op-key-1"
CALLBACK = "http://testserver/oidc/callback/"
NOT_A_MEMBER = "Votre identité ne correspond à aucun membre de cet espace de travail."


def __getattr__(name: str):
    """Built on first use, once the `op` fixture's settings are in place, because
    mozilla_django_oidc.urls reads OIDC_CALLBACK_CLASS when it is imported."""
    if name == "urlpatterns":
        return [path("oidc/", include("mozilla_django_oidc.urls")), *antenne_urls.urlpatterns]
    if name.startswith("handler"):
        return getattr(antenne_urls, name)
    raise AttributeError(name)


@functools.cache
def _key(owner: str) -> rsa.RSAPrivateKey:
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


class FakeProConnect(ThreadingHTTPServer):
    """A small OpenID provider: /authorize, /token, /jwks and a signed-JWT /userinfo."""

    def __init__(self) -> None:
        super().__init__(("127.0.0.1", 0), _Handler)
        self.url = f"http://127.0.0.1:{self.server_port}"
        self.identity: dict[str, str] = {}  # what the person proves at the next /authorize
        self.tamper: str | None = None  # "signature", "nonce": forge the id_token; "code": refuse
        self.grants: dict[str, tuple[str, str, dict[str, str]]] = {}
        self.tokens: dict[str, dict[str, str]] = {}

    def sign(self, claims: dict[str, str], key: rsa.RSAPrivateKey | None = None) -> str:
        now = int(time.time())
        payload = {"iss": self.url, "aud": CLIENT_ID, "iat": now, "exp": now + 60, **claims}
        return jwt.encode(payload, key or _key("op"), algorithm="RS256", headers={"kid": KID})


class _Handler(BaseHTTPRequestHandler):
    server: FakeProConnect

    def log_message(self, format: str, *args: object) -> None:  # quiet test output
        pass

    def _send(self, status: int, body: str = "", kind: str = "application/json", **headers):
        data = body.encode()
        self.send_response(status)
        self.send_header("Content-Type", kind)
        self.send_header("Content-Length", str(len(data)))
        for name, value in headers.items():
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(data)

    def do_GET(self) -> None:
        url, op = urlsplit(self.path), self.server
        query = dict(parse_qsl(url.query))
        if url.path == "/authorize":  # the person logs in, the OP sends the browser back
            code = secrets.token_urlsafe(16)
            op.grants[code] = (query["nonce"], query["redirect_uri"], dict(op.identity))
            back = urlencode({"code": code, "state": query["state"]})
            self._send(302, Location=f"{query['redirect_uri']}?{back}")
        elif url.path == "/jwks":
            jwk = jwt.algorithms.RSAAlgorithm.to_jwk(_key("op").public_key(), as_dict=True)
            self._send(200, json.dumps({"keys": [{**jwk, "kid": KID, "alg": "RS256"}]}))
        elif url.path == "/userinfo":
            bearer = self.headers.get("Authorization", "").removeprefix("Bearer ")
            if bearer in op.tokens:
                self._send(200, op.sign(op.tokens[bearer]), kind="application/jwt")
            else:
                self._send(401)
        else:
            self._send(404)

    def do_POST(self) -> None:
        op = self.server
        form = dict(parse_qsl(self.rfile.read(int(self.headers["Content-Length"])).decode()))
        nonce, redirect_uri, claims = op.grants.pop(form.get("code", ""), ("", "", {}))
        client = {"client_id": CLIENT_ID, "client_secret": CLIENT_SECRET}
        grant = {"grant_type": "authorization_code", "redirect_uri": redirect_uri}
        refused = op.tamper == "code" or self.path != "/token" or not claims
        if refused or form != {**form, **client, **grant}:
            self._send(400, json.dumps({"error": "invalid_grant"}))
            return
        access_token = secrets.token_urlsafe(16)
        op.tokens[access_token] = claims
        id_claims = {"sub": claims["sub"], "acr": "eidas1", "nonce": nonce}
        if op.tamper == "nonce":
            id_claims["nonce"] = "replayed-" + nonce
        key = _key("attacker") if op.tamper == "signature" else None
        token = {"access_token": access_token, "token_type": "Bearer", "expires_in": 60}
        self._send(200, json.dumps({**token, "id_token": op.sign(id_claims, key)}))


@pytest.fixture
def op(settings):
    server = FakeProConnect()
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05})
    thread.start()
    settings.OIDC_ENABLED = True
    settings.AUTHENTICATION_BACKENDS = [
        "django.contrib.auth.backends.ModelBackend",
        "antenne.accounts.oidc.AntenneOIDCBackend",
    ]
    settings.OIDC_RP_CLIENT_ID, settings.OIDC_RP_CLIENT_SECRET = CLIENT_ID, CLIENT_SECRET
    settings.OIDC_RP_SIGN_ALGO = "RS256"
    settings.OIDC_RP_SCOPES = "openid email given_name usual_name"
    settings.OIDC_OP_AUTHORIZATION_ENDPOINT = f"{server.url}/authorize"
    settings.OIDC_OP_TOKEN_ENDPOINT = f"{server.url}/token"
    settings.OIDC_OP_USER_ENDPOINT = f"{server.url}/userinfo"
    settings.OIDC_OP_JWKS_ENDPOINT = f"{server.url}/jwks"
    settings.OIDC_AUTH_REQUEST_EXTRA_PARAMS = {"acr_values": "eidas1"}
    settings.OIDC_USE_NONCE = True
    settings.OIDC_CREATE_USER = False
    settings.OIDC_STORE_ID_TOKEN = True
    settings.OIDC_TIMEOUT = 5
    settings.OIDC_CALLBACK_CLASS = "antenne.accounts.oidc.AntenneOIDCCallbackView"
    settings.LOGIN_REDIRECT_URL_FAILURE = "/login/?oidc=failed"
    settings.ROOT_URLCONF = __name__
    server.identity = {
        "sub": "proconnect-sub-1",
        "email": "Agent@Service.Example",
        "given_name": "Camille",
        "usual_name": "Agent",
    }
    try:
        yield server
    finally:
        server.shutdown()
        server.server_close()  # also joins the request threads
        thread.join(timeout=5)


def proconnect_login(client, op: FakeProConnect):
    """What the browser does: click the login page's button, log in at the OP, come back."""
    page = client.get("/login/")
    assert f'href="{reverse("oidc_authentication_init")}"' in page.content.decode()
    start = client.get(reverse("oidc_authentication_init"))
    assert start.status_code == 302
    authorize = urlsplit(start["Location"])
    assert f"{authorize.scheme}://{authorize.netloc}{authorize.path}" == f"{op.url}/authorize"
    params = dict(parse_qsl(authorize.query))
    assert params["client_id"] == CLIENT_ID
    assert params["response_type"] == "code"
    assert params["redirect_uri"] == CALLBACK
    assert params["acr_values"] == "eidas1"
    assert {"openid", "email"} <= set(params["scope"].split())
    assert len(params["state"]) >= 32
    assert len(params["nonce"]) >= 32

    at_op = requests.get(start["Location"], allow_redirects=False, timeout=5)
    assert at_op.status_code == 302
    back = urlsplit(at_op.headers["Location"])
    assert back._replace(query="").geturl() == CALLBACK
    query = dict(parse_qsl(back.query))
    assert query["state"] == params["state"]
    return client.get(back.path, query)


def logins_of(user: User) -> list[dict]:
    return list(
        AuditEntry.objects.filter(action="accounts.login", actor=user).values_list(
            "data", flat=True
        )
    )


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("name_before", "name_after"),
    [("", "Camille Agent"), ("Claude Existant", "Claude Existant")],
)
def test_member_logs_in_with_proconnect(client, op, name_before, name_after):
    member = UserFactory(email="agent@service.example", full_name=name_before)

    response = proconnect_login(client, op)

    assert response.status_code == 302
    assert response["Location"] == reverse("control:dashboard")
    dashboard = client.get(reverse("control:dashboard"))
    assert dashboard.status_code == 200
    assert name_after in dashboard.content.decode()
    member.refresh_from_db()
    assert member.full_name == name_after
    assert member.last_login is not None
    assert logins_of(member) == [{"method": "oidc"}]
    assert client.session["oidc_id_token"].count(".") == 2  # kept for the OP's logout


@pytest.mark.django_db
def test_unknown_identity_is_not_logged_in_nor_created(client, op):
    UserFactory(email="someone.else@service.example")

    response = proconnect_login(client, op)

    assert response.status_code == 302
    assert response["Location"] == "/login/?oidc=failed"
    page = client.get(response["Location"])
    assert page.status_code == 200
    assert NOT_A_MEMBER in page.content.decode()
    assert not User.objects.filter(email__iexact="agent@service.example").exists()
    assert User.objects.count() == 1
    assert client.get(reverse("control:dashboard")).status_code == 302


@pytest.mark.django_db
def test_deactivated_member_is_not_logged_in(client, op):
    member = UserFactory(email="agent@service.example", is_active=False)

    response = proconnect_login(client, op)

    assert response["Location"] == "/login/?oidc=failed"
    assert client.get(reverse("control:dashboard")).status_code == 302
    assert logins_of(member) == []


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("tamper", "reason"),
    [("signature", "JWS token verification failed"), ("nonce", "Nonce verification failed")],
)
def test_forged_id_token_is_refused(client, op, caplog, tamper, reason):
    member = UserFactory(email="agent@service.example")
    op.tamper = tamper

    with caplog.at_level(logging.ERROR, logger="django.security"):
        response = proconnect_login(client, op)

    assert response.status_code == 400
    assert reason in caplog.text
    assert client.get(reverse("control:dashboard")).status_code == 302
    assert logins_of(member) == []


@pytest.mark.django_db
def test_code_refused_by_the_provider_sends_back_to_login(client, op):
    member = UserFactory(email="agent@service.example")
    op.tamper = "code"

    response = proconnect_login(client, op)

    assert response["Location"] == "/login/?oidc=failed"
    page = client.get(response["Location"]).content.decode()
    assert "Le fournisseur d’identité n’a pas répondu comme prévu" in page
    assert client.get(reverse("control:dashboard")).status_code == 302
    assert logins_of(member) == []
