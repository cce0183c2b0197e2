"""Rate limits hold across processes when the cache is Redis (REDIS_URL)."""

from __future__ import annotations

import os

from django.core.cache import caches
from django.core.cache.backends.redis import RedisCache

from antenne.core import ratelimit
from tests import peers

REDIS = "redis://127.0.0.1:6379/15"


def test_window_counts_then_refuses():
    rate = (3, 60)
    results = [ratelimit.hit("t", "k", rate) for _ in range(5)]
    assert results == [True, True, True, False, False]
    assert ratelimit.hit("t", "other-key", rate)  # keys are independent


def test_counters_are_shared_through_redis(settings):
    peers.redis()
    settings.CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": REDIS,
            "KEY_PREFIX": f"antenne-test-{os.getpid()}",
        }
    }
    caches["default"].clear()
    # A second client of the same Redis (another Antenne process) sees the same counts.
    other = RedisCache(REDIS, {"KEY_PREFIX": f"antenne-test-{os.getpid()}"})
    try:
        rate = (2, 60)
        assert ratelimit.hit("shared", "1.2.3.4", rate)
        keys = [k for k in other._cache.get_client().keys("*") if b"shared" in k]
        assert len(keys) == 1
        assert ratelimit.hit("shared", "1.2.3.4", rate)
        assert not ratelimit.hit("shared", "1.2.3.4", rate)
    finally:
        caches["default"].clear()
        # Django's Redis cache keeps its connection pools open for the process; close them
        # so no socket outlives the test.
        for cache in (caches["default"], other):
            for pool in cache._cache._pools.values():
                pool.disconnect()
