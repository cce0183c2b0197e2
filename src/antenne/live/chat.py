"""Chat actions: `chat.send` (everyone; `backstage` for speakers and staff) and
`chat.delete` (staff)."""

from __future__ import annotations

from typing import Any

from asgiref.sync import sync_to_async

from antenne.live.actions import Context, action, staff
from antenne.live.protocol import ChatDeletePayload, ChatSendPayload
from antenne.rooms import services
from antenne.rooms.models import ChatMessage, Presence
from antenne.rooms.moderation import room_settings
from antenne.rooms.push import Audience, publish


def chat_data(message: ChatMessage, *, named: bool) -> dict[str, Any]:
    """A chat message as pages get it. Attendees' names are shown to other attendees only
    when the room shows them (`RoomSettings.show_attendee_names`); staff always get the
    name and the registration, to moderate (`named`)."""
    attendee = message.role == Presence.Role.ATTENDEE
    data = {
        "id": message.pk,
        # None: the page shows its own word for "an attendee", in its language.
        "author": message.author_name if named or not attendee else None,
        "role": message.role,
        "text": message.text,
        "backstage": message.backstage,
        "at": message.created_at.isoformat(),
    }
    if named and attendee:
        data["registration_id"] = message.registration_id
    return data


def shows_names(session_id: int) -> bool:
    return bool(room_settings(session_id).show_attendee_names)


@action("chat.send", ChatSendPayload)
async def send(ctx: Context, data: ChatSendPayload) -> dict[str, Any]:
    message = await sync_to_async(services.post_chat)(
        participant=ctx.participant,
        presence_id=ctx.presence_id,
        text=data.text,
        backstage=data.backstage,
    )
    if message.backstage:
        await publish(
            ctx.session_id,
            "chat.message",
            chat_data(message, named=True),
            audience=Audience.BACKSTAGE,
        )
    else:
        named = await sync_to_async(shows_names)(ctx.session_id)
        await publish(ctx.session_id, "chat.message", chat_data(message, named=named))
        if message.role == Presence.Role.ATTENDEE and not named:
            # Staff moderate: they get the named copy (pages keep messages by id).
            await publish(
                ctx.session_id,
                "chat.message",
                chat_data(message, named=True),
                audience=Audience.STAFF,
            )
    return {"id": message.pk}


@action("chat.delete", ChatDeletePayload, staff)
async def delete(ctx: Context, data: ChatDeletePayload) -> dict[str, Any]:
    message = await sync_to_async(services.delete_chat)(
        participant=ctx.participant, message_id=data.message_id
    )
    await publish(
        ctx.session_id,
        "chat.deleted",
        {"id": message.pk},
        audience=Audience.BACKSTAGE if message.backstage else Audience.PUBLIC,
    )
    return {"id": message.pk}
