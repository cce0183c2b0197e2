"""What `registrations` does when a session moves or is cancelled (subscribed in
`RegistrationsConfig.ready`): its registrants are told by email, through a background task
queued after commit (one email row each)."""

from __future__ import annotations

from antenne.events import hooks as events
from antenne.events.hooks import SessionChange
from antenne.registrations.tasks import notify_registrants


def session_moved(change: SessionChange) -> None:
    notify_registrants.enqueue(change.session.pk, "moved", "")


def session_cancelled(change: SessionChange) -> None:
    notify_registrants.enqueue(change.session.pk, "cancelled", change.message)


def connect() -> None:
    events.SESSION_MOVED.after_commit(session_moved)
    events.SESSION_CANCELLED.after_commit(session_cancelled)
