"""Periodic jobs, registered by the app that owns them (in its `ready()`) and run by every
worker process's sweeper (`antenne.runner.Sweeper`): re-queuing what a crashed worker left,
sending due reminders, closing stale attendance rows, applying the retention period…

Each job is idempotent (several processes sweeping at once is harmless) and fails on its
own: an exception is logged and the job runs again at the next sweep."""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta

logger = logging.getLogger("antenne.periodic")


@dataclass(frozen=True)
class PeriodicJob:
    name: str
    function: Callable[[], object]
    # At most this often; zero runs it at every sweep (every minute by default).
    every: timedelta = timedelta(0)


JOBS: dict[str, PeriodicJob] = {}


def register(name: str, function: Callable[[], object], *, every: timedelta = timedelta(0)) -> None:
    """Add a job (once per name: registering the same name again replaces it)."""
    JOBS[name] = PeriodicJob(name=name, function=function, every=every)


def run_due(last_runs: dict[str, float], now: float) -> list[str]:
    """Run the jobs due at `now` (a monotonic time; `last_runs` keeps, per job, when it last
    ran). Returns the names of the jobs that failed."""
    failed = []
    for job in list(JOBS.values()):
        last = last_runs.get(job.name)
        if last is not None and now - last < job.every.total_seconds():
            continue
        last_runs[job.name] = now
        try:
            job.function()
        except Exception:
            logger.exception("%s failed; trying again later", job.name)
            failed.append(job.name)
    return failed
