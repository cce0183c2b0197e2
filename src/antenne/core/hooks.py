"""Domain hooks: how a domain tells the packages that follow it what happened, without
importing them.

A domain declares its hooks once, by name, in its own `hooks.py` (`events/hooks.py`:
`SESSION_STARTED = Hook[SessionChange]("session.started")`) and fires them from its services
(`hooks.SESSION_STARTED.fire(change)`). A package above it subscribes in its app's `ready()`
(`SESSION_STARTED.after_commit(tell_the_room)`), so the stack only points down: `events`
never imports `mailing`, `rooms` or `analytics`.

Two moments, chosen by the subscriber:

- `in_transaction`: run inside the firing service's transaction, in the order the apps are
  installed. For rows that must commit or roll back with the change (reminders withheld when
  a session starts, stage feeds closed when it ends); an exception refuses the change. Such
  a handler may add figures to the change's audit entry through its payload.
- `after_commit`: run once the transaction commits, never for a change that rolled back.
  For what leaves the database (room pushes, task enqueues). Each handler runs on its own: a
  failure is logged and the others still run.

`REGISTRY` lists every hook by name (`antenne.core.hooks.REGISTRY["session.started"]`)."""

from __future__ import annotations

import functools
import logging
from collections.abc import Callable
from typing import Any, Generic, TypeVar

from django.db import transaction

logger = logging.getLogger("antenne.hooks")

P = TypeVar("P")
Handler = Callable[[P], object]


class Hook(Generic[P]):
    """A named thing that happened in a domain, with a typed payload `P`."""

    def __init__(self, name: str) -> None:
        if name in REGISTRY:
            raise ValueError(f"hook {name!r} is declared twice")
        self.name = name
        self.during: list[Handler[P]] = []
        self.after: list[Handler[P]] = []
        REGISTRY[name] = self

    def __repr__(self) -> str:
        return f"Hook({self.name!r})"

    def in_transaction(self, handler: Handler[P]) -> Handler[P]:
        """Subscribe `handler` to run inside the firing transaction."""
        if handler not in self.during:
            self.during.append(handler)
        return handler

    def after_commit(self, handler: Handler[P]) -> Handler[P]:
        """Subscribe `handler` to run once the firing transaction commits."""
        if handler not in self.after:
            self.after.append(handler)
        return handler

    def fire(self, payload: P) -> None:
        """Run the in-transaction handlers now and schedule the others after commit (at once
        when no transaction is open)."""
        for handler in self.during:
            handler(payload)
        for handler in self.after:
            transaction.on_commit(functools.partial(_run, self.name, handler, payload))


def _run(name: str, handler: Handler[P], payload: P) -> None:
    try:
        handler(payload)
    except Exception:
        logger.exception("hook %s: handler %s failed", name, getattr(handler, "__qualname__", ""))


REGISTRY: dict[str, Hook[Any]] = {}
