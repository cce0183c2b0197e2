"""What `analytics` does when a session ends (subscribed in `AnalyticsConfig.ready`): the
automatic export for its animators, when `ANTENNE_AUTO_EXPORT_ON_END` is on; and its
periodic jobs: fail the exports a dead worker left running, apply the retention period
hourly."""

from __future__ import annotations

from datetime import timedelta

from antenne.analytics.retention import purge_personal_data
from antenne.analytics.services import export_when_ended, fail_stuck_exports
from antenne.core import periodic
from antenne.events import hooks as events
from antenne.events.hooks import SessionChange


def session_ended(change: SessionChange) -> None:
    export_when_ended(change.session)  # its task runs after commit


def connect() -> None:
    periodic.register("analytics.fail_stuck_exports", fail_stuck_exports)
    periodic.register(
        "analytics.purge_personal_data", purge_personal_data, every=timedelta(hours=1)
    )
    events.SESSION_ENDED.in_transaction(session_ended)
