"""Who is in the live room and with what right: a connection's `Participant` (registrant,
speaker or staff), found from its credential at join (`identify`), and the checks every read
and write of the room repeats (`require_in_room`, `require_staff`), so that a registration
revoked, a speaker link withdrawn, an animator removed or a session ended since joining
stops the person."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django.utils.translation import gettext_lazy as _

from antenne.accounts.models import User
from antenne.core.exceptions import Conflict, NotFound, PermissionDenied
from antenne.events.models import Session, Speaker
from antenne.events.permissions import can_manage_session
from antenne.events.speakers import speaker_for_link
from antenne.registrations.models import Registration
from antenne.registrations.services import registration_for_key, session_window_open
from antenne.rooms.models import Presence

# States in which people may be in the room at all, per role.
OPEN_TO_ATTENDEES: set[str] = {
    Session.State.SCHEDULED,
    Session.State.GREEN_ROOM,
    Session.State.LIVE,
}
OPEN_TO_STAFF: set[str] = OPEN_TO_ATTENDEES | {Session.State.ENDED}


@dataclass(frozen=True)
class Participant:
    """Who a connection is, once joined."""

    session_id: int
    role: str  # Presence.Role
    name: str
    registration_id: int | None = None
    user_id: int | None = None
    speaker_id: int | None = None

    @property
    def is_staff(self) -> bool:
        return self.role == Presence.Role.STAFF

    @property
    def is_backstage(self) -> bool:
        """Speakers and staff: the green room and its backstage chat."""
        return self.role in (Presence.Role.STAFF, Presence.Role.SPEAKER)


def identify(
    *, session_id: int, join_key: str = "", speaker_token: str = "", user: Any = None
) -> Participant:
    """Who wants to join `session_id`: a registrant by their join link, a speaker by their
    link, or a member of the workspace by their back-office login (staff if they manage the
    session, else refused). Raises PermissionDenied / NotFound with a stable code."""
    session = Session.objects.select_related("event").filter(pk=session_id).first()
    if session is None:
        raise NotFound(_("No such session."), code="session.not_found")
    if join_key:
        registration = registration_for_key(key=join_key)
        if registration is None or registration.session_id != session.pk:
            raise PermissionDenied(_("This join link is not valid."), code="join.invalid_link")
        if registration.status != Registration.Status.CONFIRMED:
            raise PermissionDenied(
                _("Your registration is not confirmed."), code="join.not_confirmed"
            )
        require_open(session, OPEN_TO_ATTENDEES)
        if session.state != Session.State.LIVE and not session_window_open(session):
            raise Conflict(
                _("The room opens 30 minutes before the start."), code="room.not_open_yet"
            )
        return Participant(
            session_id=session.pk,
            role=Presence.Role.ATTENDEE,
            name=registration.first_name,
            registration_id=registration.pk,
        )
    if speaker_token:
        speaker = speaker_for_link(raw=speaker_token)
        if speaker.session_id != session.pk:
            raise PermissionDenied(
                _("This speaker link is not valid any more."), code="speaker.link_invalid"
            )
        require_open(session, OPEN_TO_STAFF)
        return Participant(
            session_id=session.pk,
            role=Presence.Role.SPEAKER,
            name=speaker.name,
            speaker_id=speaker.pk,
            user_id=speaker.user_id,
        )
    if user is not None and getattr(user, "is_authenticated", False):
        if not can_manage_session(user, session):
            raise PermissionDenied(
                _("Only the session's animators and admins join from the back office."),
                code="permission.not_animator",
            )
        require_open(session, OPEN_TO_STAFF)
        return Participant(
            session_id=session.pk,
            role=Presence.Role.STAFF,
            name=user.full_name or user.email,
            user_id=user.pk,
        )
    raise PermissionDenied(_("Join with your personal link."), code="join.unauthenticated")


def require_open(session: Session, states: set[str]) -> None:
    if session.state not in states:
        raise Conflict(_("This session is over or cancelled."), code="room.closed")


def require_in_room(participant: Participant) -> None:
    """The right to be in the room is checked at join and again before each read and write,
    and when a revocation names the connection (`rooms.revocation`): a registration revoked
    or erased, a speaker link withdrawn, an animator removed or deactivated, or a session
    ended meanwhile stops the person here."""
    state = Session.objects.filter(pk=participant.session_id).values_list("state", flat=True)
    allowed = OPEN_TO_STAFF if participant.is_backstage else OPEN_TO_ATTENDEES
    if state.first() not in allowed:
        raise Conflict(_("This session is over or cancelled."), code="room.closed")
    if (
        participant.registration_id is not None
        and not Registration.objects.filter(
            pk=participant.registration_id, status=Registration.Status.CONFIRMED
        ).exists()
    ):
        raise PermissionDenied(_("This join link is not valid."), code="join.invalid_link")
    if (
        participant.speaker_id is not None
        and not Speaker.objects.filter(
            pk=participant.speaker_id,
            session_id=participant.session_id,
            revoked_at__isnull=True,
        ).exists()
    ):
        raise PermissionDenied(
            _("This speaker link is not valid any more."), code="speaker.link_invalid"
        )
    if participant.is_staff and not may_manage(participant.user_id, participant.session_id):
        raise PermissionDenied(
            _("Only the session's animators and admins join from the back office."),
            code="permission.not_animator",
        )


def may_manage(user_id: int | None, session_id: int) -> bool:
    """Whether this member (active) manages the session now: its animators, its webinar's
    owner, admins."""
    user = User.objects.filter(pk=user_id, is_active=True).first() if user_id else None
    session = Session.objects.select_related("event").filter(pk=session_id).first()
    return user is not None and session is not None and can_manage_session(user, session)


def require_staff(participant: Participant) -> None:
    """Staff of the room who still manage the session (not removed as animator meanwhile)."""
    if not participant.is_staff:
        raise PermissionDenied(_("Only the session's staff moderate."), code="permission.not_staff")
    require_in_room(participant)
