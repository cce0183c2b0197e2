"""The live room's WebSocket endpoint, `/ws/room/<session_id>/`.

A connection first sends `["join", id, {...}]` with a join link key, a speaker link token,
or nothing (a back-office login, by its session cookie). Until then every other action is
refused, and the connection is closed if it has not joined in time (`live.admission`).
Each joined connection is one attendance row (`rooms.Presence`) until it closes.

When a revocation names the connection (`live.hub`), it re-checks its right at once and, if
refused, leaves the room: nothing more is sent, its attendance row, raised hand and stage
feeds end, and the socket closes with `CLOSE_REVOKED` and the refusal's code as the reason
(docs/live-protocol.md)."""

from __future__ import annotations

import asyncio
import contextvars
import logging
import time
from typing import Any

from asgiref.sync import sync_to_async
from channels.generic.websocket import AsyncWebsocketConsumer
from django.conf import settings as django_settings
from django.utils import translation

from antenne.core import ratelimit
from antenne.core.exceptions import AntenneError
from antenne.events.models import Session
from antenne.live import (
    admission,
    chat,
    moderation,
    people,
    phone,
    ping,
    polls,
    protocol,
    qa,
    reactions,
    stage,
)
from antenne.live.actions import ACTIONS
from antenne.live.chat import chat_data, shows_names
from antenne.live.hub import BACKSTAGE, HUB, PUBLIC, STAFF, LocalRoom, Outbox
from antenne.live.moderation import join_state
from antenne.live.polls import poll_snapshot
from antenne.live.qa import qa_snapshot
from antenne.live.stage import presence_closed
from antenne.media.signaling import media_token
from antenne.media.signaling import presence_closed as media_presence_closed
from antenne.media.views import client_config
from antenne.rooms import participants, services
from antenne.rooms.stage_media import live_feeds

logger = logging.getLogger("antenne.live")

CLOSE_TOO_SLOW = 4008
# The person's right to be in the room was withdrawn (registration revoked or erased, speaker
# link revoked, animator removed, member deactivated); the reason is the refusal's code.
CLOSE_REVOKED = 4403
# The room's features: each module registers its actions (`live.actions.action`) on import.
FEATURES = (chat, moderation, people, phone, ping, polls, qa, reactions, stage)


