"""Invitations to the stage: staff invite a connected attendee, who accepts or declines,
leaves, or is removed; public stage events name the invitee by an HMAC `target`."""

from __future__ import annotations

from django.db import transaction
from django.utils.translation import gettext_lazy as _

from antenne.core import actions
from antenne.core.exceptions import Conflict, NotFound
from antenne.rooms.hands import lower_person, open_presences
from antenne.rooms.models import StageInvitation
from antenne.rooms.moderation import OPEN_STAGE, Person, audit_moderation, person_of
from antenne.rooms.participants import Participant, require_in_room, require_staff


def invite_to_stage(
    *, participant: Participant, registration_id: int
) -> tuple[StageInvitation, Person, bool]:
    """Staff invite a connected attendee on stage. Inviting again while the invitation is
    pending returns it (so it can be sent again: the invitee may have reconnected). Returns
    the invitation, the person and whether it was created."""
    require_staff(participant)
    with transaction.atomic():
        person = person_of(participant, registration_id, lock=True)
        if not open_presences(participant.session_id, person.registration_id).exists():
            raise Conflict(
                _("This person is not in the room right now."), code="stage.not_connected"
            )
        current = _open_invitation(participant.session_id, person.registration_id)
        if current is not None and current.state == StageInvitation.State.ACCEPTED:
            raise Conflict(_("This person is on stage already."), code="stage.already_on_stage")
        if current is not None:
            return current, person, False
        invitation = StageInvitation.objects.create(
            session_id=participant.session_id,
            registration_id=person.registration_id,
            by_id=participant.user_id,
        )
        audit_moderation(
            participant, actions.ROOM_STAGE_INVITED, registration_id=person.registration_id
        )
    return invitation, person, True


def _open_invitation(session_id: int, registration_id: int) -> StageInvitation | None:
    return (
        StageInvitation.objects.select_for_update()
        .filter(session_id=session_id, registration_id=registration_id, state__in=OPEN_STAGE)
        .order_by("-id")
        .first()
    )


def answer_invitation(
    *, participant: Participant, invitation_id: int, accept: bool
) -> tuple[StageInvitation, Person, bool, bool]:
    """The invitee accepts or declines. Answering the same again changes nothing (False).
    Accepting lowers the person's raised hand: they have the floor now. Returns the
    invitation, the person, whether it changed and whether a hand went down."""
    if participant.registration_id is None:
        raise NotFound(_("No such invitation."), code="stage.not_found")
    require_in_room(participant)
    wanted = StageInvitation.State.ACCEPTED if accept else StageInvitation.State.DECLINED
    with transaction.atomic():
        invitation = (
            StageInvitation.objects.select_for_update()
            .filter(
                pk=invitation_id,
                session_id=participant.session_id,
                registration_id=participant.registration_id,
            )
            .first()
        )
        if invitation is None:
            raise NotFound(_("No such invitation."), code="stage.not_found")
        person = Person(registration_id=participant.registration_id, name=participant.name)
        if invitation.state == wanted:
            return invitation, person, False, False
        if invitation.state != StageInvitation.State.INVITED:
            raise Conflict(
                _("This invitation has been answered or withdrawn."), code="stage.not_pending"
            )
        invitation.state = wanted
        invitation.save(update_fields=["state", "updated_at"])
        lowered = accept and lower_person(participant.session_id, participant.registration_id)
    return invitation, person, True, lowered


def leave_stage(*, participant: Participant) -> tuple[StageInvitation, Person]:
    """The person on stage steps down by themselves."""
    if participant.registration_id is None:
        raise NotFound(_("You are not on stage."), code="stage.not_on_stage")
    require_in_room(participant)
    with transaction.atomic():
        invitation = (
            StageInvitation.objects.select_for_update()
            .filter(
                session_id=participant.session_id,
                registration_id=participant.registration_id,
                state=StageInvitation.State.ACCEPTED,
            )
            .first()
        )
        if invitation is None:
            raise NotFound(_("You are not on stage."), code="stage.not_on_stage")
        invitation.state = StageInvitation.State.ENDED
        invitation.save(update_fields=["state", "updated_at"])
    return invitation, Person(registration_id=participant.registration_id, name=participant.name)


def remove_from_stage(
    *, participant: Participant, registration_id: int
) -> tuple[StageInvitation, Person]:
    """Staff take someone off the stage, or withdraw a pending invitation."""
    require_staff(participant)
    with transaction.atomic():
        person = person_of(participant, registration_id, lock=True)
        invitation = _open_invitation(participant.session_id, person.registration_id)
        if invitation is None:
            raise NotFound(
                _("This person is neither on stage nor invited."), code="stage.not_on_stage"
            )
        was = invitation.state
        invitation.state = StageInvitation.State.ENDED
        invitation.save(update_fields=["state", "updated_at"])
        audit_moderation(
            participant,
            actions.ROOM_STAGE_REMOVED,
            registration_id=person.registration_id,
            was=was,
        )
    return invitation, person
