"""The reactions the live room accepts: a fixed set of emoji, offered by the room page and
checked by the `react` action. Reactions are not stored."""

from __future__ import annotations

from typing import Literal

EMOJIS = ("👏", "❤️", "😂", "😮", "👍", "🎉")
Emoji = Literal["👏", "❤️", "😂", "😮", "👍", "🎉"]
