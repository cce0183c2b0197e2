"""Chat actions: `chat.send` (everyone; `backstage` for speakers and staff) and
`chat.delete` (staff)."""

from __future__ import annotations

from typing import Any

from asgiref.sync import sync_to_async

from antenne.live.actions import Context, action, staff
from antenne.live.hub import publish
from antenne.live.protocol import ChatDeletePayload, ChatSendPayload
from antenne.rooms import services
from antenne.rooms.models import ChatMessage


def chat_data(message: ChatMessage) -> dict[str, Any]:
    return {
        "id": message.pk,
        "author": message.author_name,
        "role": message.role,
        "text": message.text,
        "backstage": message.backstage,
        "at": message.created_at.isoformat(),
    }


@action("chat.send", ChatSendPayload)
async def send(ctx: Context, data: ChatSendPayload) -> dict[str, Any]:
    message = await sync_to_async(services.post_chat)(
        participant=ctx.participant,
        presence_id=ctx.presence_id,
        text=data.text,
        backstage=data.backstage,
    )
    await publish(ctx.session_id, "chat.message", chat_data(message), backstage=message.backstage)
    return {"id": message.pk}


@action("chat.delete", ChatDeletePayload, staff)
async def delete(ctx: Context, data: ChatDeletePayload) -> dict[str, Any]:
    message = await sync_to_async(services.delete_chat)(
        participant=ctx.participant, message_id=data.message_id
    )
    await publish(ctx.session_id, "chat.deleted", {"id": message.pk}, backstage=message.backstage)
    return {"id": message.pk}
