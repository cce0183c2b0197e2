"""The outbox's periodic job (registered in `OutboxConfig.ready`): give back to the queue
what a crashed worker left behind."""

from __future__ import annotations

from antenne.core import periodic
from antenne.outbox.services import requeue_stuck


def connect() -> None:
    periodic.register("outbox.requeue_stuck", requeue_stuck)
