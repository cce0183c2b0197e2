"""Janus's HTTP API, as one Antenne process uses one Janus server.

The process keeps one Janus *session* per server, created on first use. Plugin handles are
attached to it; requests carry a fresh transaction id and the API secret. A plugin message
is acknowledged at once and answered later by an event bearing the same transaction: a
background task long-polls `GET /janus/<session>?maxev=…` and hands each event to the
request waiting for it. Another task sends a keep-alive every 15 s, so Janus (60 s
`session_timeout`) never times the session out while the process lives.

When Janus forgets the session (it restarted: error 458 on a request, or on the long poll)
the client forgets it too: the next request creates a new one. Whoever called gets a
`JanusError` with Janus's code and decides whether to retry (the engine does, once).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import secrets
from dataclasses import dataclass
from typing import Any

import httpx

logger = logging.getLogger(__name__)

REQUEST_TIMEOUT = 10.0  # seconds for any request, and for a plugin's answer to arrive
POLL_WAIT = 30  # Janus answers a long poll with a keep-alive after 30 s without events
KEEPALIVE_INTERVAL = 15.0
MAX_EVENTS = 10

# Janus core error codes (janus/apierror.h) the engine reacts to.
UNAUTHORIZED = 403
SESSION_NOT_FOUND = 458
HANDLE_NOT_FOUND = 459
GONE = (SESSION_NOT_FOUND, HANDLE_NOT_FOUND)


class JanusError(Exception):
    """Janus answered with an error: `code` is Janus's (core: 4xx of apierror.h; VideoRoom:
    421-437), `reason` its text."""

    def __init__(self, code: int, reason: str) -> None:
        super().__init__(f"Janus error {code}: {reason}")
        self.code = code
        self.reason = reason


class JanusUnreachable(Exception):
    """No answer from Janus (refused, timed out, not JSON)."""


@dataclass(frozen=True)
class Handle:
    session_id: int
    handle_id: int


def transaction() -> str:
    return secrets.token_urlsafe(12)


class JanusServer:
    """One Janus server's API, shared by the whole process (one event loop)."""

    def __init__(
        self,
        url: str,
        *,
        api_secret: str,
        http: httpx.AsyncClient,
        admin_url: str = "",
        admin_secret: str = "",
        timeout: float = REQUEST_TIMEOUT,
    ) -> None:
        self.url = url.rstrip("/")
        self.admin_url = admin_url.rstrip("/")
        self.api_secret = api_secret
        self.admin_secret = admin_secret
        self.http = http
        self.timeout = timeout
        self.session_id: int | None = None
        self._lock = asyncio.Lock()
        self._waiters: dict[str, asyncio.Future[dict[str, Any]]] = {}
        self._tasks: list[asyncio.Task[None]] = []
        self.on_event: Any = None  # callable(session_id, event) for events nobody waits for

    # -- Plumbing ---------------------------------------------------------------------------

    async def _post(self, url: str, body: dict[str, Any], *, secret: dict[str, str]) -> Any:
        body = {**body, "transaction": body.get("transaction") or transaction(), **secret}
        try:
            response = await self.http.post(url, json=body, timeout=self.timeout)
            data = response.json()
        except (httpx.HTTPError, ValueError) as exc:
            raise JanusUnreachable(f"{url}: {exc!r}") from exc
        if not isinstance(data, dict):
            raise JanusUnreachable(f"{url}: unexpected answer {data!r:.200}")
        if data.get("janus") == "error":
            error = data.get("error") or {}
            raise JanusError(int(error.get("code") or 0), str(error.get("reason") or ""))
        return data

    async def request(self, body: dict[str, Any], path: str = "") -> dict[str, Any]:
        """POST a Janus API request to `<url><path>`; returns Janus's answer (errors raised)."""
        answer: dict[str, Any] = await self._post(
            self.url + path, body, secret={"apisecret": self.api_secret}
        )
        return answer

    async def admin(self, body: dict[str, Any], path: str = "") -> dict[str, Any]:
        if not self.admin_url:
            raise JanusUnreachable("no admin URL configured")
        answer: dict[str, Any] = await self._post(
            self.admin_url + path, body, secret={"admin_secret": self.admin_secret}
        )
        return answer

    # -- Session ------------------------------------------------------------------------------

    async def session(self) -> int:
        """This process's session on the server, created (with its poller) when needed."""
        if self.session_id is not None:
            return self.session_id
        async with self._lock:
            if self.session_id is None:
                answer = await self.request({"janus": "create"})
                session_id = int(answer["data"]["id"])
                self.session_id = session_id
                loop = asyncio.get_running_loop()
                self._tasks = [
                    loop.create_task(self._poll(session_id), name=f"janus-poll-{session_id}"),
                    loop.create_task(self._keepalive(session_id), name=f"janus-ka-{session_id}"),
                ]
                logger.info("Janus session %s on %s", session_id, self.url)
            return self.session_id

    def forget_session(self, session_id: int | None = None) -> None:
        """Janus no longer knows the session (restart, timeout): drop it, fail its waiters."""
        if session_id is not None and session_id != self.session_id:
            return
        if self.session_id is not None:
            logger.warning("Janus session %s on %s is gone", self.session_id, self.url)
        self.session_id = None
        current = asyncio.current_task()
        for task in self._tasks:
            if task is not current:
                task.cancel()
        self._tasks = []
        self._fail_waiters(JanusError(SESSION_NOT_FOUND, "session gone"))

    def _fail_waiters(self, error: Exception) -> None:
        for future in self._waiters.values():
            if not future.done():
                future.set_exception(error)
        self._waiters.clear()

    async def close(self) -> None:
        """Destroy the session (Janus detaches its handles) and stop the background tasks."""
        session_id = self.session_id
        self.session_id = None
        for task in self._tasks:
            task.cancel()
        for task in self._tasks:
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task
        self._tasks = []
        self._fail_waiters(JanusUnreachable("client closed"))
        if session_id is not None:
            with contextlib.suppress(JanusError, JanusUnreachable):
                await self.request({"janus": "destroy"}, f"/{session_id}")

    async def _keepalive(self, session_id: int) -> None:
        while self.session_id == session_id:
            await asyncio.sleep(KEEPALIVE_INTERVAL)
            try:
                await self.request({"janus": "keepalive"}, f"/{session_id}")
            except JanusError as exc:
                if exc.code == SESSION_NOT_FOUND:
                    self.forget_session(session_id)
                    return
                logger.warning("Janus keep-alive on %s failed: %s", self.url, exc)
            except JanusUnreachable as exc:
                logger.warning("Janus keep-alive on %s failed: %s", self.url, exc)

    async def _poll(self, session_id: int) -> None:
        url = f"{self.url}/{session_id}"
        failures = 0
        while self.session_id == session_id:
            params = {"maxev": str(MAX_EVENTS), "apisecret": self.api_secret}
            try:
                response = await self.http.get(url, params=params, timeout=POLL_WAIT + 15)
                data = response.json()
            except (httpx.HTTPError, ValueError) as exc:
                failures += 1
                if failures == 1 or failures % 30 == 0:
                    logger.warning("Janus long poll on %s failed: %r", self.url, exc)
                # Whatever waited for an answer will not get it from this Janus for now.
                self._fail_waiters(JanusUnreachable(f"{self.url}: {exc!r}"))
                await asyncio.sleep(min(failures, 5))
                continue
            failures = 0
            events = data if isinstance(data, list) else [data]
            for event in events:
                if not isinstance(event, dict):
                    continue
                if event.get("janus") == "error":
                    code = int((event.get("error") or {}).get("code") or 0)
                    if code == SESSION_NOT_FOUND:
                        self.forget_session(session_id)
                        return
                    logger.warning("Janus long poll error on %s: %s", self.url, event)
                    continue
                self._dispatch(session_id, event)

    def _dispatch(self, session_id: int, event: dict[str, Any]) -> None:
        kind = event.get("janus")
        if kind == "keepalive":
            return
        if kind == "timeout":  # Janus timed the session out (no keep-alive got through)
            self.forget_session(session_id)
            return
        waiter = self._waiters.get(str(event.get("transaction") or ""))
        if kind == "event" and waiter is not None:
            self._waiters.pop(str(event["transaction"]), None)
            if not waiter.done():
                waiter.set_result(event)
            return
        if self.on_event is not None:
            try:
                self.on_event(session_id, event)
            except Exception:
                logger.exception("handling Janus event %s failed", kind)

    # -- Handles and messages -----------------------------------------------------------------

    async def attach(self, plugin: str, *, opaque_id: str = "") -> Handle:
        session_id = await self.session()
        body: dict[str, Any] = {"janus": "attach", "plugin": plugin}
        if opaque_id:
            body["opaque_id"] = opaque_id
        try:
            answer = await self.request(body, f"/{session_id}")
        except JanusError as exc:
            if exc.code == SESSION_NOT_FOUND:
                self.forget_session(session_id)
            raise
        return Handle(session_id, int(answer["data"]["id"]))

    async def detach(self, handle: Handle) -> None:
        """Idempotent: a handle (or session) Janus no longer knows is detached already."""
        try:
            await self.request({"janus": "detach"}, f"/{handle.session_id}/{handle.handle_id}")
        except JanusError as exc:
            if exc.code not in GONE:
                raise

    async def message(
        self,
        handle: Handle,
        body: dict[str, Any],
        *,
        jsep: dict[str, Any] | None = None,
        wait: bool = True,
    ) -> tuple[dict[str, Any], dict[str, Any] | None]:
        """Send a plugin message; returns the plugin's data and the JSEP it attached.

        Synchronous plugin requests (VideoRoom's create, kick, listparticipants…) are
        answered in the HTTP response; the others are acknowledged, then answered by an
        event with our transaction, which the long poll delivers — unless `wait` is false
        (a session of another process: its poller gets the event), where the ack is enough.
        A plugin error (`error_code` in the data) is raised as `JanusError`."""
        tx = transaction()
        ours = wait and handle.session_id == self.session_id
        future: asyncio.Future[dict[str, Any]] | None = None
        if ours:
            future = asyncio.get_running_loop().create_future()
            self._waiters[tx] = future
        request: dict[str, Any] = {"janus": "message", "body": body, "transaction": tx}
        if jsep is not None:
            request["jsep"] = jsep
        try:
            try:
                answer = await self.request(request, f"/{handle.session_id}/{handle.handle_id}")
            except JanusError as exc:
                if exc.code == SESSION_NOT_FOUND:
                    self.forget_session(handle.session_id)
                raise
            if answer.get("janus") == "ack":
                if future is None:
                    return {}, None
                try:
                    answer = await asyncio.wait_for(future, self.timeout)
                except TimeoutError:
                    raise JanusUnreachable(
                        f"{self.url}: no answer to {body.get('request')} in {self.timeout} s"
                    ) from None
        finally:
            self._waiters.pop(tx, None)
        data = (answer.get("plugindata") or {}).get("data") or {}
        if "error_code" in data:
            raise JanusError(int(data["error_code"]), str(data.get("error") or ""))
        return data, answer.get("jsep")

    async def trickle_completed(self, handle: Handle) -> None:
        await self.request(
            {"janus": "trickle", "candidate": {"completed": True}},
            f"/{handle.session_id}/{handle.handle_id}",
        )
