"""Rights withdrawn while people are in the room: a registration revoked or erased, a speaker
link revoked or the speaker removed, an animator taken off the session (or a webinar's owner
changed), a member deactivated or given a lower role.

Called by `rooms.handlers` inside the change's transaction (the domains fire their hooks
there). What the person had on stage ends with the change: their feeds are marked ended and
their stage invitation withdrawn, in the same transaction, and the room is told once it
commits (`push.revoke`). Every process's room then pauses the connections named, has each
re-check its right (`participants.require_in_room`) and closes those refused (`live.hub`,
`live.consumer`: close code 4403); its media engine stops the ended feeds and whatever the
closed connections watched (`media.signaling.revoked`). Telephone callers among them are
hung up by the gateway (`phone.revoke` on the session's telephony group)."""

from __future__ import annotations

from django.db.models import QuerySet
from django.utils import timezone

from antenne.registrations.models import Registration
from antenne.rooms import push
from antenne.rooms.models import Presence, StageFeed, StageInvitation
from antenne.rooms.moderation import OPEN_STAGE, stage_target
from antenne.rooms.participants import may_manage
from antenne.rooms.push import Audience
from antenne.rooms.stage_media import live_feeds


def registration_withdrawn(*, session_id: int, registration_id: int) -> None:
    """A registration revoked or erased (before the row goes): off the stage, out of the
    room."""
    presences = Presence.objects.filter(session_id=session_id, registration_id=registration_id)
    _off_stage(session_id, registration_id)
    _out(session_id, presences, registration_id=registration_id)


def speaker_withdrawn(*, session_id: int, speaker_id: int) -> None:
    """A speaker link revoked, or the speaker removed (before the row goes)."""
    presences = Presence.objects.filter(session_id=session_id, speaker_id=speaker_id)
    _out(session_id, presences, speaker_id=speaker_id)


def staff_withdrawn(*, session_ids: tuple[int, ...], user_ids: tuple[int, ...]) -> None:
    """Members who may have lost the right to manage these sessions: those who did leave
    the rooms where they are staff (a member who still manages a session, as its owner, an
    animator or an admin, stays)."""
    for session_id in session_ids:
        for user_id in user_ids:
            if not may_manage(user_id, session_id):
                presences = Presence.objects.filter(
                    session_id=session_id, user_id=user_id, role=Presence.Role.STAFF
                )
                _out(session_id, presences, user_id=user_id)


def member_changed(*, user_id: int) -> None:
    """A member deactivated or given another role: every room where they are staff
    re-checks."""
    sessions = (
        Presence.objects.filter(user_id=user_id, role=Presence.Role.STAFF, left_at__isnull=True)
        .values_list("session_id", flat=True)
        .distinct()
    )
    staff_withdrawn(session_ids=tuple(sessions), user_ids=(user_id,))


def _out(
    session_id: int,
    presences: QuerySet[Presence],
    *,
    registration_id: int | None = None,
    speaker_id: int | None = None,
    user_id: int | None = None,
) -> None:
    """End the feeds of these connections now, and tell every process after commit."""
    open_rows = list(presences.filter(left_at__isnull=True).values_list("pk", "device"))
    open_ids = [pk for pk, _device in open_rows]
    callers = [pk for pk, device in open_rows if device == Presence.Device.PHONE]
    feeds = list(
        StageFeed.objects.filter(
            session_id=session_id, presence__in=presences, ended_at__isnull=True
        ).values_list("pk", "engine_feed_id")
    )
    if feeds:
        StageFeed.objects.filter(pk__in=[pk for pk, _engine_id in feeds]).update(
            ended_at=timezone.now()
        )
        push.publish_on_commit(session_id, "media.feeds", {"feeds": live_feeds(session_id)})
    push.after_commit(
        push.revoke,
        session_id,
        registration_id=registration_id,
        speaker_id=speaker_id,
        user_id=user_id,
        presence_ids=open_ids,
        engine_feed_ids=[engine_id for _pk, engine_id in feeds],
    )
    if callers:  # the telephone gateway hangs up on them
        push.after_commit(
            push.send_to_telephony, session_id, {"type": "phone.revoke", "presence_ids": callers}
        )


def _off_stage(session_id: int, registration_id: int) -> None:
    """Their stage invitation (pending or accepted) is withdrawn, as `stage.remove` does."""
    invitations = list(
        StageInvitation.objects.filter(
            session_id=session_id, registration_id=registration_id, state__in=OPEN_STAGE
        )
    )
    if not invitations:
        return
    StageInvitation.objects.filter(pk__in=[i.pk for i in invitations]).update(
        state=StageInvitation.State.ENDED, updated_at=timezone.now()
    )
    name = (
        Registration.objects.filter(pk=registration_id).values_list("first_name", flat=True).first()
    )
    target = stage_target(registration_id)
    for invitation in invitations:
        data = {"invitation_id": invitation.pk, "state": StageInvitation.State.ENDED}
        push.publish_on_commit(
            session_id,
            "stage.ended",
            {**data, "registration_id": registration_id, "name": name or ""},
            audience=Audience.BACKSTAGE,
        )
        push.publish_on_commit(session_id, "stage.invitation", {**data, "target": target})
