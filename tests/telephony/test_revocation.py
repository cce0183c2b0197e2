"""A registrant on the telephone whose registration is revoked or erased is hung up at once
(issue 16, point 2, by telephone): the real gateway and voice menu, a Python softphone."""

from __future__ import annotations

import asyncio
from datetime import timedelta

import pytest
from asgiref.sync import sync_to_async
from django.utils import timezone

from antenne.registrations import services as registrations
from tests.factories import RegistrationFactory, SessionFactory
from tests.telephony.calls import joined

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.e2e]


@pytest.mark.parametrize("how", ["revoke", "erase"])
async def test_a_caller_whose_registration_is_withdrawn_is_hung_up(phones, animator, how):
    session = await sync_to_async(SessionFactory)(
        animators=[animator], starts_at=timezone.now() + timedelta(minutes=10)
    )
    registration = await sync_to_async(RegistrationFactory)(
        session=session, phone_pin="31415926535"
    )
    other = await sync_to_async(RegistrationFactory)(session=session, phone_pin="27182818284")
    phone, stays = await phones(), await phones()
    for caller, pin in ((phone, registration.phone_pin), (stays, other.phone_pin)):
        assert await caller.call() == 200
        await caller.dial(pin + "#")
        await joined(caller)

    service = {
        "revoke": registrations.revoke_registration,
        "erase": registrations.erase_registration,
    }[how]
    await sync_to_async(service)(actor=animator, registration=registration)
    await asyncio.wait_for(phone.bye.wait(), 3)
    await asyncio.sleep(0.3)
    assert not stays.bye.is_set()  # the other caller stays
