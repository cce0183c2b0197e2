"""The gateway with its voice menu, and softphones calling it, for the tests that run the
whole IVR with the database (test_ivr, test_ivr_sipp, test_pin_bruteforce)."""

from __future__ import annotations

import pytest
from asgiref.sync import sync_to_async
from django.db import connections

from antenne.media import signaling as media_engine
from antenne.telephony.gateway import SipGateway
from antenne.telephony.ivr import Ivr
from tests.telephony.softphone import Phone


@pytest.fixture
async def ivr_gateway():
    """The gateway with the voice menu; the media engine the bridges create on first use
    (the embedded one, holding no room unless a test publishes: live callers hear silence)
    is closed afterwards."""
    media_engine.set_engine(None)
    ivr = Ivr()
    gateway = SipGateway(ivr, host="127.0.0.1", port=0, max_calls=80)
    await gateway.start()
    yield gateway
    await gateway.close()
    await ivr.close()
    engine = media_engine._engine
    if engine is not None:
        engine.set_listener(None)
        await engine.close()
        media_engine.set_engine(None)
    # The IVR's queries ran in asgiref's worker thread: its connection would keep the test
    # database open (PostgreSQL then cannot drop it at the end of the run).
    await sync_to_async(connections.close_all)()


@pytest.fixture
async def phones(ivr_gateway):
    """`await phones(number=…, codec=…)`: a softphone ready to call the gateway; each is
    hung up and closed at the end."""
    made: list[Phone] = []

    async def make(**kwargs) -> Phone:
        phone = Phone(("127.0.0.1", ivr_gateway.port), **kwargs)
        await phone.open()
        made.append(phone)
        return phone

    yield make
    for phone in made:
        await phone.hangup(timeout=1)
        phone.close()
