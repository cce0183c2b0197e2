"""The voice menu: what happens on a call once it is answered.

Greeting (French, then English), PIN by DTMF followed by # (typing interrupts the prompt),
at most `MAX_TRIES` tries, a calling number over its wrong-PIN limit refused at once (a
caller with no number is never refused for others' wrong PINs: see `services`); then
hold music until the session starts, the live audio, `*1` to raise or lower a hand, the
floor when the animator gives it, and a goodbye when the session ends. Every step writes
through `antenne.telephony.services`; every call ends with its outcome and packet counts.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections import Counter
from typing import Any

from antenne.core.exceptions import Conflict, NotFound, PermissionDenied
from antenne.rooms.models import PhoneCall
from antenne.rooms.phone import floor_lost, phone_hand

from . import prompts, services
from .audio import AudioClock, Player
from .bridge import Bridges, SessionBridge
from .call import Call
from .sip import uri_user

logger = logging.getLogger("antenne.telephony")

MAX_TRIES = 5
FIRST_DIGIT_WAIT = 10.0  # seconds after the prompt ends
NEXT_DIGIT_WAIT = 5.0
MAX_DIGITS = 12
STAR_WAIT = 3.0  # after *, the command digit must follow within this
WAITING_REPEAT = 60.0  # the waiting message again, between hold music

Outcome = PhoneCall.Outcome
db = services.db


class _Hangup(Exception):
    """The caller hung up."""


class Ivr:
    """The gateway's `CallHandler`."""

    def __init__(self, clock: AudioClock | None = None, bridges: Bridges | None = None) -> None:
        self.clock = clock or AudioClock()
        self.bridges = bridges or Bridges()
        self.stats: Counter[str] = Counter()
        self._finishing: set[asyncio.Future[None]] = set()

    async def close(self) -> None:
        """After the gateway's: waits for the calls it hung up to be recorded."""
        if self._finishing:
            await asyncio.gather(*self._finishing, return_exceptions=True)
        await self.bridges.close()
        await self.clock.close()

    async def on_call(self, call: Call) -> None:
        try:
            record = await db(services.start_call)(
                call_id=call.call_id,
                caller=call.caller,
                codec=call.offer.codec,
                asserted=asserted_number(call),
            )
        except Exception:
            logger.exception("call %s: not recorded; refusing it", call.call_id)
            self.stats[Outcome.FAILED] += 1
            await self._say_and_wait(call, Player(), prompts.load("unavailable", "fr"))
            return
        run = _CallRun(self, call, record)
        outcome: str = Outcome.FAILED
        try:
            outcome = await run.run()
        except _Hangup:
            outcome = Outcome.COMPLETED if run.joined else Outcome.CALLER_HUNG_UP
        except asyncio.CancelledError:
            outcome = Outcome.COMPLETED if run.joined else Outcome.CALLER_HUNG_UP
            raise
        except Exception:
            logger.exception("call %s failed", call.call_id)
        finally:
            self.stats[outcome] += 1
            # Recorded even when the call's task is cancelled (gateway closing): `close`
            # waits for these.
            finishing = asyncio.ensure_future(run.finish(outcome))
            self._finishing.add(finishing)
            finishing.add_done_callback(self._finishing.discard)
            await asyncio.shield(finishing)

    async def _say_and_wait(self, call: Call, player: Player, *clips: bytes) -> None:
        self.clock.attach(call, player)
        try:
            player.say(*clips)
            await _until(player.finished(), call)
        except _Hangup:
            pass
        finally:
            self.clock.detach(call)


def asserted_number(call: Call) -> str:
    """The caller's number as the trunk asserts it (RFC 3325 `P-Asserted-Identity`), which
    trunks send with a withheld number; calls come only from allowed sources."""
    return uri_user(call.invite.get("P-Asserted-Identity") or "")


