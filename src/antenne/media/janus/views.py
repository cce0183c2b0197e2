"""`POST /media/janus/events`: where Janus's sample event handler posts what happens.

Only with `ANTENNE_MEDIA_ENGINE=janus` (404 otherwise). Janus authenticates with HTTP basic
auth, user `janus`, password `ANTENNE_JANUS_EVENTS_SECRET` (no secret set: every post is
refused). No cookie is read, so no CSRF token: the password is the credential.
"""

from __future__ import annotations

import base64
import binascii
import hmac
import json
import logging

from django.conf import settings
from django.core.exceptions import RequestDataTooBig
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.views.decorators.csrf import csrf_exempt

from antenne.media.janus.events import parse
from antenne.media.signaling import get_engine

logger = logging.getLogger(__name__)

MAX_BODY = 1024 * 1024
USER = "janus"


def _error(status: int, code: str, message: str) -> JsonResponse:
    return JsonResponse({"code": code, "message": message}, status=status)


def authorised(header: str, secret: str) -> bool:
    """Whether an `Authorization` header carries user `janus` and `secret` (compared in
    constant time; an empty secret authorises nothing)."""
    if not secret or not header.startswith("Basic "):
        return False
    try:
        decoded = base64.b64decode(header[6:].strip(), validate=True)
    except (binascii.Error, ValueError):
        return False
    user, _, password = decoded.partition(b":")
    same_user = hmac.compare_digest(user, USER.encode())
    same_password = hmac.compare_digest(password, secret.encode())
    return same_user and same_password


@csrf_exempt
async def janus_events(request: HttpRequest) -> HttpResponse:
    if settings.MEDIA_ENGINE != "janus":
        return _error(404, "not_found", "The Janus engine is not in use.")
    if request.method != "POST":
        response = _error(405, "method_not_allowed", "POST only.")
        response["Allow"] = "POST"
        return response
    if not authorised(request.headers.get("Authorization", ""), settings.JANUS_EVENTS_SECRET):
        response = _error(401, "unauthorized", "Wrong or missing credentials.")
        response["WWW-Authenticate"] = 'Basic realm="antenne-janus-events"'
        return response
    try:
        length = int(request.headers.get("Content-Length") or 0)
    except ValueError:
        length = 0
    if length > MAX_BODY:
        return _error(413, "too_large", f"At most {MAX_BODY} bytes.")
    try:
        body = request.body
    except RequestDataTooBig:
        return _error(413, "too_large", f"At most {MAX_BODY} bytes.")
    if len(body) > MAX_BODY:
        return _error(413, "too_large", f"At most {MAX_BODY} bytes.")
    try:
        payload = json.loads(body)
    except (ValueError, UnicodeDecodeError):
        return _error(400, "bad_json", "The body is not JSON.")
    engine = get_engine()  # wired to the control plane when created (signaling.get_engine)
    emit = getattr(engine, "emit", None)
    if emit is None:  # pragma: no cover - MEDIA_ENGINE is janus, so is the engine
        return _error(404, "not_found", "The Janus engine is not in use.")
    for event in parse(payload, getattr(engine, "feed_names", None)):
        await emit(event)
    return JsonResponse({})
