"""The voice menu against sipp (Debian `sip-tester`) on loopback: the real gateway, the real
IVR and the database. sipp types PINs as RFC 4733 telephone-events by playing a pcap file
(`play_pcap_audio`, sent from a raw socket: sipp needs CAP_NET_RAW) to the RTP address of
the gateway's SDP answer."""

from __future__ import annotations

import asyncio
from datetime import timedelta
from pathlib import Path

import pytest
from asgiref.sync import sync_to_async
from django.utils import timezone

from antenne.events.models import Session
from antenne.rooms.models import PhoneCall, Presence
from antenne.telephony.gateway import SipGateway
from tests import peers
from tests.factories import SessionFactory
from tests.telephony.pcap import dtmf_pcap
from tests.telephony.sipp import run_sipp

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.e2e]

db = sync_to_async
Outcome = PhoneCall.Outcome


@pytest.fixture(autouse=True)
def _raw_sockets():
    """sipp plays pcap files from a raw socket: without CAP_NET_RAW it exits at the first
    key press ("Can't create raw socket")."""
    peers.sipp()
    peers.raw_sockets()


# --- Scenarios --------------------------------------------------------------------------

# The calling number is 0612345 followed by sipp's call number: each call its own number.
HEADERS = """Via: SIP/2.0/[transport] [local_ip]:[local_port];branch={branch}
      From: "Caller" <sip:0612345[call_number]@[local_ip]:[local_port]>;tag=[pid]T[call_number]
      To: <sip:antenne@[remote_ip]:[remote_port]>{to_tag}
      Call-ID: [call_id]
      Max-Forwards: 70"""

OFFER = """
      v=0
      o=user1 53655765 2353687637 IN IP[local_ip_type] [local_ip]
      s=-
      c=IN IP[media_ip_type] [media_ip]
      t=0 0
      m=audio [media_port] RTP/AVP 8 0 101
      a=rtpmap:8 PCMA/8000
      a=rtpmap:0 PCMU/8000
      a=rtpmap:101 telephone-event/8000
      a=fmtp:101 0-16"""


def _request(method: str, cseq: int, *, branch: str, to_tag: str = "", offer: bool = False):
    headers = HEADERS.format(branch=branch, to_tag=to_tag)
    extra = "Content-Type: application/sdp\n      " if offer else ""
    retrans = "" if method == "ACK" else ' retrans="500"'
    return f"""  <send{retrans}><![CDATA[
      {method} sip:antenne@[remote_ip]:[remote_port] SIP/2.0
      {headers}
      CSeq: {cseq} {method}
      Contact: <sip:0612345[call_number]@[local_ip]:[local_port]>
      {extra}Content-Length: [len]
{OFFER if offer else ""}
    ]]></send>
"""


ANSWERED = f"""{_request("INVITE", 1, branch="[branch]", offer=True)}
  <recv response="100" optional="true"/>
  <recv response="180" optional="true"/>
  <recv response="200" rrs="true">
    <action>
      <ereg regexp="m=audio [0-9]+ RTP/AVP 8 101" search_in="body" check_it="true"
            assign_to="answer"/>
    </action>
  </recv>
  <Reference variables="answer"/>
{_request("ACK", 1, branch="[branch]", to_tag="[peer_tag_param]")}"""


def _typing(pcap: Path, *, after_ms: int) -> str:
    return f"""  <pause milliseconds="{after_ms}"/>
  <nop><action><exec play_pcap_audio="{pcap}"/></action></nop>"""


def caller_hangs_up(pcap: Path, *, hold_ms: int) -> str:
    """Answered, types the pcap's keys after a second, holds, then hangs up."""
    return f"""<?xml version="1.0" encoding="ISO-8859-1" ?>
<scenario name="PIN then hang up">
{ANSWERED}
{_typing(pcap, after_ms=1000)}
  <pause milliseconds="{hold_ms}"/>
{_request("BYE", 2, branch="[branch]", to_tag="[peer_tag_param]")}
  <recv response="200" crlf="true"/>
</scenario>
"""


def gateway_hangs_up(pcap: Path, *, within_ms: int) -> str:
    """Answered, types the pcap's keys; the gateway must hang up within `within_ms`."""
    return f"""<?xml version="1.0" encoding="ISO-8859-1" ?>
<scenario name="PINs until the gateway hangs up">
{ANSWERED}
{_typing(pcap, after_ms=1000)}
  <recv request="BYE" timeout="{within_ms}"/>
  <send><![CDATA[
      SIP/2.0 200 OK
      [last_Via:]
      [last_From:]
      [last_To:]
      [last_Call-ID:]
      [last_CSeq:]
      Content-Length: 0

    ]]></send>
</scenario>
"""


CANCEL_WHILE_RINGING = f"""<?xml version="1.0" encoding="ISO-8859-1" ?>
<scenario name="cancel while ringing">
{_request("INVITE", 1, branch="z9hG4bK-inv-[call_number]", offer=True)}
  <recv response="100"/>
  <recv response="180"/>
{_request("CANCEL", 1, branch="z9hG4bK-inv-[call_number]")}
  <recv response="200"/>
  <recv response="487"/>
{_request("ACK", 1, branch="z9hG4bK-inv-[call_number]", to_tag="[peer_tag_param]")}
  <pause milliseconds="2500"/>
</scenario>
"""


