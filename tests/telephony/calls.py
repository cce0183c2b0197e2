"""Waiting on what the voice menu records of a softphone's call."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Any

from asgiref.sync import sync_to_async

from antenne.rooms.models import PhoneCall
from tests.telephony.softphone import Phone


async def eventually(check: Callable[[], Awaitable[Any]], timeout: float = 10.0, step=0.1):
    """`check()`'s first true result, polled every `step` s for at most `timeout` s."""
    deadline = asyncio.get_running_loop().time() + timeout
    while True:
        result = await check()
        if result:
            return result
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError(f"not true within {timeout} s: {check.__name__}")
        await asyncio.sleep(step)


def call_of(phone: Phone) -> PhoneCall | None:
    return PhoneCall.objects.filter(call_id=phone.call_id).first()


async def joined(phone: Phone, timeout: float = 10.0) -> PhoneCall:
    """The phone's call once its PIN let it into a session's room."""

    async def in_room() -> PhoneCall | None:
        call = await sync_to_async(call_of)(phone)
        return call if call is not None and call.presence_id else None

    return await eventually(in_room, timeout)


async def ended(phone: Phone, timeout: float = 30.0) -> PhoneCall:
    """The phone's call once the gateway hung up and recorded how it ended."""
    await asyncio.wait_for(phone.bye.wait(), timeout)

    async def recorded() -> PhoneCall | None:
        call = await sync_to_async(call_of)(phone)
        return call if call is not None and call.outcome != PhoneCall.Outcome.ACTIVE else None

    return await eventually(recorded, 5.0, 0.05)
