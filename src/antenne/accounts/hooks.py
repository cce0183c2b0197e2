"""What happens to a member, for the packages that follow `accounts` (events, rooms; later
webhooks). They subscribe in their app's `ready()`; see `antenne.core.hooks`."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from antenne.core.hooks import Hook


@dataclass(frozen=True)
class MemberChange:
    """A member whose rights may have shrunk. Fired inside the change's transaction, after
    the change."""

    user_id: int
    actor: Any = None


MEMBER_DEACTIVATED = Hook[MemberChange]("member.deactivated")
MEMBER_ROLE_CHANGED = Hook[MemberChange]("member.role_changed")
