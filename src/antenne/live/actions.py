"""The registry of live-room actions. Each feature module (`live/chat.py`, …) registers its
actions with `@action(name, Schema, permission)`; the consumer dispatches to them, after
validating the payload and checking the permission. A handler receives the connection's
`Context` and the validated payload and returns the reply's data; it raises AntenneError
(with a code) to refuse."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any, Protocol

from antenne.live.protocol import Payload
from antenne.rooms.participants import Participant


class Context(Protocol):
    """What a handler may use of the connection."""

    session_id: int
    participant: Participant
    presence_id: int | None

    def push(self, text: str) -> None:
        """Queue a frame to this connection only."""


Handler = Callable[[Context, Any], Awaitable[dict[str, Any]]]
Permission = Callable[[Participant], bool]


def anyone(participant: Participant) -> bool:
    return True


def staff(participant: Participant) -> bool:
    return participant.is_staff


def backstage(participant: Participant) -> bool:
    """Speakers and staff."""
    return participant.is_backstage


@dataclass(frozen=True)
class Action:
    name: str
    schema: type[Payload]
    permission: Permission
    handler: Handler


ACTIONS: dict[str, Action] = {}


def action(
    name: str, schema: type[Payload], permission: Permission = anyone
) -> Callable[[Handler], Handler]:
    def register(handler: Handler) -> Handler:
        if name in ACTIONS:
            raise RuntimeError(f"live action {name!r} registered twice")
        ACTIONS[name] = Action(name, schema, permission, handler)
        return handler

    return register
