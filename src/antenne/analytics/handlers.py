"""What `analytics` does when a session ends (subscribed in `AnalyticsConfig.ready`): the
automatic export for its animators, when `ANTENNE_AUTO_EXPORT_ON_END` is on."""

from __future__ import annotations

from antenne.analytics.services import export_when_ended
from antenne.events import hooks as events
from antenne.events.hooks import SessionChange


def session_ended(change: SessionChange) -> None:
    export_when_ended(change.session)  # its task runs after commit


def connect() -> None:
    events.SESSION_ENDED.in_transaction(session_ended)
