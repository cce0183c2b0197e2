"""What callers hear, paced by one 20 ms clock for every call of the gateway.

Each call has a `Player` (prompts, hold music) and, once in a live session, that session's
`SessionMix`. At every tick the clock sends each call one packet: the player's next frame
while it has one, else the session's mix. The mix is taken, summed and G.711-encoded once
per tick and codec, whatever the number of callers: one more listening caller costs an RTP
header and a `sendto`, not a decode, a mix or an encode.
"""

from __future__ import annotations

import asyncio
import functools
import logging
from array import array
from collections import Counter, deque
from collections.abc import Iterable
from typing import TYPE_CHECKING

from . import rtp

if TYPE_CHECKING:
    from .call import Call

logger = logging.getLogger("antenne.telephony")

RATE = 8000
FRAME_SAMPLES = 160  # 20 ms at 8 kHz
FRAME_BYTES = 2 * FRAME_SAMPLES  # 16-bit PCM
TICK = FRAME_SAMPLES / RATE
SILENT_FRAME = bytes(FRAME_BYTES)
# A source starts playing once this much is buffered (absorbs the network's jitter) and
# never buffers more than `MAX_BUFFERED` (latency beyond that is dropped, oldest first).
PRIME_FRAMES = 3
MAX_BUFFERED = 10


def split_frames(pcm: bytes) -> list[bytes]:
    """`pcm` in 20 ms frames, the last one padded with silence."""
    frames = [pcm[i : i + FRAME_BYTES] for i in range(0, len(pcm), FRAME_BYTES)]
    if frames and len(frames[-1]) < FRAME_BYTES:
        frames[-1] = frames[-1] + bytes(FRAME_BYTES - len(frames[-1]))
    return frames


def mix(frames: Iterable[bytes]) -> bytes:
    """The sum of 16-bit frames, clipped."""
    arrays = [array("h", frame) for frame in frames]
    if not arrays:
        return SILENT_FRAME
    if len(arrays) == 1:
        return arrays[0].tobytes()
    summed = array(
        "h", (max(-32768, min(32767, sum(values))) for values in zip(*arrays, strict=True))
    )
    return summed.tobytes()


@functools.lru_cache(maxsize=4096)
def encoded_prompt(codec: str, frame: bytes) -> bytes:
    """A prompt's or the hold music's frame in `codec`: every waiting caller plays the same
    few hundred frames, encoded once rather than once per caller and tick."""
    return rtp.ENCODERS[codec](frame)


class Player:
    """One caller's own audio: clips played in order, then a loop (hold music), if any."""

    def __init__(self) -> None:
        self._frames: deque[bytes] = deque()
        self._loop: list[bytes] = []
        self._loop_at = 0
        self._idle = asyncio.Event()
        self._idle.set()

    def say(self, *clips: bytes) -> None:
        for clip in clips:
            self._frames.extend(split_frames(clip))
        if self._frames:
            self._idle.clear()

    def loop(self, pcm: bytes | None) -> None:
        """Play `pcm` over and over once the clips are done (None: stop looping)."""
        self._loop = split_frames(pcm) if pcm else []
        self._loop_at = 0

    def stop(self) -> None:
        """Silence at once (the caller started typing, or the session started)."""
        self._frames.clear()
        self._loop = []
        self._idle.set()

    @property
    def speaking(self) -> bool:
        return bool(self._frames)

    def next_frame(self) -> bytes | None:
        if self._frames:
            frame = self._frames.popleft()
            if not self._frames:
                self._idle.set()
            return frame
        if self._loop:
            frame = self._loop[self._loop_at]
            self._loop_at = (self._loop_at + 1) % len(self._loop)
            return frame
        return None

    async def finished(self) -> None:
        """Until the queued clips have been played (the loop does not count)."""
        await self._idle.wait()


class _Source:
    __slots__ = ("frames", "primed")

    def __init__(self) -> None:
        self.frames: deque[bytes] = deque()
        self.primed = False


