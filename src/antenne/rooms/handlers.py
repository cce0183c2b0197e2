"""What the room does when its session changes (subscribed in `RoomsConfig.ready`): people
in the room learn the new state at once, and the stage's feeds and the polls still open end
with the session. When a right to be in the room is withdrawn (a registration, a speaker
link, an animator, a member), the person leaves the stage in the change's transaction and is
put out of the room once it commits, in every process (`rooms.revocation`)."""

from __future__ import annotations

from asgiref.sync import async_to_sync

from antenne.accounts import hooks as accounts
from antenne.accounts.hooks import MemberChange
from antenne.core import periodic
from antenne.events import hooks as events
from antenne.events.hooks import SessionChange, SpeakerChange, StaffChange
from antenne.registrations import hooks as registrations
from antenne.registrations.hooks import RegistrationChange
from antenne.rooms import polls, push, revocation
from antenne.rooms.attendance import close_stale
from antenne.rooms.stage_media import end_feeds


def tell_the_room(change: SessionChange) -> None:
    async_to_sync(push.publish_state)(change.session.pk, change.session.state)


def end_the_stage(change: SessionChange) -> None:
    """Every stream of the stage ends with the session (the engines are told after commit,
    through the room: `live.hub` → `media.signaling.session_over`)."""
    change.audit["streams_ended"] = len(end_feeds(session_id=change.session.pk, everything=True))


def close_the_polls(change: SessionChange) -> None:
    """Polls still open close with the session; consoles and rooms get their final results."""
    closed = polls.close_open_polls(session_id=change.session.pk)
    for poll, results in closed:
        push.publish_on_commit(change.session.pk, "poll.closed", polls.poll_data(poll, results))
    change.audit["polls_closed"] = len(closed)


def registration_withdrawn(change: RegistrationChange) -> None:
    revocation.registration_withdrawn(
        session_id=change.session_id, registration_id=change.registration_id
    )


def speaker_withdrawn(change: SpeakerChange) -> None:
    revocation.speaker_withdrawn(session_id=change.session_id, speaker_id=change.speaker_id)


def staff_withdrawn(change: StaffChange) -> None:
    revocation.staff_withdrawn(session_ids=change.session_ids, user_ids=change.user_ids)


def member_changed(change: MemberChange) -> None:
    revocation.member_changed(user_id=change.user_id)


def connect() -> None:
    periodic.register("rooms.close_stale_attendance", close_stale)
    events.SESSION_ENDED.in_transaction(end_the_stage)
    events.SESSION_ENDED.in_transaction(close_the_polls)
    for hook in (
        events.SESSION_GREEN_ROOM_OPENED,
        events.SESSION_STARTED,
        events.SESSION_ENDED,
        events.SESSION_CANCELLED,
    ):
        hook.after_commit(tell_the_room)
    # In the transaction: the rows (feeds, invitations) change with the revocation, and the
    # erased or removed row is still there to find the person's connections by.
    registrations.REGISTRATION_REVOKED.in_transaction(registration_withdrawn)
    registrations.REGISTRATION_ERASED.in_transaction(registration_withdrawn)
    events.SPEAKER_REVOKED.in_transaction(speaker_withdrawn)
    events.SPEAKER_REMOVED.in_transaction(speaker_withdrawn)
    events.SESSION_STAFF_REMOVED.in_transaction(staff_withdrawn)
    accounts.MEMBER_DEACTIVATED.in_transaction(member_changed)
    accounts.MEMBER_ROLE_CHANGED.in_transaction(member_changed)
