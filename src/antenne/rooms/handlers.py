"""What the room does when its session changes (subscribed in `RoomsConfig.ready`): people
in the room learn the new state at once, and the stage's feeds end with the session."""

from __future__ import annotations

from asgiref.sync import async_to_sync

from antenne.core import periodic
from antenne.events import hooks as events
from antenne.events.hooks import SessionChange
from antenne.rooms import push
from antenne.rooms.attendance import close_stale
from antenne.rooms.stage_media import end_feeds


def tell_the_room(change: SessionChange) -> None:
    async_to_sync(push.publish_state)(change.session.pk, change.session.state)


def end_the_stage(change: SessionChange) -> None:
    """Every stream of the stage ends with the session (the engines are told after commit,
    through the room: `live.hub` → `media.signaling.session_over`)."""
    change.audit["streams_ended"] = len(end_feeds(session_id=change.session.pk, everything=True))


def connect() -> None:
    periodic.register("rooms.close_stale_attendance", close_stale)
    events.SESSION_ENDED.in_transaction(end_the_stage)
    for hook in (
        events.SESSION_GREEN_ROOM_OPENED,
        events.SESSION_STARTED,
        events.SESSION_ENDED,
        events.SESSION_CANCELLED,
    ):
        hook.after_commit(tell_the_room)
