"""The session engine (`SESSION_ENGINE`): Django's database sessions, ignoring a session
cookie that cannot be one of their keys."""

from __future__ import annotations

from django.contrib.sessions.backends import db

MAX_KEY_LENGTH = 64


class SessionStore(db.SessionStore):
    """Django's keys are 32 lowercase letters and digits. Any other cookie value is no
    session: a NUL in it (a quoted cookie may carry one, `"\\000…"`) would otherwise reach
    the session lookup of every page and of the room's WebSocket, which PostgreSQL refuses."""

    def _validate_session_key(self, key: str | None) -> bool:
        # Django's own check is `len(key) >= 8`.
        return bool(key and 8 <= len(key) <= MAX_KEY_LENGTH and key.isascii() and key.isalnum())
