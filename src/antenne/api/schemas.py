from __future__ import annotations

from datetime import datetime

from ninja import Schema
from pydantic import ConfigDict


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
