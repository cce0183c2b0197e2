"""Fixed-window rate limits kept in the Django cache (Redis when REDIS_URL is set, so every
process shares the counters)."""

from __future__ import annotations

import hashlib
import time

from django.core.cache import cache
from django.http import HttpRequest


class Limited(Exception):
    """Raised by views' helpers when a client has used up a rate limit."""


def client_ip(request: HttpRequest) -> str:
    # The ASGI server resolves X-Forwarded-For from trusted proxies into REMOTE_ADDR.
    return str(request.META.get("REMOTE_ADDR") or "unknown")


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
