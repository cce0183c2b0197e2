"""Channel-layer group names of the live room, defined once."""

from __future__ import annotations


def room(session_id: int) -> str:
    """Everyone connected to a session's room (attendees, speakers, staff)."""
    return f"room.{session_id}"
