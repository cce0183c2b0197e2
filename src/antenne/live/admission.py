"""The live room's door: connections that have not joined yet, and how often one may join.

A connection is anonymous until its `join` succeeds, and costs memory until then: one client
address (an IPv6 /64 counts as one) may hold at most ANTENNE_LIVE_MAX_UNJOINED of them in a
process (more are refused at the handshake), and each is closed (4408) if it has not joined within
ANTENNE_LIVE_JOIN_TIMEOUT seconds. Joins are counted per credential (a personal link, a
speaker link or a member: ANTENNE_RATE_LIMIT_LIVE_JOIN), and failed guesses of a link per
client address, in the bucket the join pages use (ANTENNE_RATE_LIMIT_SECRET). A refused join
answers `rate_limited` with `retry_after` (seconds). Client addresses are those of
`core.ratelimit` (ANTENNE_TRUSTED_PROXIES)."""

from __future__ import annotations

import ipaddress
from typing import Any

from django.conf import settings
from django.utils.translation import gettext as _

from antenne.core import ratelimit
from antenne.core.exceptions import AntenneError, RateLimited
from antenne.rooms import participants

CLOSE_JOIN_TIMEOUT = 4408
# Refusals that mean a link was guessed wrong (not a closed room, not a missing login).
GUESSES = frozenset({"join.invalid_link", "speaker.link_invalid"})


def _holder(address: str) -> str:
    """Who a share belongs to: the address, or its /64 for IPv6 (one machine is often given a
    whole /64, and could otherwise take a share per address)."""
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return address
    return str(ipaddress.ip_network(f"{ip}/64", strict=False)) if ip.version == 6 else address


class Waiting:
    """This process's connections that have not joined yet, counted per client address."""

    def __init__(self) -> None:
        self.counts: dict[str, int] = {}

    def admit(self, address: str) -> bool:
        """Count one more for `address`, or False when it holds its share already."""
        holder = _holder(address)
        held = self.counts.get(holder, 0)
        if held >= settings.LIVE_MAX_UNJOINED:
            return False
        self.counts[holder] = held + 1
        return True

    def leave(self, address: str) -> None:
        holder = _holder(address)
        held = self.counts.get(holder, 0) - 1
        if held > 0:
            self.counts[holder] = held
        else:
            self.counts.pop(holder, None)


WAITING = Waiting()


def _credential(join_key: str, speaker_token: str, user: Any) -> str:
    if join_key:
        return f"link:{join_key}"
    if speaker_token:
        return f"speaker:{speaker_token}"
    if user is not None and getattr(user, "is_authenticated", False):
        return f"member:{user.pk}"
    return ""


def _limited(rate: tuple[int, int]) -> RateLimited:
    return RateLimited(
        _("Too many attempts to join the room: try again in a moment."),
        retry_after=ratelimit.retry_after(rate),
    )


def identify(
    *, client: str, session_id: int, join_key: str, speaker_token: str, user: Any
) -> participants.Participant:
    """`rooms.participants.identify`, throttled (see the module)."""
    if ratelimit.exceeded(ratelimit.JOIN_GUESS, client, settings.RATE_LIMIT_SECRET):
        raise _limited(settings.RATE_LIMIT_SECRET)
    credential = _credential(join_key, speaker_token, user)
    if credential and not ratelimit.hit("live-join", credential, settings.RATE_LIMIT_LIVE_JOIN):
        raise _limited(settings.RATE_LIMIT_LIVE_JOIN)
    try:
        return participants.identify(
            session_id=session_id, join_key=join_key, speaker_token=speaker_token, user=user
        )
    except AntenneError as error:
        if error.code in GUESSES:
            ratelimit.hit(ratelimit.JOIN_GUESS, client, settings.RATE_LIMIT_SECRET)
        raise
