"""Malformed requests answer 4xx, never 500 (issue 16, point 8): a NUL character in a path,
a query string or a session cookie (PostgreSQL refuses text holding one, so the query failed
with a server error), an over-long path, a body over DATA_UPLOAD_MAX_MEMORY_SIZE, a number
too large for the database. A server error that does happen is logged, without the secret a
path may carry.

The NUL cases fail with a 500 on PostgreSQL only: run this file with
DATABASE_URL=postgres://postgres@127.0.0.1:5432/test too."""

from __future__ import annotations

import io
import logging

import pytest
from channels.testing import WebsocketCommunicator
from django.conf import settings
from django.test import Client, RequestFactory
from django.urls import resolve

from antenne.asgi import application
from antenne.core.error_log import PrivatePathFilter
from antenne.events.models import Session
from antenne.registrations.models import Registration
from tests.conftest import client_for
from tests.factories import EventFactory, RegistrationFactory, SessionFactory

pytestmark = pytest.mark.django_db(transaction=True)

NUL_PATHS = [
    "/join/%00/",
    "/join/%00/calendar.ics",
    "/join/%00/room/",
    "/calendar/%00.ics",
    "/u/%00/",
    "/speaker/%00/",
    "/speaker/%00/room/",
    "/login/%00/",
    "/setup/%00/",
    "/media/sessions/1/subscriptions/%00",
    "/static/%00.css",
    "/app/sessions/1/texts/%00/fr/",
    "/join/" + "a" * 3000 + "/",
]


def anonymous() -> Client:
    return Client(raise_request_exception=False)


def text(response) -> str:
    return response.content.decode()


@pytest.mark.parametrize("path", NUL_PATHS)
def test_a_nul_character_in_a_path_is_a_missing_page(path):
    RegistrationFactory()  # a join key exists: the look-up really runs
    for method in ("get", "post"):
        response = getattr(anonymous(), method)(path)
        assert response.status_code == 404, (method, path)
        assert "not_found" in text(response)


def test_a_nul_character_in_a_query_value_is_a_bad_request(animator):
    event = EventFactory(published=True, owner=animator)
    session = SessionFactory(event=event, animators=[animator])
    form = {
        "session": str(session.pk),
        "email": "alix@public.example",
        "first_name": "Alix",
        "last_name": "Martin",
        "consent": "on",
    }
    # The registration page keeps utm_* values of its address with the registration.
    response = anonymous().post(f"/e/{event.pk}/?utm_source=news%00letter", form)
    assert response.status_code == 400
    assert "request.bad" in text(response)
    assert not Registration.objects.exists()

    staff = client_for(animator)
    staff.raise_request_exception = False
    for path in (
        "/app/events/?q=%00",
        f"/app/sessions/{session.pk}/emails/log/?state=%00&kind=a%00",
        f"/app/sessions/{session.pk}/registrants/?q=%00",
        "/app/audit/?%00=1",
    ):
        assert staff.get(path).status_code == 400, path
    assert staff.get("/app/events/?q=ok").status_code == 200


def test_a_session_cookie_holding_a_nul_character_is_no_session(animator):
    # A quoted cookie may carry octal escapes: `sessionid="\000…"` reaches Django as a NUL.
    client = anonymous()
    client.cookies[settings.SESSION_COOKIE_NAME] = "\x00" + "a" * 31
    response = client.get("/login/")
    assert response.status_code == 200
    staff = client_for(animator)
    staff.raise_request_exception = False
    staff.cookies[settings.SESSION_COOKIE_NAME] = "\x00" + "a" * 31
    response = staff.get("/app/")
    assert response.status_code == 302  # no longer logged in: to the login page
    assert response["Location"].startswith("/login/")


async def test_the_room_websocket_ignores_such_a_session_cookie_too():
    communicator = WebsocketCommunicator(
        application,
        "/ws/room/1/",
        headers=[
            (b"host", b"antenne.test"),
            (b"origin", b"https://antenne.test"),
            (b"cookie", f'{settings.SESSION_COOKIE_NAME}="\\000{"a" * 31}"'.encode()),
        ],
    )
    connected, _subprotocol = await communicator.connect()  # no server error on the way
    assert connected is True  # as anyone: the room asks for a join key next
    await communicator.disconnect()


def test_a_capacity_too_large_for_the_database_is_refused_in_the_form(animator):
    session = SessionFactory(event=EventFactory(owner=animator), animators=[animator])
    staff = client_for(animator)
    staff.raise_request_exception = False
    response = staff.post(
        f"/app/sessions/{session.pk}/team/",
        {"team-animators": [str(animator.pk)], "team-capacity": "99999999999999999999"},
    )
    assert response.status_code in (302, 422)
    session.refresh_from_db()
    assert session.capacity is None
    response = staff.post(
        f"/app/sessions/{session.pk}/team/",
        {"team-animators": ["99999999999999999999"], "team-capacity": "10"},
    )
    assert response.status_code in (302, 422)
    assert list(Session.objects.get(pk=session.pk).animators.all()) == [animator]


def test_a_body_over_the_upload_limit_gets_a_clear_413_page():
    body = "email=" + "a" * (settings.DATA_UPLOAD_MAX_MEMORY_SIZE + 1)
    for path in ("/login/", "/access/request/"):
        response = anonymous().post(path, body, content_type="application/x-www-form-urlencoded")
        assert response.status_code == 413, path
        assert "request.too_large" in text(response)
    english = anonymous()
    english.cookies[settings.LANGUAGE_COOKIE_NAME] = "en"
    response = english.post("/login/", body, content_type="application/x-www-form-urlencoded")
    assert "This request is too large" in text(response)


@pytest.fixture
def error_log():
    """What the `django.request` logger's configured handler writes (settings.LOGGING)."""
    [handler] = [h for h in logging.getLogger("django.request").handlers if h.name == "errors"]
    stream = io.StringIO()
    # Swapped without `setStream`, which flushes the old stream: pytest may have closed the
    # capture file the handler was configured with.
    previous, handler.stream = handler.stream, stream
    try:
        yield stream
    finally:
        handler.stream = previous


def test_a_server_error_of_a_page_is_logged_with_its_path(error_log, settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path
    event = EventFactory(published=True)
    event.cover_image.name = "covers/lost-in-a-restore.png"  # the file is not on disk
    event.save()
    response = anonymous().get(f"/e/{event.pk}/cover")
    assert response.status_code == 500
    assert "server.error" in text(response)
    logged = error_log.getvalue()
    assert f"ERROR django.request: Internal Server Error: /e/{event.pk}/cover" in logged
    assert "FileNotFoundError" in logged  # with its traceback


def test_the_logged_path_never_holds_a_secret_of_the_url():
    secret = "Zq3xS3cr3tJoinKey_0123456789abcdef"
    for path, shown in (
        (f"/join/{secret}/room/", "/join/<key>/room/"),
        (f"/calendar/{secret}.ics", "/calendar/<token>.ics"),
        (f"/u/{secret}/", "/u/<token>/"),
        ("/app/sessions/12/report/", "/app/sessions/12/report/"),
    ):
        request = RequestFactory().get(path + "?next=/private")
        request.resolver_match = resolve(path)
        record = logging.LogRecord(
            "django.request", logging.ERROR, __file__, 1, "%s: %s", None, None
        )
        record.args = ("Internal Server Error", path)
        record.request = request
        assert PrivatePathFilter().filter(record)
        assert record.getMessage() == f"Internal Server Error: {shown}"
        assert secret not in record.getMessage()
