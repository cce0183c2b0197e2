"""What happens to a registration, for the packages that follow `registrations` (mailing,
rooms; later webhooks). They subscribe in their app's `ready()`; see `antenne.core.hooks`."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from antenne.core.hooks import Hook


@dataclass(frozen=True)
class RegistrationChange:
    """Ids and address only: after an erasure the row is gone."""

    registration_id: int
    session_id: int
    email: str
    status: str
    actor: Any = None


REGISTRATION_CONFIRMED = Hook[RegistrationChange]("registration.confirmed")
REGISTRATION_REVOKED = Hook[RegistrationChange]("registration.revoked")
REGISTRATION_ERASED = Hook[RegistrationChange]("registration.erased")