async def settled(gateway: SipGateway, timeout: float = 10.0) -> list[PhoneCall]:
    """Every call over and recorded: the gateway holds none and no row is still active."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while True:
        calls = await db(lambda: list(PhoneCall.objects.order_by("pk")))()
        if not gateway.calls and all(call.outcome != Outcome.ACTIVE for call in calls):
            return calls
        if loop.time() > deadline:
            raise AssertionError(f"calls still running: {gateway.calls}, {calls}")
        await asyncio.sleep(0.1)


def _session(**kwargs) -> Session:
    return SessionFactory(starts_at=timezone.now() + timedelta(minutes=10), **kwargs)


def _in_room(session_id: int) -> int:
    return Presence.objects.filter(
        session_id=session_id, device=Presence.Device.PHONE, left_at__isnull=True
    ).count()


def _presences() -> list[Presence]:
    return list(Presence.objects.order_by("pk"))


# --- Tests ------------------------------------------------------------------------------


async def test_sipp_types_the_session_pin_joins_and_hangs_up(ivr_gateway, tmp_path):
    session = await db(_session)()
    pcap = dtmf_pcap(tmp_path / "pin.pcap", session.phone_pin + "#")
    status, log = await run_sipp(tmp_path, ivr_gateway, caller_hangs_up(pcap, hold_ms=4500))
    assert status == 0, log
    [call] = await settled(ivr_gateway)
    assert call.outcome == Outcome.COMPLETED
    assert call.session_id == session.pk
    assert call.wrong_pins == 0
    assert call.codec == "PCMA"
    assert call.caller_masked == "•• 51"  # 0612345 and call number 1
    assert call.packets_sent > 50  # the greeting, then the waiting message and music
    [presence] = await db(_presences)()
    assert presence.pk == call.presence_id
    assert (presence.device, presence.session_id) == (Presence.Device.PHONE, session.pk)
    assert presence.left_at is not None


async def test_sipp_five_wrong_pins_and_the_gateway_hangs_up(ivr_gateway, tmp_path):
    session = await db(_session)()
    wrong = [f"{(int(session.phone_pin) + n) % 10**9:09d}" for n in range(1, 6)]
    pcap = dtmf_pcap(tmp_path / "wrong.pcap", " ".join(pin + "#" for pin in wrong))
    status, log = await run_sipp(tmp_path, ivr_gateway, gateway_hangs_up(pcap, within_ms=30_000))
    assert status == 0, log
    [call] = await settled(ivr_gateway)
    assert call.wrong_pins == 5
    assert call.outcome == Outcome.WRONG_PIN
    assert (call.session_id, call.presence_id) == (None, None)
    assert await db(_presences)() == []


async def test_sipp_cancel_while_ringing_gets_487_and_joins_nobody(ivr_gateway, tmp_path):
    await db(_session)()
    ivr_gateway.ring_seconds = 2
    status, log = await run_sipp(tmp_path, ivr_gateway, CANCEL_WHILE_RINGING)
    assert status == 0, log
    assert ivr_gateway.stats["cancelled"] == 1
    assert await settled(ivr_gateway) == []  # never answered: no call row at all
    assert await db(_presences)() == []


async def test_sipp_fifty_concurrent_callers_join_a_live_session(ivr_gateway, tmp_path):
    session = await db(_session)(state=Session.State.LIVE)
    pcap = dtmf_pcap(tmp_path / "pin.pcap", session.phone_pin + "#")
    most, most_in_room = 0, 0

    async def watch() -> None:
        nonlocal most, most_in_room
        while True:
            most = max(most, len(ivr_gateway.calls))
            in_room = await db(_in_room)(session.pk)
            most_in_room = max(most_in_room, in_room)
            await asyncio.sleep(0.2)

    watcher = asyncio.create_task(watch())
    try:
        status, log = await run_sipp(
            tmp_path,
            ivr_gateway,
            caller_hangs_up(pcap, hold_ms=6500),
            calls=50,
            limit=50,
            rate=25,
            timeout=50,
        )
    finally:
        watcher.cancel()
    assert status == 0, log
    assert most >= 40  # they really overlapped
    assert most_in_room == 50  # all in the room at once, as phone attendees
    calls = await settled(ivr_gateway, timeout=20)
    assert len(calls) == 50
    assert {call.outcome for call in calls} == {Outcome.COMPLETED}
    assert {call.session_id for call in calls} == {session.pk}
    assert len({call.caller_hash for call in calls}) == 50
    presences = await db(_presences)()
    assert len(presences) == 50
    assert {p.pk for p in presences} == {call.presence_id for call in calls}
    assert all(p.device == Presence.Device.PHONE and p.left_at for p in presences)
    assert ivr_gateway.calls == {}
    assert ivr_gateway.handler.stats[Outcome.FAILED] == 0
