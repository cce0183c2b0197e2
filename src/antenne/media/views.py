"""The browser's media endpoints, WHIP/WHEP-style: an SDP offer or answer in the body, the
media token of the room connection in `Authorization: Bearer …`.

    POST   /media/sessions/<id>/feeds?source=camera|screen   offer → 201 answer (application/sdp)
                                                             Location: …/feeds/<feed id>
    PATCH  /media/sessions/<id>/feeds/<feed>                 {"audio_muted", "video_muted"}
    DELETE /media/sessions/<id>/feeds/<feed>                 → 204
    POST   /media/sessions/<id>/subscriptions                {"feeds": [ids]} → 201
                                                             {"id", "sdp" (offer), "streams"}
    PATCH  /media/sessions/<id>/subscriptions/<sub>          answer (application/sdp) → 204
    DELETE /media/sessions/<id>/subscriptions/<sub>          → 204

No cookie is read, so no CSRF token is needed: the bearer token is the credential. Errors are
JSON `{"code", "message"}` with the status of the error."""

from __future__ import annotations

import json
import logging
from collections.abc import Awaitable, Callable
from typing import Any

from asgiref.sync import sync_to_async
from django.conf import settings
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.utils.translation import gettext as _
from django.views.decorators.csrf import csrf_exempt
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from antenne.core import ratelimit
from antenne.core.exceptions import AntenneError
from antenne.media import signaling
from antenne.media.engine import MediaError
from antenne.rooms.participants import Participant

logger = logging.getLogger(__name__)

MAX_SDP = 64 * 1024
RATE = (60, 60)  # media requests per connection and minute
MEDIA_STATUS = {
    "media.bad_sdp": 400,
    "media.no_such_feed": 404,
    "media.no_such_subscription": 404,
    "media.no_such_room": 404,
    "media.janus_unreachable": 503,
}


def _error(status: int, code: str, message: str) -> JsonResponse:
    return JsonResponse({"code": code, "message": message}, status=status)


def _media_message(code: str) -> str:
    if code == "media.bad_sdp":
        return _("Your browser's media description was refused; reload the page.")
    if code in ("media.no_such_feed", "media.no_such_subscription", "media.no_such_room"):
        return _("This stream has ended.")
    return _("The media server is not answering; try again in a moment.")


class MutePayload(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True)
    audio_muted: bool | None = None
    video_muted: bool | None = None


class SubscribePayload(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True)
    feeds: list[int] = Field(min_length=1, max_length=64)


Handler = Callable[[HttpRequest, Participant, int], Awaitable[HttpResponse]]


async def _guarded(
    request: HttpRequest, session_id: int, handler: Handler, methods: tuple[str, ...]
) -> HttpResponse:
    if request.method not in methods:
        response = _error(405, "method_not_allowed", _("Method not allowed."))
        response["Allow"] = ", ".join(methods)
        return response
    header = request.headers.get("Authorization", "")
    if not header.startswith("Bearer "):
        return _error(401, "media.no_token", _("Join the room first."))
    try:
        participant, presence_id = signaling.read_token(header[7:].strip(), session_id)
        if not await sync_to_async(ratelimit.hit)("media", str(presence_id), RATE):
            return _error(429, "rate_limited", _("Too many requests; wait a minute."))
        return await handler(request, participant, presence_id)
    except AntenneError as exc:
        return _error(exc.status, exc.code, exc.message)
    except MediaError as exc:
        status = MEDIA_STATUS.get(exc.code, 502)
        if status >= 500:
            logger.warning("media engine error %s: %s", exc.code, exc.message)
        return _error(status, exc.code, _media_message(exc.code))


def _sdp_body(request: HttpRequest) -> str | HttpResponse:
    if request.content_type != "application/sdp":
        return _error(415, "media.not_sdp", _("Expected an SDP body (application/sdp)."))
    if len(request.body) > MAX_SDP:
        return _error(413, "media.too_large", _("This media description is too large."))
    try:
        text = request.body.decode()
    except UnicodeDecodeError:
        return _error(400, "media.bad_sdp", _media_message("media.bad_sdp"))
    if not text.startswith("v=0"):
        return _error(400, "media.bad_sdp", _media_message("media.bad_sdp"))
    return text


def _json_body(request: HttpRequest, schema: type[BaseModel]) -> Any:
    if request.content_type != "application/json":
        return _error(415, "media.not_json", _("Expected a JSON body."))
    if len(request.body) > MAX_SDP:
        return _error(413, "media.too_large", _("This request is too large."))
    try:
        return schema.model_validate(json.loads(request.body))
    except (ValueError, ValidationError):
        return _error(422, "invalid", _("This request is not valid."))


