"""Channel-layer group names of the live room, defined once."""

from __future__ import annotations


def room(session_id: int) -> str:
    """Everyone connected to a session's room (attendees, speakers, staff)."""
    return f"room.{session_id}"


def telephony(session_id: int) -> str:
    """The telephone gateway's processes serving a session's callers: they publish a caller's
    voice while the caller has the floor (`phone.floor` messages)."""
    return f"telephony.{session_id}"
