"""What happens to a session, for the packages that follow `events` (mailing, rooms,
analytics, registrations; later recordings and webhooks). They subscribe in their app's
`ready()`; see `antenne.core.hooks` for the two moments a handler can choose."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from antenne.core.hooks import Hook
from antenne.events.models import Session


@dataclass
class SessionChange:
    """A session that was scheduled, moved, cancelled, or moved along its broadcast."""

    session: Session
    actor: Any = None
    # The state the session left (for the broadcast's transitions).
    previous_state: str = ""
    # A cancellation's message, passed on to the registrants.
    message: str = ""
    # Figures that in-transaction handlers add to the change's audit entry.
    audit: dict[str, Any] = field(default_factory=dict)


SESSION_SCHEDULED = Hook[SessionChange]("session.scheduled")
SESSION_MOVED = Hook[SessionChange]("session.moved")  # its start changed
SESSION_CANCELLED = Hook[SessionChange]("session.cancelled")
SESSION_GREEN_ROOM_OPENED = Hook[SessionChange]("session.green_room_opened")
SESSION_STARTED = Hook[SessionChange]("session.started")
SESSION_ENDED = Hook[SessionChange]("session.ended")

# The states in which attendees still wait for the broadcast.
WAITING = (Session.State.SCHEDULED, Session.State.GREEN_ROOM)


@dataclass(frozen=True)
class SpeakerChange:
    """A speaker whose link stopped working: revoked, or the speaker removed (fired before
    the row is deleted)."""

    speaker_id: int
    session_id: int
    actor: Any = None


SPEAKER_REVOKED = Hook[SpeakerChange]("speaker.revoked")
SPEAKER_REMOVED = Hook[SpeakerChange]("speaker.removed")


@dataclass(frozen=True)
class StaffChange:
    """Members who may have lost the right to manage sessions: animators taken off a
    session, or the previous owner of a webinar (for each of its sessions). Fired inside the
    change's transaction, after the change: a handler asks `can_manage_session` again."""

    session_ids: tuple[int, ...]
    user_ids: tuple[int, ...]
    actor: Any = None


SESSION_STAFF_REMOVED = Hook[StaffChange]("session.staff_removed")
