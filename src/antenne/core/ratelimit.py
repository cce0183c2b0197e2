"""Fixed-window rate limits kept in the Django cache (Redis when REDIS_URL is set, so every
process shares the counters)."""

from __future__ import annotations

import hashlib
import ipaddress
import logging
import time
from collections.abc import Iterable, Mapping
from typing import Any

from django.conf import settings
from django.core.cache import cache
from django.http import HttpRequest

logger = logging.getLogger("antenne.security")

# Failed guesses of a join link (the join and room pages, and the live room's `join`).
JOIN_GUESS = "join-guess"
_MAX_ADDRESS = 64  # a forwarded "address" that is not one is kept this long at most
_warned: set[str] = set()


class Limited(Exception):
    """Raised by views' helpers when a client has used up a rate limit."""


def client_ip(request: HttpRequest) -> str:
    """The client's address, for rate limits: the peer's, unless the peer is one of
    ANTENNE_TRUSTED_PROXIES (see `resolve_client`)."""
    return resolve_client(
        str(request.META.get("REMOTE_ADDR") or ""),
        [str(request.META.get("HTTP_X_FORWARDED_FOR") or "")],
    )


def websocket_client_ip(scope: Mapping[str, Any]) -> str:
    """`client_ip` for an ASGI (WebSocket) scope: the same address a page of the same
    client gets."""
    client = scope.get("client")
    forwarded = [
        value.decode("latin-1")
        for name, value in scope.get("headers", ())
        if name.lower() == b"x-forwarded-for"
    ]
    return resolve_client(str(client[0]) if client else "", forwarded)


def _ip(text: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
    """An address written `192.0.2.1`, `192.0.2.1:443`, `2001:db8::1` or `[2001:db8::1]:443`."""
    text = text.strip()
    if text.startswith("[") and "]" in text:
        text = text[1 : text.index("]")]
    elif text.count(":") == 1:
        text = text.split(":", 1)[0]
    try:
        return ipaddress.ip_address(text)
    except ValueError:
        return None


def _trusted(text: str) -> bool:
    address = _ip(text)
    return address is not None and any(address in net for net in settings.TRUSTED_PROXIES)


def resolve_client(peer: str, forwarded_for: Iterable[str]) -> str:
    """The address rate limits count a client by. A peer that is not a trusted proxy is the
    client, whatever `X-Forwarded-For` it sends. From a trusted proxy, the nearest address
    of `X-Forwarded-For` (each proxy appends whom it received the request from) that is not
    itself a trusted proxy; the farthest one when all are. Resolving an address the ASGI
    server already resolved this way gives it back unchanged (uvicorn's algorithm)."""
    hops = [hop.strip() for value in forwarded_for for hop in value.split(",") if hop.strip()]
    if not _trusted(peer):
        if hops:
            _warn_untrusted(peer)
        return peer or "unknown"
    if not hops:
        return peer
    chosen = next((hop for hop in reversed(hops) if not _trusted(hop)), hops[0])
    address = _ip(chosen)
    return str(address) if address is not None else chosen[:_MAX_ADDRESS]


def _warn_untrusted(peer: str) -> None:
    """Once per process and peer, when a peer on this machine (where the documented reverse
    proxy is) sends X-Forwarded-For without being trusted."""
    address = _ip(peer)
    if address is None or not address.is_loopback:
        return
    if peer in _warned or len(_warned) >= 16:
        return
    _warned.add(peer)
    logger.warning(
        "X-Forwarded-For from %s is ignored: it is not in ANTENNE_TRUSTED_PROXIES. If it is "
        "your reverse proxy, add it there; until then every client behind it shares its "
        "address for rate limits.",
        peer,
    )


def _cache_key(scope: str, key: str, window: int) -> str:
    bucket = int(time.time() // window)
    digest = hashlib.sha256(key.encode()).hexdigest()[:32]
    return f"rl:{scope}:{digest}:{bucket}"


def exceeded(scope: str, key: str, rate: tuple[int, int]) -> bool:
    """Whether `rate` is used up already, without counting an attempt: for checks that
    count only their failures (see `hit`)."""
    limit, window = rate
    return int(cache.get(_cache_key(scope, key, window), 0)) >= limit


def hit(scope: str, key: str, rate: tuple[int, int]) -> bool:
    """Count one attempt; True while the attempt is within `rate` = (count, seconds)."""
    limit, window = rate
    cache_key = _cache_key(scope, key, window)
    cache.add(cache_key, 0, timeout=window + 1)
    try:
        count = cache.incr(cache_key)
    except ValueError:  # expired between add and incr
        cache.set(cache_key, 1, timeout=window + 1)
        count = 1
    return count <= limit


def retry_after(rate: tuple[int, int]) -> int:
    """Seconds until the current window of `rate` ends (when a refused client may retry)."""
    window = rate[1]
    return max(1, int(window - time.time() % window))
