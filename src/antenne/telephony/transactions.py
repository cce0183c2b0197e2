"""SIP transactions over UDP (RFC 3261 §17): the timers, and what the gateway remembers to
answer retransmissions.

`ServerTransactions` keeps, per request received (branch and method), the last response sent:
a retransmitted request is answered with it, never handled twice. `Retransmissions` sends a
final response to INVITE again, T1 doubling to T2, until its ACK stops it or 64·T1 pass.
`intervals()` is that schedule, for the gateway's own requests too (BYE).
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Iterator

from .sip import Peer, SipMessage

T1 = 0.5
T2 = 4.0
TRANSACTION_LIFETIME = 64 * T1
MAX_TRANSACTIONS = 20_000  # remembered server transactions (retransmission answers)


def intervals() -> Iterator[float]:
    """The waits between a message's sendings: T1 doubling to T2, for 64·T1 in all."""
    interval, waited = T1, 0.0
    while waited < TRANSACTION_LIFETIME:
        yield interval
        waited += interval
        interval = min(interval * 2, T2)


class ServerTransactions:
    def __init__(self) -> None:
        # (branch, method) → (last response bytes or None while pending, expiry)
        self._transactions: dict[tuple[str, str], tuple[bytes | None, float]] = {}

    def retransmitted(self, request: SipMessage) -> bool:
        """Whether `request` repeats one already received (ACK never does); a new one is
        remembered, its response pending."""
        self._expire()
        if request.method == "ACK" or not request.branch:
            return False
        key = (request.branch, request.method or "")
        if key in self._transactions:
            return True
        self._transactions[key] = (None, time.monotonic() + TRANSACTION_LIFETIME)
        return False

    def last_response(self, request: SipMessage) -> bytes | None:
        """The response last sent to `request` (None while none was)."""
        last, _ = self._transactions[(request.branch, request.method or "")]
        return last

    def responded(self, request: SipMessage, data: bytes) -> None:
        """Remember `data` as the answer to `request`'s retransmissions."""
        key = (request.branch, request.method or "")
        if key in self._transactions:
            self._transactions[key] = (data, time.monotonic() + TRANSACTION_LIFETIME)

    def _expire(self) -> None:
        if len(self._transactions) <= 64:
            return
        now = time.monotonic()
        self._transactions = {k: v for k, v in self._transactions.items() if v[1] > now}
        if len(self._transactions) > MAX_TRANSACTIONS:  # a flood: forget the oldest half
            keep = list(self._transactions.items())[MAX_TRANSACTIONS // 2 :]
            self._transactions = dict(keep)


class Retransmissions:
    """Final responses to INVITE being sent again, each under a key: (Call-ID, CSeq) for a
    2xx, (branch, -1) for a non-2xx. `given_up(key)` is called when 64·T1 pass without the
    ACK that `stop(key)` stands for."""

    def __init__(
        self,
        send: Callable[[bytes, Peer], None],
        given_up: Callable[[tuple[str, int]], None],
    ) -> None:
        self._send = send
        self._given_up = given_up
        self._tasks: dict[tuple[str, int], asyncio.Task[None]] = {}

    def start(self, key: tuple[str, int], data: bytes, addr: Peer) -> None:
        self.stop(key)
        self._tasks[key] = asyncio.create_task(self._loop(key, data, addr))

    def stop(self, key: tuple[str, int]) -> None:
        task = self._tasks.pop(key, None)
        if task is not None:
            task.cancel()

    def cancel_all(self) -> None:
        for task in list(self._tasks.values()):
            task.cancel()

    async def _loop(self, key: tuple[str, int], data: bytes, addr: Peer) -> None:
        for interval in intervals():
            await asyncio.sleep(interval)
            self._send(data, addr)
        self._tasks.pop(key, None)
        self._given_up(key)