class RoomConsumer(AsyncWebsocketConsumer):
    # No channel-layer channel per connection (one Redis subscription each): the room's
    # fan-out goes through one subscription per room per process (`live.hub`).
    channel_layer_alias = "antenne.none"
    session_id: int
    participant: participants.Participant | None = None
    presence_id: int | None = None
    outbox: Outbox | None = None
    room: LocalRoom | None = None
    ejected = False  # put out of the room (a revocation): closing
    gone = False  # the socket closed
    checks: set[asyncio.Task[None]]  # re-checks of the right under way (`_revoked`)
    client = ""
    waiting = False  # holds one of its client address's unjoined places (`live.admission`)
    joining = False
    join_deadline: asyncio.TimerHandle | None = None
    closing: asyncio.Task[None] | None = None

    async def connect(self) -> None:
        self.session_id = int(self.scope["url_route"]["kwargs"]["session_id"])
        chosen = self.scope.get("cookies", {}).get(django_settings.LANGUAGE_COOKIE_NAME, "")
        languages = {code for code, _name in django_settings.LANGUAGES}
        self.language = chosen if chosen in languages else django_settings.LANGUAGE_CODE
        self.client = ratelimit.websocket_client_ip(self.scope)
        if not admission.WAITING.admit(self.client):
            logger.info("refused a live connection: %s holds too many unjoined", self.client)
            await self.close()  # before accept: the handshake is answered 403
            return
        self.waiting = True
        await self.accept()
        self.outbox = Outbox(self._send_text, self._too_slow)
        self.checks = set()
        self.join_deadline = asyncio.get_running_loop().call_later(
            django_settings.LIVE_JOIN_TIMEOUT, self._join_timed_out
        )

    def _join_timed_out(self) -> None:
        if self.participant is not None:
            return
        loop = asyncio.get_running_loop()
        if self.joining:  # a join is being answered: look again once it is
            self.join_deadline = loop.call_later(1, self._join_timed_out)
            return
        self.closing = loop.create_task(self.close(code=admission.CLOSE_JOIN_TIMEOUT))

    def _joined(self) -> None:
        """No longer waiting at the door: its place goes back to its client address."""
        if self.join_deadline is not None:
            self.join_deadline.cancel()
            self.join_deadline = None
        if self.waiting:
            self.waiting = False
            admission.WAITING.leave(self.client)

    async def _send_text(self, text: str) -> None:
        await self.send(text_data=text)

    def _too_slow(self) -> None:
        # Called from the room's fan-out: close without waiting for this client.
        asyncio.get_running_loop().create_task(self.close(code=CLOSE_TOO_SLOW))

    async def disconnect(self, code: int) -> None:
        self.gone = True
        self._joined()
        if getattr(self, "checks", None):  # a re-check under way finishes first
            await asyncio.gather(*list(self.checks), return_exceptions=True)
        await self._leave()

    async def _leave(self) -> None:
        """Out of the room: no more pushes, the attendance row closed, a raised hand lowered,
        this connection's feeds and subscriptions stopped. Done once."""
        room, self.room = self.room, None
        if room is not None and self.outbox is not None:
            await HUB.leave(self.session_id, self.outbox)
        if self.outbox is not None:
            await self.outbox.close()
        presence_id, self.presence_id = self.presence_id, None
        if presence_id is not None:
            await sync_to_async(services.record_leave)(presence_id=presence_id)
            await presence_closed(presence_id)
            await media_presence_closed(self.session_id, presence_id)

    def _revoked(self) -> None:
        """Called by the room (its outbox paused) when a revocation names this connection:
        re-check the right in a task of this connection's own, in a fresh context (the room's
        task belongs to whichever connection opened the room)."""
        task = asyncio.get_running_loop().create_task(
            self._recheck(), context=contextvars.Context()
        )
        self.checks.add(task)
        task.add_done_callback(self.checks.discard)

    async def _recheck(self) -> None:
        participant = self.participant
        if participant is None or self.ejected or self.gone:
            return
        try:
            await sync_to_async(participants.require_in_room)(participant)
        except AntenneError as error:
            await self._eject(error.code)
            return
        except Exception:
            logger.exception("re-checking a live connection's right failed: closing it")
            await self._eject("server.error")
            return
        if self.outbox is not None:
            self.outbox.resume()

    async def _eject(self, reason: str) -> None:
        """The right is gone: leave the room now (not when the client answers the close)."""
        self.ejected = True
        try:
            await self._leave()
        finally:
            if not self.gone:
                await self.close(code=CLOSE_REVOKED, reason=reason)

    def _reply(self, text: str) -> None:
        assert self.outbox is not None  # noqa: S101
        self.outbox.put(text)

    def push(self, text: str) -> None:
        """For action handlers: a frame to this connection only."""
        self._reply(text)

    async def receive(self, text_data: str | None = None, bytes_data: bytes | None = None) -> None:
        # Messages in the page's language (the translation state follows sync_to_async).
        with translation.override(self.language):
            await self._receive(text_data)

    async def _receive(self, text_data: str | None) -> None:
        if self.ejected:
            return  # closing: nothing more is read or answered
        request_id: Any = None
        try:
            action, request_id, payload = protocol.parse(text_data)
            if action == "join":
                await self._join(request_id, payload)
                return
            if self.participant is None:
                raise protocol.ProtocolError("room.not_joined", "Send join first.", request_id)
            spec = ACTIONS.get(action)
            if spec is None:
                raise protocol.ProtocolError(
                    "protocol.unknown_action", f"Unknown action {action!r}.", request_id
                )
            data = protocol.validate(spec.schema, payload, request_id)
            if not spec.permission(self.participant):
                raise protocol.ProtocolError(
                    "permission.denied", "You may not do this here.", request_id
                )
            result = await spec.handler(self, data)
            self._reply(protocol.success(request_id, result))
        except protocol.ProtocolError as error:
            self._reply(protocol.error(error.request_id, error.code, error.message))
        except AntenneError as error:
            details = {k: v for k, v in error.data.items() if isinstance(v, (int, str, bool))}
            self._reply(protocol.error(request_id, error.code, error.message, details))
        except Exception:
            # A bug must not leave this connection half-registered: answer, keep it open.
            logger.exception("live room action failed")
            self._reply(protocol.error(request_id, "server.error", "Something went wrong."))

    async def _join(self, request_id: Any, payload: dict[str, Any]) -> None:
        if self.participant is not None:
            raise protocol.ProtocolError("room.already_joined", "Already joined.", request_id)
        data = protocol.validate(protocol.JoinPayload, payload, request_id)
        user = self.scope.get("user")
        # A revocation the room hears from now on, while this join is answered, names it.
        since = time.monotonic()
        self.joining = True
        try:
            participant = await sync_to_async(admission.identify)(
                client=self.client,
                session_id=self.session_id,
                join_key=data.join_key,
                speaker_token=data.speaker_token,
                user=user if not (data.join_key or data.speaker_token) else None,
            )
            presence = await sync_to_async(services.record_join)(
                participant=participant, device=data.device
            )
        finally:
            self.joining = False
        self.participant, self.presence_id = participant, presence.pk
        self._joined()
        assert self.outbox is not None  # noqa: S101
        # Frames the room sends while this join is answered are held, so that the reply
        # comes first and the replayed frames are neither lost nor doubled.
        self.outbox.hold()
        try:
            await self._enter_and_reply(request_id, data, participant, presence.pk, since)
        except BaseException:
            self.outbox.release()  # whatever happens, the connection is not left mute
            raise

    async def _enter_and_reply(
        self,
        request_id: Any,
        data: protocol.JoinPayload,
        participant: participants.Participant,
        presence_id: int,
        since: float,
    ) -> None:
        assert self.outbox is not None  # noqa: S101
        # Registered before entering, so that `disconnect` undoes it whatever fails next.
        # (`room`, not `self.room`: a revocation may put this connection out meanwhile.)
        room = self.room = await HUB.enter(
            self.session_id,
            self.outbox,
            level=STAFF
            if participant.is_staff
            else BACKSTAGE
            if participant.is_backstage
            else PUBLIC,
            presence_id=presence_id,
            participant=participant,
            on_revoke=self._revoked,
            since=since,
        )
        missed = room.missed_since(data.epoch, data.last_seq) if data.epoch else None
        seq = room.seq  # a snapshot read from now on is at least this recent
        snapshot = None
        if missed is None:
            snapshot = await self._snapshot()
        me = await sync_to_async(join_state)(participant)
        if missed is not None:  # what was held is among the frames to replay, now
            missed = room.missed_since(data.epoch, data.last_seq) or []
            seq = room.seq
        self.outbox.put_now(
            protocol.success(
                request_id,
                {
                    # settings, stage target, muted, open stage invitation
                    **me,
                    "role": participant.role,
                    "name": participant.name,
                    "epoch": room.epoch,
                    "seq": seq,
                    "resynced": missed is not None,
                    "snapshot": snapshot,
                    "media": {**client_config(), "token": media_token(participant, presence_id)},
                },
            )
        )
        for frame in missed or []:
            self.outbox.put_now(frame)
        self.outbox.release(without_frames=missed is not None)

    async def _snapshot(self) -> dict[str, Any]:
        participant = self.participant
        assert participant is not None  # noqa: S101

        def read() -> dict[str, Any]:
            session = Session.objects.only("state").get(pk=self.session_id)
            named = participant.is_staff or shows_names(self.session_id)
            return {
                "state": session.state,
                "chat": [
                    chat_data(m, named=named) for m in services.recent_chat(participant=participant)
                ],
                "qa": qa_snapshot(participant),
                "polls": poll_snapshot(participant),
                "feeds": live_feeds(self.session_id),
            }

        return await sync_to_async(read)()
