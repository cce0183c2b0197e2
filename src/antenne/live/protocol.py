"""The live room's one WebSocket protocol (docs/live-protocol.md).

client → server: `[action, request_id, payload]`
server → client: `["success", request_id, data]` or `["error", request_id, {"code", "message"}]`
server push:     `[event, data]`, room events inside `["frame", {"epoch", "seq", "events"}]`

Every action has a payload schema (pydantic, unknown keys rejected) and a permission; the
actions themselves are registered in `live.actions`."""

from __future__ import annotations

import json
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError

MAX_FRAME_BYTES = 8192
# What the ASGI server reads of one message (uvicorn's `ws_max_size` in `antenne run`): a
# frame up to this size gets `protocol.frame_too_large`, a larger one closes the connection
# (1009) without being read. Another ASGI server should be given the same limit.
TRANSPORT_MAX_BYTES = 2 * MAX_FRAME_BYTES
MAX_REQUEST_ID = 64


class ProtocolError(Exception):
    def __init__(self, code: str, message: str, request_id: Any = None) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.request_id = request_id


class Payload(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=False)


class JoinPayload(Payload):
    join_key: str = Field(default="", max_length=64, pattern=r"^[A-Za-z0-9_-]*$")
    speaker_token: str = Field(default="", max_length=128, pattern=r"^[A-Za-z0-9_-]*$")
    device: Literal["desktop", "mobile"] = "desktop"
    # Resync: the last frame this client saw, of which room process (`epoch`).
    epoch: str = Field(default="", max_length=32, pattern=r"^[0-9a-f]*$")
    last_seq: int = Field(default=0, ge=0)


class ChatSendPayload(Payload):
    text: str = Field(min_length=1, max_length=2000, pattern=r"^[^\x00]*$")
    backstage: bool = False


class ChatDeletePayload(Payload):
    message_id: int = Field(ge=1)


class EmptyPayload(Payload):
    pass


def parse(text: str | None) -> tuple[str, Any, dict[str, Any]]:
    """`[action, request_id, payload]` from a text frame, or ProtocolError."""
    if text is None or len(text.encode()) > MAX_FRAME_BYTES:
        raise ProtocolError("protocol.frame_too_large", "Frames are text of at most 8 KiB.")
    try:
        value = json.loads(text)
    except ValueError:
        raise ProtocolError("protocol.invalid_json", "Frames are JSON.") from None
    if not (isinstance(value, list) and len(value) == 3):
        raise ProtocolError("protocol.invalid_envelope", "Send [action, request_id, payload].")
    action, request_id, payload = value
    if not isinstance(request_id, (str, int)) or isinstance(request_id, bool):
        raise ProtocolError("protocol.invalid_request_id", "request_id is a string or a number.")
    if isinstance(request_id, str) and len(request_id) > MAX_REQUEST_ID:
        raise ProtocolError("protocol.invalid_request_id", "request_id is too long.")
    if not isinstance(action, str) or not isinstance(payload, dict):
        raise ProtocolError(
            "protocol.invalid_envelope", "Send [action, request_id, payload].", request_id
        )
    return action, request_id, payload


def validate(schema: type[Payload], payload: dict[str, Any], request_id: Any) -> Any:
    try:
        return schema.model_validate(payload)
    except ValidationError as error:
        first = error.errors()[0]
        where = ".".join(str(part) for part in first.get("loc", ())) or "payload"
        raise ProtocolError(
            "protocol.invalid_payload", f"{where}: {first.get('msg', 'invalid')}", request_id
        ) from None


def success(request_id: Any, data: Any) -> str:
    return json.dumps(["success", request_id, data], ensure_ascii=True)


def error(request_id: Any, code: str, message: str, data: dict[str, Any] | None = None) -> str:
    """An error reply; `data` adds details a page may use (e.g. `retry_after`)."""
    body = {**(data or {}), "code": code, "message": message}
    return json.dumps(["error", request_id, body], ensure_ascii=True)


def push(event: str, data: Any) -> str:
    return json.dumps([event, data], ensure_ascii=True)
