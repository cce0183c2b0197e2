"""Who is in the room, as speakers and staff see it (the people list), and a participant's
own state at join."""

from __future__ import annotations

from typing import Any

from django.db.models import (
    Case,
    Exists,
    F,
    IntegerField,
    OuterRef,
    Subquery,
    Value,
    When,
)
from django.utils.translation import gettext_lazy as _

from antenne.core.exceptions import PermissionDenied
from antenne.events.models import Speaker
from antenne.rooms.models import Mute, Presence, StageInvitation
from antenne.rooms.moderation import (
    OPEN_STAGE,
    PEOPLE_LIMIT,
    is_muted,
    room_settings,
    settings_data,
    stage_target,
)
from antenne.rooms.participants import Participant


def connected_people(*, participant: Participant, limit: int = PEOPLE_LIMIT) -> dict[str, Any]:
    """Open connections of the room for speakers and staff, in one query: backstage people
    first, then raised hands in the order they were raised, then by arrival. At most `limit`
    rows (`truncated` says there were more)."""
    if not participant.is_backstage:
        raise PermissionDenied(_("You may not do this here."), code="permission.denied")
    same_person = {
        "session_id": OuterRef("session_id"),
        "registration_id": OuterRef("registration_id"),
    }
    rows = (
        Presence.objects.filter(session_id=participant.session_id, left_at__isnull=True)
        .annotate(
            backstage_first=Case(
                When(role=Presence.Role.ATTENDEE, then=Value(1)),
                default=Value(0),
                output_field=IntegerField(),
            ),
            muted=Exists(Mute.objects.filter(**same_person)),
            stage=Subquery(
                StageInvitation.objects.filter(**same_person, state__in=OPEN_STAGE)
                .order_by("-id")
                .values("state")[:1]
            ),
            speaker_name=Subquery(
                Speaker.objects.filter(
                    session_id=OuterRef("session_id"), user_id=OuterRef("user_id")
                ).values("name")[:1]
            ),
        )
        .order_by("backstage_first", F("hand_raised_at").asc(nulls_last=True), "joined_at", "id")
        .values_list(
            "pk",
            "role",
            "device",
            "registration_id",
            "registration__first_name",
            "speaker__name",
            "speaker_name",
            "user__full_name",
            "user__email",
            "hand_raised_at",
            "muted",
            "stage",
            "joined_at",
            # A telephone caller's call (reverse one-to-one: a LEFT JOIN, null for others).
            "phone_call__caller_masked",
            "phone_call__floor",
        )[: limit + 1]
    )
    people = []
    for row in rows:
        (pk, role, device, registration_id, first_name, by_link, speaker_name) = row[:7]
        full_name, email, hand_raised_at, muted, stage, joined_at, number, floor = row[7:]
        # A speaker by their link's name, or their account's (None when neither is known).
        name: str | None
        if role == Presence.Role.ATTENDEE:
            name = first_name
        elif role == Presence.Role.SPEAKER:
            name = by_link or speaker_name or full_name or None
        else:
            name = full_name or email
        people.append(
            {
                "presence_id": pk,
                "registration_id": registration_id,
                "name": name,
                "role": role,
                "device": device,
                "hand_raised_at": hand_raised_at.isoformat() if hand_raised_at else None,
                "muted": muted,
                "stage": stage,
                "joined_at": joined_at.isoformat(),
                "phone": _phone(device, number, floor),
            }
        )
    return {"people": people[:limit], "truncated": len(people) > limit}


def _phone(device: str, number: str | None, floor: bool | None) -> dict[str, Any] | None:
    """A telephone caller's masked number and whether they have the floor; None for anyone
    else. A caller without a personal PIN has no name: the console shows the number."""
    if device != Presence.Device.PHONE or floor is None:
        return None
    return {"number": number or "", "floor": floor}


def participant_state(participant: Participant) -> dict[str, Any]:
    """What a joining client needs of moderation: the room settings, and for an attendee
    their stage `target`, whether they are muted and their open stage invitation."""
    room = room_settings(participant.session_id)
    state: dict[str, Any] = {"settings": settings_data(room), "target": "", "muted": False}
    state["stage"] = None
    if participant.registration_id is not None:
        state["target"] = stage_target(participant.registration_id)
        state["muted"] = is_muted(
            session_id=participant.session_id, registration_id=participant.registration_id
        )
        invitation = (
            StageInvitation.objects.filter(
                session_id=participant.session_id,
                registration_id=participant.registration_id,
                state__in=OPEN_STAGE,
            )
            .order_by("-id")
            .values("pk", "state")
            .first()
        )
        if invitation is not None:
            state["stage"] = {"invitation_id": invitation["pk"], "state": invitation["state"]}
    return state
