"""How Antenne names things inside Janus, so that any Antenne process (and the event
handler's posts) can tell whose a handle or a VideoRoom publisher is.

- a handle's `opaque_id` is `antenne:<room>:<participant>:<source|sub|control>`;
- a publisher's `display` is JSON: `{"p": participant, "s": source, "m": {mid: kind}}`,
  the mids of what it sends (so any process can mute one kind, or say whether a feed has
  audio and video, from `listparticipants` alone).
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from typing import Any

PREFIX = "antenne"
SUBSCRIBER = "sub"
CONTROL = f"{PREFIX}:control"
KINDS = ("audio", "video")


@dataclass(frozen=True)
class Owner:
    room_id: int
    participant: str
    role: str  # "camera", "screen", "sub"


def opaque_id(room_id: int, participant: str, role: str) -> str:
    return f"{PREFIX}:{room_id}:{participant}:{role}"


def parse_opaque_id(value: Any) -> Owner | None:
    if not isinstance(value, str) or not value.startswith(f"{PREFIX}:"):
        return None
    parts = value.split(":")
    if len(parts) < 4 or not parts[1].isdigit():
        return None
    participant = ":".join(parts[2:-1])
    if not participant:
        return None
    return Owner(int(parts[1]), participant, parts[-1])


@dataclass(frozen=True)
class Display:
    participant: str
    source: str = "camera"
    mids: dict[str, str] = field(default_factory=dict)  # mid -> "audio" | "video"

    def encode(self) -> str:
        data: dict[str, Any] = {"p": self.participant, "s": self.source}
        if self.mids:
            data["m"] = self.mids
        return json.dumps(data, separators=(",", ":"))

    def mid_of(self, kind: str) -> str | None:
        return next((mid for mid, k in self.mids.items() if k == kind), None)

    def has(self, kind: str) -> bool:
        return not self.mids or kind in self.mids.values()


def parse_display(value: Any) -> Display | None:
    if not isinstance(value, str):
        return None
    try:
        data = json.loads(value)
    except ValueError:
        return None
    if not isinstance(data, dict) or not isinstance(data.get("p"), str) or not data["p"]:
        return None
    source = "screen" if data.get("s") == "screen" else "camera"
    mids = data.get("m")
    if not isinstance(mids, dict):
        mids = {}
    return Display(data["p"], source, {str(m): k for m, k in mids.items() if k in KINDS})


_MID = re.compile(r"^a=mid:(\S+)", re.MULTILINE)


def sent_tracks(sdp: str) -> dict[str, str]:
    """mid -> kind of the audio and video sections an offer sends (not recvonly/inactive)."""
    tracks: dict[str, str] = {}
    sections = re.split(r"^(?=m=)", sdp.replace("\r\n", "\n"), flags=re.MULTILINE)
    for section in sections[1:]:
        kind = section[2:].split(" ", 1)[0]
        mid = _MID.search(section)
        if kind not in KINDS or mid is None:
            continue
        if re.search(r"^a=(recvonly|inactive)\s*$", section, re.MULTILINE):
            continue
        rejected = section.split(" ", 2)[1:2] == ["0"] and "a=bundle-only" not in section
        if rejected:
            continue
        tracks[mid[1]] = kind
    return tracks
