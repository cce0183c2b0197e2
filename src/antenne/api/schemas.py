from __future__ import annotations

import re
import zoneinfo
from datetime import datetime
from typing import Annotated, Any, ClassVar, Literal, Self

from ninja import Field, Schema
from pydantic import AfterValidator, BeforeValidator, ConfigDict, WithJsonSchema, model_validator
from pydantic.json_schema import SkipJsonSchema

# An address Django's validator accepts: dot-atom local part, ASCII domain with a TLD;
# blanks around it are trimmed.
EMAIL = (
    r"^[ \t\r\n]*[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+(\.[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+)*"
    r"@([A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?\.)+[A-Za-z]{2,63}[ \t\r\n]*$"
)
MAX_ID = 2**63 - 1  # the database's bigint primary keys
MAX_OFFSET = 2**31 - 1


class Strict(Schema):
    model_config = ConfigDict(extra="forbid")


class FieldError(Schema):
    loc: list[str]
    msg: str


class Error(Schema):
    """Every error answer: a stable dotted `code` and a message; some codes add fields."""

    code: str
    message: str
    errors: list[FieldError] | SkipJsonSchema[None] = Field(
        None, description="What is wrong with the request (422 `request.invalid`)."
    )


# The answers every operation may give: 401 no valid token, 403 not allowed, 404 not found
# (or not visible), 422 invalid parameters or a domain rule, 429 too many invalid tokens.
ERRORS: dict[int, Any] = dict.fromkeys((401, 403, 404, 422, 429), Error)
# Operations with a JSON body add 400 (not JSON) and 413 (body too large).
BODY_ERRORS: dict[int, Any] = {**ERRORS, 400: Error, 413: Error}
# Writes add 409 (the resource's state forbids it).
WRITE_ERRORS: dict[int, Any] = {**ERRORS, 409: Error}
BODY_WRITE_ERRORS: dict[int, Any] = {**BODY_ERRORS, 409: Error}


def _drop_nul(value: str) -> str:
    """PostgreSQL cannot store NUL in text: it is dropped, as in registrations."""
    return value.replace("\x00", "")


Id = Annotated[int, Field(ge=1, le=MAX_ID)]  # a database primary key
Ids = Annotated[list[Id], Field(max_length=50)]
Offset = Annotated[int, Field(ge=0, le=MAX_OFFSET)]
Search = Annotated[str, AfterValidator(_drop_nul)]
# Lengths count what was sent; NUL is then dropped. A title blank once trimmed is refused
# by the domain (422 `event.title_required`).
Title = Annotated[str, Field(min_length=1, max_length=200), AfterValidator(_drop_nul)]
Description = Annotated[str, Field(max_length=10000), AfterValidator(_drop_nul)]
Message = Annotated[str, Field(max_length=5000), AfterValidator(_drop_nul)]
SpeakerName = Annotated[str, Field(max_length=150), AfterValidator(_drop_nul)]
SpeakerTitle = Annotated[str, Field(max_length=200), AfterValidator(_drop_nul)]
Email = Annotated[str, Field(max_length=254, pattern=EMAIL)]
Role = Literal["admin", "animator", "member"]
Language = Literal["fr", "en"]


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
    message: Message = ""


class RoleIn(Strict):
    role: Role


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


_ISO_DATE_TIME = re.compile(r"\d{4}-\d{2}-\d{2}[Tt ]\d{2}:\d{2}")


def _iso_date_time(value: Any) -> Any:
    """Only an ISO 8601 date and time: not a number, not a date alone (pydantic would read
    `0.5` or `"0.5"` as seconds since 1970)."""
    if isinstance(value, datetime):
        return value
    if not isinstance(value, str) or not _ISO_DATE_TIME.match(value):
        raise ValueError("Expected an ISO 8601 date and time, such as 2030-01-31T14:00:00+01:00.")
    return value