class SessionMix:
    """A session's audio for its callers: every source (a stage track, a caller with the
    floor) pushes 8 kHz PCM as it arrives; the clock takes one frame per source per tick."""

    def __init__(self) -> None:
        self._sources: dict[str, _Source] = {}
        self._pending: dict[str, bytearray] = {}
        self._tick = -1
        self._current: dict[str, bytes] = {}
        self._mixed: bytes = SILENT_FRAME
        self._encoded: dict[str, bytes] = {}
        self.stats: Counter[str] = Counter()

    def push(self, key: str, pcm: bytes) -> None:
        pending = self._pending.setdefault(key, bytearray())
        pending += pcm
        source = self._sources.get(key)
        if source is None:
            source = self._sources[key] = _Source()
        while len(pending) >= FRAME_BYTES:
            source.frames.append(bytes(pending[:FRAME_BYTES]))
            del pending[:FRAME_BYTES]
        while len(source.frames) > MAX_BUFFERED:
            source.frames.popleft()
            self.stats["dropped"] += 1

    def remove(self, key: str) -> None:
        self._sources.pop(key, None)
        self._pending.pop(key, None)

    def advance(self, tick: int) -> None:
        """Take this tick's frame of every source (once per tick, whoever asks first)."""
        if tick == self._tick:
            return
        self._tick = tick
        current: dict[str, bytes] = {}
        for key, source in self._sources.items():
            if not source.primed and len(source.frames) >= PRIME_FRAMES:
                source.primed = True
            if source.primed:
                if source.frames:
                    current[key] = source.frames.popleft()
                else:  # ran dry: wait for a few frames again rather than stutter
                    source.primed = False
                    self.stats["underruns"] += 1
        self._current = current
        self._mixed = mix(current.values())
        self._encoded = {}

    def frame(self) -> bytes:
        return self._mixed

    def encoded(self, codec: str) -> bytes:
        payload = self._encoded.get(codec)
        if payload is None:
            payload = self._encoded[codec] = rtp.ENCODERS[codec](self._mixed)
        return payload

    def frame_without(self, key: str) -> bytes:
        """The mix minus one source (what a caller with the floor hears: not themselves)."""
        if key not in self._current:
            return self._mixed
        return mix(frame for other, frame in self._current.items() if other != key)


class _Output:
    __slots__ = ("exclude", "mix", "player")

    def __init__(self, player: Player) -> None:
        self.player = player
        self.mix: SessionMix | None = None
        self.exclude: str | None = None


class AudioClock:
    """Sends every call one packet each 20 ms (scheduled on absolute times, so the rate
    does not drift with the loop's latency)."""

    def __init__(self) -> None:
        self._outputs: dict[Call, _Output] = {}
        self._task: asyncio.Task[None] | None = None
        self._silence: dict[str, bytes] = {}
        self.tick = 0
        self.stats: Counter[str] = Counter()

    def attach(self, call: Call, player: Player) -> None:
        self._outputs[call] = _Output(player)
        if self._task is None or self._task.done():
            self._task = asyncio.get_running_loop().create_task(self._run())

    def detach(self, call: Call) -> None:
        self._outputs.pop(call, None)

    def listen(
        self, call: Call, session_mix: SessionMix | None, *, exclude: str | None = None
    ) -> None:
        """Let `call` hear `session_mix` whenever its player is silent (None: stop)."""
        output = self._outputs.get(call)
        if output is not None:
            output.mix = session_mix
            output.exclude = exclude

    @property
    def calls(self) -> int:
        return len(self._outputs)

    async def close(self) -> None:
        if self._task is not None:
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)
        self._outputs.clear()

    async def _run(self) -> None:
        loop = asyncio.get_running_loop()
        due = loop.time()
        while True:
            due += TICK
            self.tick += 1
            try:
                self._send(self.tick)
            except Exception:  # one bad call must not silence the others
                logger.exception("audio clock tick failed")
            delay = due - loop.time()
            if delay < -10 * TICK:
                # The process stalled: do not burst what is overdue, skip it, and let the
                # callers' phones see the gap (their loss counts and jitter buffers do).
                skipped = int(-delay / TICK)
                self.stats["late"] += 1
                self.stats["skipped_ticks"] += skipped
                self.tick += skipped
                for call in self._outputs:
                    call.skip_packets(skipped)
                due = loop.time()
                delay = 0.0
            await asyncio.sleep(max(delay, 0.0))

    def _send(self, tick: int) -> None:
        for call, output in list(self._outputs.items()):
            frame = output.player.next_frame()
            codec = call.offer.codec
            if frame is not None:
                call.send_encoded(encoded_prompt(codec, frame))
                continue
            session_mix = output.mix
            if session_mix is None:
                call.send_encoded(self._silent(codec))
                continue
            session_mix.advance(tick)
            if output.exclude is not None:
                call.send_audio(session_mix.frame_without(output.exclude))
            else:
                call.send_encoded(session_mix.encoded(codec))

    def _silent(self, codec: str) -> bytes:
        payload = self._silence.get(codec)
        if payload is None:
            payload = self._silence[codec] = rtp.ENCODERS[codec](SILENT_FRAME)
        return payload