@csrf_exempt
async def feeds(request: HttpRequest, session_id: int) -> HttpResponse:
    async def handle(request: HttpRequest, participant: Participant, presence_id: int) -> Any:
        source = request.GET.get("source", "camera")
        if source not in ("camera", "screen"):
            return _error(422, "media.bad_source", _("Unknown source."))
        offer = _sdp_body(request)
        if isinstance(offer, HttpResponse):
            return offer
        feed_id, answer = await signaling.publish(
            participant=participant, presence_id=presence_id, offer_sdp=offer, source=source
        )
        response = HttpResponse(answer, status=201, content_type="application/sdp")
        response["Location"] = f"/media/sessions/{session_id}/feeds/{feed_id}"
        response["X-Antenne-Feed"] = str(feed_id)
        return response

    return await _guarded(request, session_id, handle, ("POST",))


@csrf_exempt
async def feed(request: HttpRequest, session_id: int, feed_id: int) -> HttpResponse:
    async def handle(request: HttpRequest, participant: Participant, presence_id: int) -> Any:
        if request.method == "DELETE":
            await signaling.unpublish(
                participant=participant, presence_id=presence_id, feed_id=feed_id
            )
            return HttpResponse(status=204)
        data = _json_body(request, MutePayload)
        if isinstance(data, HttpResponse):
            return data
        result = await signaling.set_muted(
            participant=participant,
            presence_id=presence_id,
            feed_id=feed_id,
            audio=data.audio_muted,
            video=data.video_muted,
        )
        return JsonResponse(result)

    return await _guarded(request, session_id, handle, ("PATCH", "DELETE"))


@csrf_exempt
async def subscriptions(request: HttpRequest, session_id: int) -> HttpResponse:
    async def handle(request: HttpRequest, participant: Participant, presence_id: int) -> Any:
        data = _json_body(request, SubscribePayload)
        if isinstance(data, HttpResponse):
            return data
        result = await signaling.subscribe(
            participant=participant, presence_id=presence_id, feed_ids=data.feeds
        )
        return JsonResponse(result, status=201)

    return await _guarded(request, session_id, handle, ("POST",))


@csrf_exempt
async def subscription(request: HttpRequest, session_id: int, token: str) -> HttpResponse:
    async def handle(request: HttpRequest, participant: Participant, presence_id: int) -> Any:
        if request.method == "DELETE":
            await signaling.unsubscribe(
                participant=participant, presence_id=presence_id, subscription=token
            )
            return HttpResponse(status=204)
        answer = _sdp_body(request)
        if isinstance(answer, HttpResponse):
            return answer
        await signaling.complete_subscription(
            participant=participant, presence_id=presence_id, subscription=token, answer_sdp=answer
        )
        return HttpResponse(status=204)

    return await _guarded(request, session_id, handle, ("PATCH", "DELETE"))


def client_config() -> dict[str, Any]:
    """What the room page's media client needs besides its token (in the join reply)."""
    return {
        "ice_servers": settings.ICE_SERVERS,
        "max_streams": settings.STAGE_MAX_STREAMS,
        "engine": settings.MEDIA_ENGINE,
    }


def media_strings() -> dict[str, Any]:
    """What media.js, room-media.js and console-media.js say (the pages' `strings.media`)."""
    return {
        "screen": _("screen"),
        "mic_off": _("microphone off"),
        "camera_off": _("camera off"),
        "nobody_on_stage": _("Nobody is on stage yet."),
        "not_started": _("The broadcast has not started yet"),
        "you_are_on_stage": _("You are on stage: everyone sees and hears you."),
        "permission_refused": _(
            "Your browser refused the camera or microphone: allow them in the address bar, "
            "then try again."
        ),
        "no_device": _("No camera or microphone found."),
        "insecure": _(
            "Cameras and microphones only work on a secure (https://) address: ask the "
            "administrator of this Antenne."
        ),
        "quality": {
            "good": _("Connection: good"),
            "fair": _("Connection: fair"),
            "poor": _("Connection: poor"),
        },
        "published": _("You are on stage."),
        "unpublished": _("You left the stage."),
        "sharing": _("You are sharing your screen."),
        "sharing_stopped": _("Screen sharing stopped."),
        "stats_none": _("No media yet."),
        "sound_blocked": _(
            "Your browser holds the sound back: click anywhere on the page to hear the stage."
        ),
        "up": _("upload"),
        "down": _("download"),
        # A track's kind in the media quality table (the engines' codes).
        "kinds": {"audio": _("sound"), "video": _("picture")},
    }
