"""The client processes of bench/phone.py, each started inside the bench's network namespace
(`ip netns exec`): the publisher (a guest speaker sending a 440 Hz tone from aiortc, and the
REST API calls of the set-up) or a group of callers (tests/telephony/softphone.py's `Phone`).

It reads one JSON command a line on its standard input and writes one JSON reply a line on
its standard output (logs go to standard error), as bench/media_peer.py:

- `{"cmd": "api", "base", "token", "method", "path", "body"}` → `{"status", "data"}`;
- `{"cmd": "publish", "base", "session", "speaker_token"}`: joins the room as the speaker
  and publishes the tone through `POST /media/sessions/<id>/feeds` → `{"feed"}`;
- `{"cmd": "call", "gateway", "pin", "first", "count", "rate", "host"}`: `count` calls, each
  typing the PIN and # → `{"ok", "errors", "failed"}`;
- `{"cmd": "window_start"}` and `{"cmd": "window_end"}` → `{"at", "cpu"}`, then with
  `"phones"` (packets received and lost, longest gap, per caller, during the window),
  `"bins"` (the time between two packets, a histogram of `BINS` bins of `BIN` s) and
  `"heard"` (the dominant frequency of the last second of one caller);
- `{"cmd": "hangup"}` → `{"hung_up", "bye_from_server"}`;
- `{"cmd": "close"}`: hangs up, closes everything and exits.

At the end, bench/phone.py's side: `ClientProcess` starts this file in the namespace, and
`percentile` reads the histograms it returns."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import queue
import subprocess
import sys
import threading
import time
from array import array
from collections import deque
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # for tests.telephony

from media_peer import Peer, cpu_seconds, serve
from tests.telephony.softphone import Phone, dominant_frequency

from antenne.telephony import rtp
from media import ROOT, Netns, PeerProcess

BIN = 0.0005  # seconds per interarrival histogram bin
BINS = 1000  # up to 0.5 s; longer gaps land in the last bin (their max is kept apart)


class BenchPhone(Phone):
    """The softphone, recording nothing, counting received and lost packets as `Phone`
    does (by sequence number), and the time between two packets into a histogram shared
    by the process while a window is open."""

    def __init__(self, *args: Any, client: Client, keep: bool, **kwargs: Any) -> None:
        super().__init__(*args, record=False, **kwargs)
        self.client = client
        self.max_gap = 0.0
        self.tail: deque[bytes] | None = deque(maxlen=50) if keep else None

    def _rtp_received(self, data: bytes) -> None:
        if len(data) < 12:
            return
        now = time.monotonic()
        sequence = (data[2] << 8) | data[3]
        bins = self.client.bins
        if bins is not None and self.last_packet_at is not None:
            gap = now - self.last_packet_at
            bins[min(int(gap / BIN), BINS - 1)] += 1
            if gap > self.max_gap:
                self.max_gap = gap
        if self.first_packet_at is None:
            self.first_packet_at = now
        self.last_packet_at = now
        self.received += 1
        if self._last_seq is not None:
            gap_seq = (sequence - self._last_seq) & 0xFFFF
            if 0 < gap_seq < 0x8000:
                self.lost += gap_seq - 1
                self._last_seq = sequence
        else:
            self._last_seq = sequence
        if self.tail is not None:
            self.tail.append(data[12:])


class Client(Peer):
    """bench/media_peer.py's peer (the API calls, the speaker's publication, closing) with
    groups of callers."""

    def __init__(self) -> None:
        super().__init__()
        self.phones: list[BenchPhone] = []
        self.bins: Any = None
        self.marks: list[tuple[int, int]] = []

    async def publish(  # type: ignore[override]
        self, base: str, session: int, speaker_token: str
    ) -> dict:
        return await super().publish(base, session, speaker_token, video=False)

    async def call(
        self, gateway: list, pin: str, first: int, count: int, rate: float, host: str
    ) -> dict:
        """`count` calls, one every 1/`rate` s, each typing the PIN and #."""

        async def one(index: int, delay: float) -> str | None:
            await asyncio.sleep(delay)
            phone = BenchPhone(
                (gateway[0], gateway[1]),
                number=f"+3361{index:07d}",
                host=host,
                codec="PCMU" if index % 2 == 0 else "PCMA",
                client=self,
                keep=not self.phones,
            )
            self.phones.append(phone)
            try:
                await phone.open()
                status = await phone.call(timeout=15)
                if status != 200:
                    return f"INVITE answered {status}"
                await phone.dial(pin + "#")
            except Exception as error:
                return f"{type(error).__name__}: {error}"[:200]
            return None

        results = await asyncio.gather(*(one(first + n, n / rate) for n in range(count)))
        errors = [r for r in results if r]
        return {"ok": count - len(errors), "errors": errors[:5], "failed": len(errors)}

    async def window_start(self) -> dict:
        self.marks = [(p.received, p.lost) for p in self.phones]
        for phone in self.phones:
            phone.max_gap = 0.0
        self.bins = array("L", bytes(8 * BINS))
        return {"at": time.monotonic(), "cpu": cpu_seconds()}

    async def window_end(self) -> dict:
        at, cpu = time.monotonic(), cpu_seconds()
        bins, self.bins = self.bins, None
        phones = [
            [p.received - r, p.lost - lost, p.max_gap]
            for p, (r, lost) in zip(self.phones, self.marks, strict=True)
        ]
        heard = None
        keeper = next((p for p in self.phones if p.tail), None)
        if keeper is not None and keeper.tail is not None:
            pcm = b"".join(rtp.DECODERS[keeper.codec](payload) for payload in keeper.tail)
            heard = dominant_frequency(pcm)
        return {"at": at, "cpu": cpu, "phones": phones, "bins": list(bins), "heard": heard}

    async def hangup(self) -> dict:
        phones, self.phones = self.phones, []
        gate = asyncio.Semaphore(50)

        async def one(phone: BenchPhone) -> None:
            async with gate:
                with contextlib.suppress(Exception):
                    await phone.hangup(timeout=5)
            phone.close()

        await asyncio.gather(*(one(p) for p in phones))
        return {"hung_up": len(phones), "bye_from_server": sum(p.bye.is_set() for p in phones)}

    async def close(self) -> dict:
        await self.hangup()
        return await super().close()


# --- The bench's side (bench/phone.py) -----------------------------------------------------------


class ClientProcess(PeerProcess):
    """A bench/phone_peer.py process in the namespace (bench/media.py's JSON-lines plumbing)."""

    def __init__(self, ns: Netns, name: str, logs: Path) -> None:
        self.name = name
        self.log = logs / f"{name}.log"
        self.process = ns.popen(
            [sys.executable, str(Path(__file__).resolve())],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=self.log.open("w"),
            text=True,
            cwd=ROOT,
        )
        self.replies = queue.Queue()
        threading.Thread(target=self._read, daemon=True).start()


def percentile(bins: list[int], q: float) -> float:
    total = sum(bins)
    if not total:
        return float("nan")
    rank, seen = q * total, 0
    for index, count in enumerate(bins):
        seen += count
        if seen >= rank:
            return (index + 0.5) * BIN
    return BINS * BIN


def main() -> None:
    logging.basicConfig(level=logging.WARNING, stream=sys.stderr)
    asyncio.run(serve(Client))


if __name__ == "__main__":
    main()
