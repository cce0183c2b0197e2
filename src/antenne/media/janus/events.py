"""What Janus's sample event handler posts, turned into `EngineEvent`s.

Janus posts a JSON array of events (or one object when grouping is off), each like

    {"emitter": …, "type": 64, "timestamp": …, "session_id": …, "handle_id": …,
     "opaque_id": "antenne:12:p34:camera",
     "event": {"plugin": "janus.plugin.videoroom",
               "data": {"event": "published", "room": 12, "id": 5678, "display": …}}}

Antenne reads: VideoRoom plugin events (type 64) `joined`, `published`, `unpublished`,
`leaving`, `kicked` (a kicked publisher gets no `unpublished`); combined media stats (type
32, subtype 3, a list per mid). The room comes from the data (`room`) or the handle's opaque
id, the participant from the publisher's display or the opaque id. Janus sends
`unpublished`, `leaving` and `kicked` without any handle, so the participant of a feed is
remembered from its `joined`/`published` event (`FeedNames`). Everything else (sessions,
handles, ICE and DTLS states) is ignored; odd input is logged and skipped, never raised.
"""

from __future__ import annotations

import logging
from collections import OrderedDict
from typing import Any, Literal

from antenne.media.engine import EngineEvent, TrackStats
from antenne.media.janus.naming import SUBSCRIBER, parse_display, parse_opaque_id

logger = logging.getLogger(__name__)

PLUGIN = 64
MEDIA = 32
MEDIA_STATS = 3
VIDEOROOM = "janus.plugin.videoroom"


class FeedNames:
    """feed id -> (room id, participant), for events that name only the feed. Bounded."""

    def __init__(self, size: int = 10_000) -> None:
        self.size = size
        self._names: OrderedDict[str, tuple[int, str]] = OrderedDict()

    def remember(self, feed_id: str, room_id: int, participant: str) -> None:
        self._names[feed_id] = (room_id, participant)
        self._names.move_to_end(feed_id)
        while len(self._names) > self.size:
            self._names.popitem(last=False)

    def get(self, feed_id: str, room_id: int) -> str:
        known = self._names.get(feed_id)
        return known[1] if known and known[0] == room_id else ""

    def forget(self, feed_id: str) -> None:
        self._names.pop(feed_id, None)


def parse(payload: Any, names: FeedNames | None = None) -> list[EngineEvent]:
    """The events Antenne uses in one post (a list, or a single event object)."""
    names = names if names is not None else FeedNames()
    items = payload if isinstance(payload, list) else [payload]
    events: list[EngineEvent] = []
    seen: set[EngineEvent] = set()
    for item in items:
        try:
            for event in _parse_one(item, names):
                # Janus repeats itself (a detached publisher is "unpublished" twice).
                if event.kind != "media_stats" and event in seen:
                    continue
                seen.add(event)
                events.append(event)
        except Exception:
            logger.warning(
                "ignoring a Janus event Antenne cannot read: %.300r", item, exc_info=True
            )
    return events


def _parse_one(item: Any, names: FeedNames) -> list[EngineEvent]:
    if not isinstance(item, dict):
        logger.warning("ignoring a Janus event that is not an object: %.200r", item)
        return []
    kind = item.get("type")
    body = item.get("event")
    if kind == PLUGIN and isinstance(body, dict) and body.get("plugin") == VIDEOROOM:
        return _videoroom(item, body.get("data"), names)
    if kind == MEDIA and item.get("subtype") == MEDIA_STATS:
        return _stats(item, body)
    return []


def _videoroom(item: dict[str, Any], data: Any, names: FeedNames) -> list[EngineEvent]:
    if not isinstance(data, dict):
        return []
    what = data.get("event")
    owner = parse_opaque_id(item.get("opaque_id"))
    room = data.get("room")
    room_id = room if isinstance(room, int) and not isinstance(room, bool) else None
    if room_id is None and owner is not None:
        room_id = owner.room_id
    feed = data.get("id")
    if room_id is None or not isinstance(feed, int) or isinstance(feed, bool):
        return []
    feed_id = str(feed)
    display = parse_display(data.get("display"))
    participant = (
        display.participant if display else owner.participant if owner else ""
    ) or names.get(feed_id, room_id)
    if what == "joined" and participant:
        names.remember(feed_id, room_id, participant)
        return [EngineEvent("joined", room_id, participant, feed_id)]
    if what == "published" and participant:
        names.remember(feed_id, room_id, participant)
        return [EngineEvent("publishing", room_id, participant, feed_id)]
    if what == "unpublished":
        return [EngineEvent("unpublished", room_id, participant, feed_id)]
    if what in ("leaving", "kicked"):
        names.forget(feed_id)
        left = [EngineEvent("left", room_id, participant, feed_id)] if participant else []
        if what == "kicked":  # Janus says "unpublished" before "leaving", not before "kicked"
            return [EngineEvent("unpublished", room_id, participant, feed_id), *left]
        return left
    return []


def _stats(item: dict[str, Any], body: Any) -> list[EngineEvent]:
    owner = parse_opaque_id(item.get("opaque_id"))
    if owner is None:
        return []
    reports = body if isinstance(body, list) else [body]
    direction: Literal["in", "out"] = "out" if owner.role == SUBSCRIBER else "in"
    merged: dict[str, dict[str, float]] = {}
    for report in reports:
        if not isinstance(report, dict) or report.get("media") not in ("audio", "video"):
            continue
        kind = report["media"]
        if direction == "in":
            values = {
                "bitrate": _number(report.get("bytes-received-lastsec")) * 8,
                "lost": _number(report.get("lost")),
                "jitter": _number(report.get("jitter-local")),
            }
        else:
            values = {
                "bitrate": _number(report.get("bytes-sent-lastsec")) * 8,
                "lost": _number(report.get("lost-by-remote")),
                "jitter": _number(report.get("jitter-remote")),
            }
        values["rtt"] = _number(report.get("rtt"))
        # A subscription carries several feeds: one line per kind, summed (worst jitter/RTT).
        into = merged.setdefault(kind, {"bitrate": 0.0, "lost": 0.0, "jitter": 0.0, "rtt": 0.0})
        into["bitrate"] += values["bitrate"]
        into["lost"] += values["lost"]
        into["jitter"] = max(into["jitter"], values["jitter"])
        into["rtt"] = max(into["rtt"], values["rtt"])
    stats = tuple(
        TrackStats(
            participant=owner.participant,
            direction=direction,
            kind=kind,  # type: ignore[arg-type]
            bitrate=int(values["bitrate"]),
            packets_lost=int(values["lost"]),
            rtt_ms=values["rtt"] or None,
            jitter_ms=values["jitter"],
        )
        for kind, values in sorted(merged.items())
    )
    if not stats:
        return []
    return [EngineEvent("media_stats", owner.room_id, owner.participant, stats=stats)]


def _number(value: Any) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return 0.0
    return max(0.0, float(value))
