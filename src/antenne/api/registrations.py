"""REST API v1 for registrants: add one by hand (idempotent), list, revoke, erase.

Reads go through `registrations.selectors`, writes through `registrations.services`, which
hold the capacity guarantee (the session row is locked while seats are counted), the staff
rule and the audit trail."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

from django.http import HttpRequest
from ninja import Field, Query, Router, Schema, Status
from pydantic import field_validator

from antenne.api import schemas
from antenne.events import selectors as event_selectors
from antenne.registrations import selectors, services
from antenne.registrations.models import Registration

router = Router(tags=["registrations"])

ERRORS = schemas.ERRORS
WRITE_ERRORS = schemas.WRITE_ERRORS

MAX_ANSWERS = 100
ANSWER_MAX = 5000
LIST_MAX = 500

Answer = str | Annotated[list[str], Field(max_length=MAX_ANSWERS)] | bool


def _clean(value: str, limit: int) -> str:
    """PostgreSQL cannot store NUL in text or JSON: drop it, then bound the length."""
    return value.replace("\x00", "")[:limit]


class RegistrationIn(schemas.Strict):
    email: schemas.Email
    # Names and answers may carry NUL: it is dropped (registrations.services), never refused.
    first_name: str = Field(max_length=100)
    last_name: str = Field(max_length=100)
    answers: dict[str, Answer] = Field(default_factory=dict, max_length=MAX_ANSWERS)
    # Registrations added by organisers (source "api") need no consent box.
    consent: bool = False
    language: Literal["fr", "en"] = "fr"
    utm: dict[str, str] = Field(default_factory=dict, max_length=20)

    @field_validator("answers")
    @classmethod
    def _answers(cls, value: dict[str, Answer]) -> dict[str, Answer]:
        if len(value) > MAX_ANSWERS:
            raise ValueError(f"At most {MAX_ANSWERS} answers.")
        cleaned: dict[str, Answer] = {}
        for key, answer in value.items():
            if isinstance(answer, str):
                answer = _clean(answer, ANSWER_MAX)
            elif isinstance(answer, list):
                if len(answer) > MAX_ANSWERS:
                    raise ValueError(f"At most {MAX_ANSWERS} choices per answer.")
                answer = [_clean(item, ANSWER_MAX) for item in answer]
            cleaned[_clean(key, 100)] = answer
        return cleaned

    @field_validator("utm")
    @classmethod
    def _utm(cls, value: dict[str, str]) -> dict[str, str]:
        if len(value) > 20:
            raise ValueError("At most 20 utm parameters.")
        return {_clean(k, 40): _clean(v, 200) for k, v in value.items()}


class RegisteredOut(Schema):
    id: int
    status: str
    join_url: str

    @staticmethod
    def resolve_join_url(obj: Registration) -> str:
        return services.join_url(obj)


class RegistrationOut(RegisteredOut):
    email: str
    first_name: str
    last_name: str
    created_at: datetime
    consent_at: datetime | None
    answers: dict[str, Any]
    utm: dict[str, Any]


class RegistrationPage(Schema):
    count: int
    items: list[RegistrationOut]
    limit: int
    offset: int


class RegistrationFilters(schemas.Strict):
    limit: Annotated[int, Field(ge=1, le=LIST_MAX)] = 100
    offset: schemas.Offset = 0
    status: Literal["", "confirmed", "waitlisted", "revoked"] = ""
    q: str = Field("", max_length=200)  # NUL is dropped


@router.post(
    "/sessions/{session_id}/registrations",
    response={200: RegisteredOut, 201: RegisteredOut, **schemas.BODY_WRITE_ERRORS},
)
def register_attendee(request: HttpRequest, session_id: schemas.Id, body: RegistrationIn) -> Any:
    """Register someone to a session (its animators and admins). 201 when created; 200 with
    the same registration when the email is already registered (the link is re-sent). 409
    `registration.staff_member` for a workspace account, `registration.full` when the
    session is full without a waiting list, `registration.closed` once it is over."""
    session = event_selectors.access_managed_session(actor=request.user, pk=session_id)
    registration, created = services.register(
        session=session,
        email=body.email,
        first_name=body.first_name,
        last_name=body.last_name,
        answers=body.answers,
        consent=body.consent,
        language=body.language,
        utm=body.utm,
        source="api",
        actor=request.user,
    )
    return Status(201 if created else 200, registration)


@router.get("/sessions/{session_id}/registrations", response={200: RegistrationPage, **ERRORS})
def list_registrations(
    request: HttpRequest, session_id: schemas.Id, filters: Query[RegistrationFilters]
) -> Any:
    """A session's registrations, newest first (its animators and admins); `q` searches
    email and names, `status` keeps one status."""
    session = event_selectors.access_session(actor=request.user, pk=session_id)
    found = selectors.list_registrations(
        actor=request.user, session=session, status=filters.status, search=filters.q
    )
    page = list(found[filters.offset : filters.offset + filters.limit])
    count = found.count() if len(page) == filters.limit or filters.offset else len(page)
    return {"count": count, "items": page, "limit": filters.limit, "offset": filters.offset}


@router.post(
    "/registrations/{registration_id}/revoke", response={200: RegistrationOut, **WRITE_ERRORS}
)
def revoke_registration(request: HttpRequest, registration_id: schemas.Id) -> Any:
    """The join link stops working; the registration stays listed as revoked."""
    registration = selectors.access_registration(actor=request.user, pk=registration_id)
    return services.revoke_registration(actor=request.user, registration=registration)


@router.delete("/registrations/{registration_id}", response={204: None, **WRITE_ERRORS})
def erase_registration(request: HttpRequest, registration_id: schemas.Id) -> Any:
    """Delete the registration and everything the person typed (the audit keeps no
    personal data)."""
    registration = selectors.access_registration(actor=request.user, pk=registration_id)
    services.erase_registration(actor=request.user, registration=registration)
    return Status(204, None)