async def _until(awaitable: Any, call: Call, timeout: float | None = None) -> Any:
    """`awaitable`'s result, or `_Hangup` when the call ends first (TimeoutError after
    `timeout`)."""
    task = asyncio.ensure_future(awaitable)
    ended = asyncio.ensure_future(call.ended.wait())
    try:
        done, _pending = await asyncio.wait(
            {task, ended}, timeout=timeout, return_when=asyncio.FIRST_COMPLETED
        )
    finally:
        ended.cancel()
    if task in done:
        return task.result()
    task.cancel()
    if ended in done or call.ended.is_set():
        raise _Hangup
    raise TimeoutError


class _CallRun:
    def __init__(self, ivr: Ivr, call: Call, record: PhoneCall) -> None:
        self.ivr = ivr
        self.call = call
        self.record = record
        self.player = Player()
        self.lang = "fr"
        self.joined: services.Joined | None = None
        self.bridge: SessionBridge | None = None
        self.events: asyncio.Queue[tuple[str, Any]] = asyncio.Queue()
        self.hand = False
        self.floor = False
        ivr.clock.attach(call, self.player)

    def prompt(self, name: str, lang: str | None = None) -> bytes:
        return prompts.load(name, lang or self.lang)

    async def say(self, *names: str) -> None:
        self.player.say(*(self.prompt(name) for name in names))
        await _until(self.player.finished(), self.call)

    # -- PIN ----------------------------------------------------------------------------------

    async def run(self) -> str:
        caller_key = self.record.caller_hash
        hidden = not services.throttle_identity(self.call.caller, asserted_number(self.call))
        if not hidden and await db(services.throttled)(caller_key):
            await self.say("throttled")
            return Outcome.THROTTLED
        self.player.say(
            self.prompt("welcome", "fr"),
            self.prompt("enter_pin", "fr"),
            self.prompt("welcome", "en"),
            self.prompt("enter_pin", "en"),
        )
        typed_any = False
        for _try in range(MAX_TRIES):
            digits = await self.read_pin()
            if not digits:
                continue
            typed_any = True
            result = await db(services.check_pin)(
                call_pk=self.record.pk, caller_key=caller_key, digits=digits, hidden=hidden
            )
            if result.throttled:
                await self.say("pin_throttled" if hidden else "throttled")
                return Outcome.THROTTLED
            if result.match is not None:
                joined = await db(services.join)(call_pk=self.record.pk, match=result.match)
                if joined is None:
                    await self.say("ended")
                    return Outcome.SESSION_OVER
                self.joined = joined
                self.lang = joined.language
                return await self.attend()
            self.player.say(self.prompt("wrong_pin"), self.prompt("enter_pin"))
        await self.say("too_many" if typed_any else "no_pin")
        return Outcome.WRONG_PIN if typed_any else Outcome.NO_PIN

    async def read_pin(self) -> str:
        """Digits up to #, the first one interrupting the prompt; '' when none came."""
        digits = self.call.digits
        first_wait = asyncio.ensure_future(self._first_digit())
        try:
            digit = await _until(first_wait, self.call)
        finally:
            first_wait.cancel()
        if digit is None:
            return ""
        self.player.stop()
        typed = ""
        while digit != "#":
            if digit.isdigit():
                typed += digit  # an over-long entry is read to its end: one try, not two
            try:
                digit = await _until(digits.get(), self.call, timeout=NEXT_DIGIT_WAIT)
            except TimeoutError:
                break
        return typed[: MAX_DIGITS + 1]

    async def _first_digit(self) -> str | None:
        """The first key pressed during the prompt or within `FIRST_DIGIT_WAIT` after it."""
        digits = self.call.digits
        while self.player.speaking:
            with contextlib.suppress(TimeoutError):
                return await asyncio.wait_for(digits.get(), 0.2)
        try:
            return await asyncio.wait_for(digits.get(), FIRST_DIGIT_WAIT)
        except TimeoutError:
            return None

    # -- In the session -----------------------------------------------------------------------

    def _notify(self, event: str, data: Any) -> None:
        self.events.put_nowait((event, data))

    async def _pump_digits(self) -> None:
        while True:
            digit = await self.call.digits.get()
            self.events.put_nowait(("digit", digit))

    async def attend(self) -> str:
        assert self.joined is not None  # noqa: S101
        joined = self.joined
        self.bridge = await self.ivr.bridges.join(
            joined.session_id, joined.presence_id, self._notify
        )
        pump = asyncio.create_task(self._pump_digits())
        try:
            return await self._attend(self.bridge, joined.state)
        finally:
            pump.cancel()

    async def _attend(self, bridge: SessionBridge, state: str | None) -> str:
        clock, call = self.ivr.clock, self.call
        self._enter(state, bridge, first=True)
        star_at: float | None = None
        loop = asyncio.get_running_loop()
        while True:
            try:
                event, data = await _until(self.events.get(), call, timeout=WAITING_REPEAT)
            except TimeoutError:
                if bridge.state != "live":
                    self.player.say(self.prompt("waiting"))
                continue
            if event == "state":
                if data not in ("scheduled", "green_room", "live"):
                    clock.listen(call, None)
                    self.player.stop()
                    await self.say("ended")
                    return Outcome.COMPLETED
                self._enter(data, bridge, first=False)
            elif event == "digit":
                if data == "*":
                    star_at = loop.time()
                elif data == "1" and star_at is not None and loop.time() - star_at < STAR_WAIT:
                    star_at = None
                    await self._toggle_hand()
                else:
                    star_at = None
            elif event == "floor":
                await self._set_floor(bridge, bool(data))
            elif event == "revoked":  # their registration was revoked or erased: hang up
                clock.listen(call, None)
                self.player.stop()
                return Outcome.COMPLETED

    def _enter(self, state: str | None, bridge: SessionBridge, *, first: bool) -> None:
        clock, call = self.ivr.clock, self.call
        if state == "live":
            self.player.stop()
            self.player.say(self.prompt("live"))
            clock.listen(call, bridge.mix)
        else:
            clock.listen(call, None)
            if first:
                self.player.say(self.prompt("waiting"))
            self.player.loop(prompts.waiting_music())

    async def _toggle_hand(self) -> None:

        assert self.joined is not None  # noqa: S101
        try:
            self.hand = await db(phone_hand)(
                presence_id=self.joined.presence_id, raised=not self.hand
            )
        except (PermissionDenied, Conflict, NotFound) as exc:  # muted by staff, session over
            logger.info("call %s: hand not changed: %s", self.call.call_id, exc.code)
            return
        self.player.say(self.prompt("hand_raised" if self.hand else "hand_lowered"))

    async def _set_floor(self, bridge: SessionBridge, floor: bool) -> None:
        assert self.joined is not None  # noqa: S101
        presence_id = self.joined.presence_id
        if floor == self.floor:
            return
        if floor:
            feed = await bridge.give_floor(presence_id)
            if feed is None:
                with contextlib.suppress(Exception):
                    await db(floor_lost)(presence_id=presence_id)
                return
            self.floor = True
            self.hand = False
            self.call.on_audio = feed.heard
            self.ivr.clock.listen(self.call, bridge.mix, exclude=feed.key)
            self.player.say(self.prompt("floor_given"))
        else:
            self.floor = False
            self.call.on_audio = None
            await bridge.take_floor(presence_id)
            self.ivr.clock.listen(self.call, bridge.mix)
            self.player.say(self.prompt("floor_taken"))

    async def finish(self, outcome: str) -> None:
        call = self.call
        call.on_audio = None
        self.ivr.clock.detach(call)
        if self.hand and self.joined is not None:  # the console sees the hand go down
            with contextlib.suppress(Exception):
                await db(phone_hand)(presence_id=self.joined.presence_id, raised=False)
        if self.bridge is not None and self.joined is not None:
            with contextlib.suppress(Exception):
                await self.bridge.remove(self.joined.presence_id)
        try:
            await db(services.end_call)(
                call_pk=self.record.pk,
                outcome=outcome,
                packets_received=call.packets_received,
                packets_lost=call.packets_lost,
                packets_sent=call.packets_sent,
            )
        except Exception:
            logger.exception("call %s: its end was not recorded", call.call_id)
