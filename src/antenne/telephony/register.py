"""Registration with a SIP trunk that expects a REGISTER (RFC 3261 §10), over the gateway's
UDP socket, so the trunk sends calls to the address it saw the REGISTER come from.

`Registrar.start()` registers (Expires 600), answers a 401/407 challenge with digest
authentication (RFC 2617 / RFC 7616: MD5 or SHA-256, with or without qop=auth), refreshes at
half the granted expiry, and after a failure (refused, wrong credentials, no answer) tries
again later with a growing delay: 30 s, 60 s… up to 30 minutes. Each REGISTER is a non-INVITE
client transaction: retransmitted at T1 doubling to T2, given up after 64·T1.
`Registrar.stop()` removes the binding (Expires 0).
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import ipaddress
import logging
import random
import re
import secrets
import socket

from .gateway import SipGateway
from .sip import SipMessage, new_branch, new_tag, param, parse_bind, uri_of
from .transactions import T1, T2

logger = logging.getLogger("antenne.telephony")

EXPIRES = 600
TRANSACTION_TIMEOUT = 64 * T1
RETRY_FIRST = 30.0  # seconds after a first failure; doubled at each failure after it
RETRY_MAX = 1800.0
MIN_REFRESH = 1.0  # seconds, whatever the registrar grants
HASHES = {"MD5": hashlib.md5, "SHA-256": hashlib.sha256}
AUTH_PARAM_RE = re.compile(r'\s*([A-Za-z0-9_-]+)\s*=\s*("(?:[^"\\]|\\.)*"|[^\s,]*)\s*,?')


class RegistrationError(Exception):
    """A registration attempt that did not end in 200 OK; `status` is 0 for no answer."""

    def __init__(self, reason: str, status: int = 0) -> None:
        super().__init__(reason)
        self.status = status


def digest_response(
    *,
    username: str,
    realm: str,
    password: str,
    method: str,
    uri: str,
    nonce: str,
    qop: str | None = None,
    nc: str = "00000001",
    cnonce: str = "",
    algorithm: str = "MD5",
) -> str:
    """The `response` of a Digest Authorization (RFC 2617 §3.2.2, RFC 7616 §3.4.1).

    `algorithm` is MD5, SHA-256 or their `-sess` variants; `qop` is None (RFC 2069
    compatibility: no cnonce nor nc) or "auth"."""
    name = algorithm.upper()
    sess = name.endswith("-SESS")
    hash_name = name.removesuffix("-SESS")
    if hash_name not in HASHES:
        raise ValueError(f"unsupported digest algorithm {algorithm!r}")
    if qop not in (None, "auth"):
        raise ValueError(f"unsupported qop {qop!r}")

    def h(text: str) -> str:
        return HASHES[hash_name](text.encode()).hexdigest()

    ha1 = h(f"{username}:{realm}:{password}")
    if sess:
        ha1 = h(f"{ha1}:{nonce}:{cnonce}")
    ha2 = h(f"{method}:{uri}")
    if qop is None:
        return h(f"{ha1}:{nonce}:{ha2}")
    return h(f"{ha1}:{nonce}:{nc}:{cnonce}:{qop}:{ha2}")


def parse_challenge(value: str) -> dict[str, str] | None:
    """The parameters of a `Digest …` WWW-Authenticate/Proxy-Authenticate value (lower-case
    names, unquoted values), or None if it is another scheme."""
    scheme, _, rest = value.strip().partition(" ")
    if scheme.lower() != "digest":
        return None
    params: dict[str, str] = {}
    for match in AUTH_PARAM_RE.finditer(rest):
        raw = match[2]
        if raw.startswith('"'):
            raw = re.sub(r"\\(.)", r"\1", raw[1:-1])
        params[match[1].lower()] = raw
    return params if "nonce" in params and "realm" in params else None


def _quote(value: str) -> str:
    return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'


class Registrar:
    """Keeps `username`'s registration with `registrar` (a `sip:host[:port]` URI) alive,
    with the gateway's UDP socket as contact. `state` is one of: "idle" (not started),
    "registering", "registered", "failed" (waiting to try again), "unregistered" (stopped).
    """

    def __init__(
        self,
        gateway: SipGateway,
        *,
        registrar: str,
        username: str,
        password: str,
        expires: int = EXPIRES,
        contact_host: str | None = None,
        contact_port: int | None = None,
    ) -> None:
        self.gateway = gateway
        self.uri = registrar if registrar.startswith(("sip:", "sips:")) else f"sip:{registrar}"
        hostport = self.uri.split(":", 1)[1].split(";", 1)[0].split("@")[-1]
        self.host, self.port = parse_bind(hostport)
        self.username = username
        self.password = password
        self.expires = expires
        self.contact_host = contact_host
        self.contact_port = contact_port
        self.state = "idle"
        self.granted = 0  # seconds of the current registration
        self.last_error = ""
        self.failures = 0  # consecutive failed attempts
        self.call_id = f"{secrets.token_hex(12)}@antenne"
        self._tag = new_tag()
        self._cseq = 0
        self._credentials: dict[str, str] | None = None  # the last challenge answered
        self._proxy = False  # it came in a 407 (Proxy-Authorization)
        self._nc = 0
        self._pending: tuple[str, asyncio.Future[SipMessage]] | None = None
        self._provisional = False
        self._task: asyncio.Task[None] | None = None
        self._changed = asyncio.Event()

    # --- public ---------------------------------------------------------------------

    async def start(self) -> None:
        """Start registering in the background (the gateway must be started)."""
        if self._task is not None:
            return
        host = self.contact_host or self.gateway.public_host
        if host in ("0.0.0.0", "::"):  # noqa: S104 (a check, not a bind)
            logger.warning(
                "SIP registration to %s: the contact address is %s; set "
                "ANTENNE_SIP_PUBLIC_HOST to the address the trunk reaches",
                self.uri,
                host,
            )
        self.gateway.clients[self.call_id] = self._response_received
        self._task = asyncio.create_task(self._run(), name=f"sip-register {self.uri}")

    async def stop(self, *, timeout: float = 4.0) -> None:
        """Stop refreshing and, if registered, remove the binding (Expires 0), waiting at
        most `timeout` seconds for the registrar's answer."""
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None
        try:
            if self.state == "registered":
                with contextlib.suppress(RegistrationError, OSError):
                    await asyncio.wait_for(self._register(0), timeout)
                    logger.info("SIP registration to %s removed", self.uri)
        except TimeoutError:
            logger.info("SIP registration to %s: no answer to the un-REGISTER", self.uri)
        finally:
            self.gateway.clients.pop(self.call_id, None)
            self._set_state("unregistered")

    async def wait_for(self, *states: str, timeout: float) -> str:
        """Wait until `state` is one of `states` (TimeoutError after `timeout` seconds)."""
        async with asyncio.timeout(timeout):
            while self.state not in states:
                self._changed.clear()
                await self._changed.wait()
        return self.state

    # --- the loop -------------------------------------------------------------------

    async def _run(self) -> None:
        while True:
            if self.state != "registered":
                self._set_state("registering")
            try:
                self.granted = await self._register(self.expires)
            except Exception as error:
                if not isinstance(error, RegistrationError | OSError):
                    logger.exception("SIP registration to %s: unexpected error", self.uri)
                self.failures += 1
                self.last_error = str(error)
                self.granted = 0
                delay = min(RETRY_FIRST * 2 ** min(self.failures - 1, 10), RETRY_MAX)
                delay *= random.uniform(0.8, 1.0)  # noqa: S311 (jitter, not a secret)
                logger.warning(
                    "SIP registration to %s %s; next attempt in %d s", self.uri, error, delay
                )
                self._set_state("failed")
            else:
                if self.state != "registered" or self.failures:
                    logger.info(
                        "SIP registration to %s as %s: registered for %d s",
                        self.uri,
                        self.username,
                        self.granted,
                    )
                self.failures = 0
                self.last_error = ""
                self._set_state("registered")
                delay = max(self.granted / 2, MIN_REFRESH)
            await asyncio.sleep(delay)

    async def _register(self, expires: int) -> int:
        """One registration (with its challenge, if any): the granted expiry in seconds."""
        addr = await self._resolve()
        answered = False  # a challenge of this attempt already answered
        for _ in range(4):  # a challenge, a stale nonce, an Interval Too Brief, …
            request = self._request(expires)
            response = await self._transaction(request, addr)
            status = response.status or 0
            if 200 <= status < 300:
                return self._granted(response, expires)
            if status in (401, 407):
                header = "WWW-Authenticate" if status == 401 else "Proxy-Authenticate"
                challenge = self._pick_challenge(response.get_all(header))
                if challenge is None:
                    raise RegistrationError(
                        f"refused: {status} with no usable Digest challenge", status
                    )
                if answered and challenge.get("stale", "").lower() != "true":
                    self._credentials = None
                    raise RegistrationError(
                        f"refused: {status} {response.reason} (wrong user name or password?)",
                        status,
                    )
                answered = True
                self._credentials, self._proxy, self._nc = challenge, status == 407, 0
                continue
            if status == 423:
                minimum = (response.get("Min-Expires") or "").strip()
                if expires and minimum.isdigit() and int(minimum) > expires:
                    expires = int(minimum)
                    continue
            raise RegistrationError(f"refused: {status} {response.reason}", status)
        raise RegistrationError("refused: too many challenges")

    def _granted(self, response: SipMessage, requested: int) -> int:
        if requested == 0:
            return 0
        contact = self._contact_uri()
        for value in response.get_all("Contact"):
            for item in value.split(","):
                if uri_of(item) == contact:
                    expires = param(item, "expires")
                    if expires and expires.isdigit():
                        return int(expires)
        header = (response.get("Expires") or "").strip()
        return int(header) if header.isdigit() else requested

    def _pick_challenge(self, values: list[str]) -> dict[str, str] | None:
        """The best Digest challenge we can answer (SHA-256 before MD5; qop auth or none)."""
        usable = []
        for value in values:
            challenge = parse_challenge(value)
            if challenge is None:
                continue
            algorithm = challenge.get("algorithm", "MD5").upper()
            qops = [q.strip() for q in challenge.get("qop", "").split(",") if q.strip()]
            if algorithm.removesuffix("-SESS") in HASHES and (not qops or "auth" in qops):
                usable.append(challenge)
        usable.sort(key=lambda c: not c.get("algorithm", "MD5").upper().startswith("SHA-256"))
        return usable[0] if usable else None

    # --- messages -------------------------------------------------------------------

    def _contact_uri(self) -> str:
        host = self.contact_host or self.gateway.public_host
        if ":" in host:
            host = f"[{host}]"
        return f"sip:{self.username}@{host}:{self.contact_port or self.gateway.port}"

    def _request(self, expires: int) -> SipMessage:
        self._cseq += 1
        host = self.gateway.public_host
        sent_by = f"[{host}]" if ":" in host else host
        domain = f"[{self.host}]" if ":" in self.host else self.host
        aor = f"<sip:{self.username}@{domain}>"
        headers = [
            ("Via", f"SIP/2.0/UDP {sent_by}:{self.gateway.port};branch={new_branch()};rport"),
            ("Max-Forwards", "70"),
            ("From", f"{aor};tag={self._tag}"),
            ("To", aor),
            ("Call-ID", self.call_id),
            ("CSeq", f"{self._cseq} REGISTER"),
            ("Contact", f"<{self._contact_uri()}>"),
            ("Expires", str(expires)),
            ("User-Agent", "Antenne"),
        ]
        if self._credentials is not None:
            name = "Proxy-Authorization" if self._proxy else "Authorization"
            headers.append((name, self._authorization(self._credentials)))
        return SipMessage(method="REGISTER", uri=self.uri, headers=headers)

    def _authorization(self, challenge: dict[str, str]) -> str:
        algorithm = challenge.get("algorithm", "MD5")
        qops = [q.strip() for q in challenge.get("qop", "").split(",")]
        qop = "auth" if "auth" in qops else None
        self._nc += 1
        nc, cnonce = f"{self._nc:08x}", secrets.token_hex(8)
        response = digest_response(
            username=self.username,
            realm=challenge["realm"],
            password=self.password,
            method="REGISTER",
            uri=self.uri,
            nonce=challenge["nonce"],
            qop=qop,
            nc=nc,
            cnonce=cnonce,
            algorithm=algorithm,
        )
        parts = [
            f"username={_quote(self.username)}",
            f"realm={_quote(challenge['realm'])}",
            f"nonce={_quote(challenge['nonce'])}",
            f"uri={_quote(self.uri)}",
            f"response={_quote(response)}",
            f"algorithm={algorithm}",
        ]
        if qop:
            parts += [f"qop={qop}", f"nc={nc}", f"cnonce={_quote(cnonce)}"]
        if "opaque" in challenge:
            parts.append(f"opaque={_quote(challenge['opaque'])}")
        return "Digest " + ", ".join(parts)

    # --- transport ------------------------------------------------------------------

    async def _resolve(self) -> tuple[str, int]:
        """The registrar's address (A/AAAA records; DNS SRV is not consulted), in the
        family of the gateway's socket."""
        try:
            family = (
                socket.AF_INET6
                if ipaddress.ip_address(self.gateway.host).version == 6
                else socket.AF_INET
            )
        except ValueError:
            family = socket.AF_UNSPEC
        loop = asyncio.get_running_loop()
        try:
            infos = await loop.getaddrinfo(
                self.host, self.port, family=family, type=socket.SOCK_DGRAM
            )
        except OSError as error:
            raise RegistrationError(f"failed: cannot resolve {self.host} ({error})") from error
        host, port = infos[0][4][:2]
        return str(host), int(port)

    async def _transaction(self, request: SipMessage, addr: tuple[str, int]) -> SipMessage:
        """Send `request`, retransmitting (T1 doubling to T2; T2 once a provisional response
        came), until a final response or 64·T1."""
        future: asyncio.Future[SipMessage] = asyncio.get_running_loop().create_future()
        self._pending = (request.branch, future)
        self._provisional = False
        data = request.to_bytes()
        loop = asyncio.get_running_loop()
        deadline = loop.time() + TRANSACTION_TIMEOUT
        interval = T1
        try:
            while not future.done():
                remaining = deadline - loop.time()
                if remaining <= 0:
                    raise RegistrationError("failed: no answer (timeout)")
                self.gateway.send_udp(data, addr)
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(asyncio.shield(future), min(interval, remaining))
                interval = T2 if self._provisional else min(interval * 2, T2)
            return future.result()
        finally:
            self._pending = None

    def _response_received(self, response: SipMessage) -> None:
        if self._pending is None or response.cseq[1] != "REGISTER":
            return
        branch, future = self._pending
        if response.branch != branch or future.done():
            return
        if (response.status or 0) >= 200:
            future.set_result(response)
        else:
            self._provisional = True

    def _set_state(self, state: str) -> None:
        self.state = state
        self._changed.set()
