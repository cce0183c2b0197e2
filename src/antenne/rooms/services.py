"""Writes of the live room: attendance rows (one per connection) and the chat. Who may be
in the room is `rooms.participants`. Called by the
WebSocket consumer (antenne.live) through `sync_to_async`; every rule lives here."""

from __future__ import annotations

from django.conf import settings
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from antenne.core import actions
from antenne.core.exceptions import Conflict, Invalid, NotFound, PermissionDenied
from antenne.rooms.attendance import live_connections
from antenne.rooms.models import ChatMessage, Presence
from antenne.rooms.moderation import audit_moderation, check_can_chat
from antenne.rooms.participants import Participant, require_in_room, require_staff


def record_join(*, participant: Participant, device: str) -> Presence:
    """One attendance row per connection, from now until `record_leave`."""
    if device not in Presence.Device.values:
        raise Invalid(_("Unknown device type."), code="room.device_invalid")
    limit = settings.LIVE_MAX_CONNECTIONS
    if (
        participant.registration_id is not None
        and limit
        and live_connections(registration_id=participant.registration_id) >= limit
    ):
        raise Conflict(
            _("Your link is already open on %(n)d devices: close one to join here.") % {"n": limit},
            code="room.too_many_connections",
        )
    now = timezone.now()
    return Presence.objects.create(
        session_id=participant.session_id,
        registration_id=participant.registration_id,
        user_id=participant.user_id,
        speaker_id=participant.speaker_id,
        role=participant.role,
        device=device,
        joined_at=now,
        seen_at=now,
    )


def record_leave(*, presence_id: int) -> None:
    Presence.objects.filter(pk=presence_id, left_at__isnull=True).update(left_at=timezone.now())


def post_chat(
    *, participant: Participant, presence_id: int | None, text: str, backstage: bool = False
) -> ChatMessage:
    text = text.strip()
    if not text:
        raise Invalid(_("The message is empty."), code="chat.empty")
    if len(text) > 2000:
        raise Invalid(_("The message is too long."), code="chat.too_long")
    if backstage and not participant.is_backstage:
        raise PermissionDenied(
            _("The backstage chat is for speakers and staff."), code="chat.backstage"
        )
    require_in_room(participant)
    check_can_chat(participant, backstage=backstage)
    return ChatMessage.objects.create(
        session_id=participant.session_id,
        presence_id=presence_id,
        registration_id=participant.registration_id,
        author_name=participant.name[:200],
        role=participant.role,
        backstage=backstage,
        text=text,
    )


def delete_chat(*, participant: Participant, message_id: int) -> ChatMessage:
    """Staff remove a message for everyone."""
    require_staff(participant)
    with transaction.atomic():
        message = (
            ChatMessage.objects.select_for_update()
            .filter(pk=message_id, session_id=participant.session_id)
            .first()
        )
        if message is None:
            raise NotFound(_("No such message."), code="chat.not_found")
        if message.deleted_at is None:
            message.deleted_at = timezone.now()
            message.save(update_fields=["deleted_at"])
            audit_moderation(participant, actions.ROOM_MESSAGE_DELETED, message_id=message.pk)
    return message


def recent_chat(*, participant: Participant, limit: int = 100) -> list[ChatMessage]:
    """The last messages a newcomer sees (backstage ones only for speakers and staff)."""
    messages = ChatMessage.objects.filter(
        session_id=participant.session_id, deleted_at__isnull=True
    )
    if not participant.is_backstage:
        messages = messages.filter(backstage=False)
    return list(reversed(messages.order_by("-id")[:limit]))