TIME_ZONES = sorted(zoneinfo.available_timezones())
_TIME_ZONE_SET = frozenset(TIME_ZONES)


def _known_time_zone(value: str) -> str:
    if value not in _TIME_ZONE_SET:
        raise ValueError("Unknown time zone; expected an IANA name such as Europe/Paris.")
    return value


# ISO 8601; with an offset it is that instant, without it is wall-clock time in `time_zone`.
# Years outside 1970-2999 are refused by the domain (422 `session.date_out_of_range`).
Instant = Annotated[datetime, BeforeValidator(_iso_date_time)]
TimeZoneName = Annotated[
    str,
    AfterValidator(_known_time_zone),
    WithJsonSchema({"type": "string", "enum": TIME_ZONES}),
]
Capacity = Annotated[int, Field(ge=1, le=2_147_483_647)]  # the database's positive range
Duration = Annotated[int, Field(ge=1, le=1440)]  # minutes: up to 24 hours


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
    title: Title
    description: Description = ""
    language: Language = "fr"
    team_id: Id
    show_speakers: bool = True
    published: bool = False


def _patch_json_schema(schema: dict[str, Any], model: Any) -> None:
    """A field that may be left out but not set to null shows no null default."""
    nullable: frozenset[str] = getattr(model, "nullable", frozenset())
    for name, prop in schema.get("properties", {}).items():
        if name not in nullable and "default" in prop and prop["default"] is None:
            del prop["default"]


class Patch(Strict):
    """A partial update: any field may be left out; only those in `nullable` may be null
    (the others are typed `X | SkipJsonSchema[None]`: left out, never null)."""

    model_config = ConfigDict(extra="forbid", json_schema_extra=_patch_json_schema)
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
    title: Title | SkipJsonSchema[None] = None
    description: Description | SkipJsonSchema[None] = None
    language: Language | SkipJsonSchema[None] = None
    team_id: Id | SkipJsonSchema[None] = None
    show_speakers: bool | SkipJsonSchema[None] = None
    published: bool | SkipJsonSchema[None] = None
    owner_id: Id | SkipJsonSchema[None] = None


class CancelIn(Strict):
    message: Message = ""


class SessionIn(Strict):
    starts_at: Instant
    time_zone: TimeZoneName = "Europe/Paris"
    duration_minutes: Duration = 60
    capacity: Capacity | None = None
    animator_ids: Ids | None = None  # default: the caller
    confirm_conflicts: bool = False


class SessionPatch(Patch):
    """A move (starts_at, time_zone, duration_minutes; a naive starts_at is read in the new
    zone, or the session's) and/or a team change (capacity, animator_ids)."""

    nullable = frozenset({"capacity"})  # null: no limit

    starts_at: Instant | SkipJsonSchema[None] = None
    time_zone: TimeZoneName | SkipJsonSchema[None] = None
    duration_minutes: Duration | SkipJsonSchema[None] = None
    confirm_conflicts: bool = False
    capacity: Capacity | None = None
    animator_ids: Ids | SkipJsonSchema[None] = None


class SpeakerIn(Strict):
    email: Email
    name: SpeakerName = ""
    title: SpeakerTitle = ""


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
    duration_minutes: Duration = 60
    time_zone: TimeZoneName = "Europe/Paris"
    exclude_session: Id | None = None


class ConflictError(Error):
    """409: `session.conflict` lists the sessions on or near the slot; other 409s do not."""

    conflicts: list[ConflictOut] | SkipJsonSchema[None] = None


SLOT_ERRORS: dict[int, Any] = {**BODY_ERRORS, 409: ConflictError}


class SessionUnderWayOut(Schema):
    id: int
    state: str
    starts_at: datetime


class EventCancelError(Error):
    """409 `session.under_way`: the sessions in their green room or live, which stop the
    webinar's cancellation (nothing was cancelled)."""

    sessions: list[SessionUnderWayOut]
