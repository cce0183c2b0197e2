"""A session's broadcast: `scheduled → green_room → live → ended` (ARCHITECTURE.md, "The live
room"). Cancelling is `services.cancel_session`; this module moves a session that goes ahead.

Rules:
- only the session's managers (`permissions.require_session_manager`: its animators, the
  webinar's owner, admins) open the green room, start and end; speakers do not;
- the green room opens at most `GREEN_ROOM_EARLIEST` (2 hours) before the scheduled start,
  the broadcast starts at most `START_EARLIEST` (1 hour) before it; neither once the planned
  end is more than `LATEST_AFTER_END` (1 hour) past: such a session is moved, not started
  (`session.too_early`, `session.too_late`);
- the broadcast starts from `scheduled` or `green_room` (`started_at` is set) and ends from
  `live` or `green_room` (`ended_at` is set; a session ended from the green room never went
  live and keeps `started_at` empty);
- going live or ending before that withholds the reminders still pending, reason "started
  early" (the `mailing` handler);
- each transition locks the session row, refuses a wrong state with a `Conflict`
  (`session.cancelled`, `session.ended`, `session.not_scheduled`, `session.already_live`,
  `session.not_live`), is audited, and fires its hook (`events.hooks`): the reminders
  still pending are withheld, the stage's feeds closed at the end, the room told after
  commit, the end-of-session export prepared, by the packages that subscribe."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from antenne.core import actions
from antenne.core.audit import log_action
from antenne.core.exceptions import Conflict
from antenne.events import hooks
from antenne.events.hooks import WAITING, SessionChange
from antenne.events.models import Session
from antenne.events.permissions import require_session_manager

GREEN_ROOM_EARLIEST = timedelta(hours=2)
START_EARLIEST = timedelta(hours=1)
LATEST_AFTER_END = timedelta(hours=1)

# The transitions, as interfaces name them.
OPEN_GREEN_ROOM = "green_room"
START = "start"
END = "end"

_FROM: dict[str, tuple[str, ...]] = {
    OPEN_GREEN_ROOM: (Session.State.SCHEDULED,),
    START: (Session.State.SCHEDULED, Session.State.GREEN_ROOM),
    END: (Session.State.GREEN_ROOM, Session.State.LIVE),
}


def _minutes(delta: timedelta) -> int:
    return int(delta.total_seconds() // 60)


def _wrong_state(session: Session, transition: str) -> Conflict:
    if session.state == Session.State.CANCELLED:
        return Conflict(_("This session was cancelled."), code="session.cancelled")
    if session.state == Session.State.ENDED:
        return Conflict(_("This session has already ended."), code="session.ended")
    if transition == OPEN_GREEN_ROOM:
        return Conflict(
            _("The green room is already open or the session is live."),
            code="session.not_scheduled",
        )
    if transition == START:
        return Conflict(_("The broadcast is already live."), code="session.already_live")
    return Conflict(_("This session has not started."), code="session.not_live")


def _out_of_window(session: Session, transition: str, now: datetime) -> Conflict | None:
    earliest = GREEN_ROOM_EARLIEST if transition == OPEN_GREEN_ROOM else START_EARLIEST
    opens_at = session.starts_at - earliest
    if now < opens_at:
        message = (
            _("The green room opens at most %(minutes)s minutes before the scheduled start.")
            if transition == OPEN_GREEN_ROOM
            else _(
                "The broadcast can start at most %(minutes)s minutes before the scheduled start."
            )
        )
        return Conflict(
            message % {"minutes": _minutes(earliest)},
            code="session.too_early",
            opens_at=opens_at.isoformat(),
        )
    if now >= session.ends_at + LATEST_AFTER_END:
        return Conflict(
            _(
                "This session's planned end is more than %(minutes)s minutes past: move it to "
                "a new time to hold it."
            )
            % {"minutes": _minutes(LATEST_AFTER_END)},
            code="session.too_late",
        )
    return None


def refusal(session: Session, transition: str, now: datetime | None = None) -> Conflict | None:
    """Why `transition` (OPEN_GREEN_ROOM, START or END) cannot happen to `session` now, or
    None. The services raise it; a confirmation page shows it instead of the button."""
    if session.state not in _FROM[transition]:
        return _wrong_state(session, transition)
    if transition == END:
        return None
    return _out_of_window(session, transition, now or timezone.now())


def offered(session: Session) -> list[str]:
    """The transitions `session`'s state allows (its timing aside), in the order offered."""
    return [
        transition
        for transition in (OPEN_GREEN_ROOM, START, END)
        if session.state in _FROM[transition]
    ]


def _move(*, actor: Any, session: Session, transition: str) -> Session:
    require_session_manager(actor, session)
    with transaction.atomic():
        locked = (
            Session.objects.select_for_update(of=("self",))
            .select_related("event")
            .get(pk=session.pk)
        )
        now = timezone.now()  # once the lock is ours: a wait for it counts
        refused = refusal(locked, transition, now)
        if refused is not None:
            raise refused
        before = locked.state
        change = SessionChange(session=locked, actor=actor, previous_state=before)
        change.audit["from"] = before
        if transition == OPEN_GREEN_ROOM:
            locked.state = Session.State.GREEN_ROOM
            locked.save(update_fields=["state"])
            action, hook = actions.SESSION_GREEN_ROOM_OPENED, hooks.SESSION_GREEN_ROOM_OPENED
        elif transition == START:
            locked.state = Session.State.LIVE
            locked.started_at = now
            locked.save(update_fields=["state", "started_at"])
            action, hook = actions.SESSION_STARTED, hooks.SESSION_STARTED
            change.audit["started_at"] = now.isoformat()
        else:
            locked.state = Session.State.ENDED
            locked.ended_at = now
            locked.save(update_fields=["state", "ended_at"])
            action, hook = actions.SESSION_ENDED, hooks.SESSION_ENDED
            started = locked.started_at.isoformat() if locked.started_at else None
            change.audit["started_at"] = started
            change.audit["ended_at"] = now.isoformat()
        if transition != OPEN_GREEN_ROOM and before in WAITING:
            # Attendees wait until the broadcast starts (reminders keep going while only the
            # green room is open).
            change.audit["minutes_before_start"] = _minutes(locked.starts_at - now)
        hook.fire(change)
        log_action(locked, action, actor=actor, data=change.audit)
    return locked


def open_green_room(*, actor: Any, session: Session) -> Session:
    """scheduled → green_room: speakers and animators meet; attendees keep waiting."""
    return _move(actor=actor, session=session, transition=OPEN_GREEN_ROOM)


def start_session(*, actor: Any, session: Session) -> Session:
    """scheduled | green_room → live: the broadcast starts for everyone."""
    return _move(actor=actor, session=session, transition=START)


def end_session(*, actor: Any, session: Session) -> Session:
    """live | green_room → ended: the broadcast is over for everyone, for good."""
    return _move(actor=actor, session=session, transition=END)
