from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, ClassVar, Self

from ninja import Field, Schema
from pydantic import AfterValidator, ConfigDict, model_validator


class Strict(Schema):
    model_config = ConfigDict(extra="forbid")


class Error(Schema):
    code: str
    message: str


class TeamOut(Schema):
    id: int
    name: str
    contact_email: str


class UserOut(Schema):
    id: int
    email: str
    full_name: str
    role: str
    team: TeamOut | None
    language: str
    is_active: bool


class AccessRequestOut(Schema):
    id: int
    email: str
    full_name: str
    team_name: str
    team_contact_email: str
    reason: str
    status: str
    times_requested: int
    created_at: datetime
    updated_at: datetime
    decided_at: datetime | None
    decision_message: str


class DecisionIn(Strict):
    message: str = ""


class RoleIn(Strict):
    role: str


class AuditEntryOut(Schema):
    id: int
    created_at: datetime
    actor_label: str
    action: str
    object_type: str
    object_id: str
    object_repr: str
    data: dict


# --- Events, sessions, speakers ------------------------------------------------------------


def _plausible_year(value: datetime) -> datetime:
    if not 1970 <= value.year <= 2999:
        raise ValueError("Expected a date between the years 1970 and 2999.")
    return value


# ISO 8601; with an offset it is that instant, without it is wall-clock time in `time_zone`.
Instant = Annotated[datetime, AfterValidator(_plausible_year)]
TimeZoneName = Annotated[str, Field(max_length=64)]
Capacity = Annotated[int, Field(ge=1, le=2_147_483_647)]  # the database's positive range
Id = Annotated[int, Field(ge=1, le=2**63 - 1)]  # a database primary key


class PersonOut(Schema):
    id: int
    email: str
    full_name: str


class SpeakerOut(Schema):
    id: int
    session_id: int
    email: str
    name: str
    title: str
    user_id: int | None
    is_guest: bool
    state: str  # invited | accepted | revoked
    invited_at: datetime | None
    accepted_at: datetime | None
    revoked_at: datetime | None

    @staticmethod
    def resolve_state(obj: Any) -> str:
        if obj.revoked_at is not None:
            return "revoked"
        return "accepted" if obj.accepted_at is not None else "invited"


class SessionOut(Schema):
    id: int
    event_id: int
    event_title: str
    starts_at: datetime  # UTC
    ends_at: datetime
    time_zone: str
    local_start: datetime  # the same instant in `time_zone`
    duration_minutes: int
    capacity: int | None
    state: str  # scheduled | green_room | live | ended | cancelled
    started_at: datetime | None  # when the broadcast really started and ended
    ended_at: datetime | None
    animators: list[PersonOut]
    speakers: list[SpeakerOut]

    @staticmethod
    def resolve_event_title(obj: Any) -> str:
        return str(obj.event.title)


class EventOut(Schema):
    id: int
    title: str
    description: str
    language: str
    team: TeamOut
    owner: PersonOut
    published: bool
    show_speakers: bool
    created_at: datetime
    updated_at: datetime
    sessions: list[SessionOut]


class EventIn(Strict):
    title: str = Field(max_length=200)
    description: str = Field("", max_length=10000)
    language: str = Field("fr", max_length=8)
    team_id: Id
    show_speakers: bool = True
    published: bool = False


class Patch(Strict):
    """A partial update: any field may be left out; only those in `nullable` may be null."""

    nullable: ClassVar[frozenset[str]] = frozenset()

    @model_validator(mode="after")
    def _no_nulls(self) -> Self:
        nulls = sorted(
            name for name in self.model_fields_set - self.nullable if getattr(self, name) is None
        )
        if nulls:
            raise ValueError(f"These fields cannot be null: {', '.join(nulls)}.")
        return self


class EventPatch(Patch):
    title: str | None = Field(None, max_length=200)
    description: str | None = Field(None, max_length=10000)
    language: str | None = Field(None, max_length=8)
    team_id: Id | None = None
    show_speakers: bool | None = None
    published: bool | None = None
    owner_id: Id | None = None


class CancelIn(Strict):
    message: str = Field("", max_length=5000)


class SessionIn(Strict):
    starts_at: Instant
    time_zone: TimeZoneName = "Europe/Paris"
    duration_minutes: int = 60
    capacity: Capacity | None = None
    animator_ids: list[Id] | None = Field(None, max_length=50)  # default: the caller
    confirm_conflicts: bool = False


class SessionPatch(Patch):
    """A move (starts_at, time_zone, duration_minutes; a naive starts_at is read in the new
    zone, or the session's) and/or a team change (capacity, animator_ids)."""

    nullable = frozenset({"capacity"})  # null: no limit

    starts_at: Instant | None = None
    time_zone: TimeZoneName | None = None
    duration_minutes: int | None = None
    confirm_conflicts: bool = False
    capacity: Capacity | None = None
    animator_ids: list[Id] | None = Field(None, max_length=50)


class SpeakerIn(Strict):
    email: str = Field(max_length=254)
    name: str = Field("", max_length=150)
    title: str = Field("", max_length=200)


class ConflictOut(Schema):
    id: int
    event_id: int
    event_title: str
    starts_at: datetime
    ends_at: datetime
    animators: list[str]
    kind: str  # overlap | near
    gap_minutes: int


class ConflictsOut(Schema):
    conflicts: list[ConflictOut]
    parallel: int
    limit: int
    over_limit: bool


class ConflictQuery(Strict):
    starts_at: Instant
    duration_minutes: int = 60
    time_zone: TimeZoneName = "Europe/Paris"
    exclude_session: Id | None = None


class ConflictError(Error):
    conflicts: list[ConflictOut]


class SessionUnderWayOut(Schema):
    id: int
    state: str
    starts_at: datetime


class EventCancelError(Error):
    """409 `session.under_way`: the sessions in their green room or live, which stop the
    webinar's cancellation (nothing was cancelled)."""

    sessions: list[SessionUnderWayOut]
