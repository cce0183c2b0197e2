"""Moderation leaves audit entries on the session, by the staff member who did it: muting
and unmuting, deleting a message, changing the room's settings, inviting on stage and
taking off it. Doing the same again writes nothing more."""

from __future__ import annotations

import pytest
from django.utils import timezone

from antenne.core.models import AuditEntry
from antenne.rooms import moderation, services
from antenne.rooms import stage as room_stage
from antenne.rooms.models import ChatMessage, Presence
from antenne.rooms.participants import Participant
from tests.factories import RegistrationFactory

pytestmark = pytest.mark.django_db


def test_moderation_is_audited_once_per_change(room, animator):
    staff = Participant(
        session_id=room.pk, role=Presence.Role.STAFF, name="Staff", user_id=animator.pk
    )
    alix = RegistrationFactory(session=room)
    Presence.objects.create(session=room, registration=alix, joined_at=timezone.now())
    message = ChatMessage.objects.create(session=room, author_name="A", role="attendee", text="x")

    # Each twice: the second time changes nothing, and is not audited.
    for act in (
        lambda: moderation.mute(participant=staff, registration_id=alix.pk),
        lambda: moderation.unmute(participant=staff, registration_id=alix.pk),
        lambda: services.delete_chat(participant=staff, message_id=message.pk),
        lambda: moderation.change_room_settings(
            participant=staff, changes={"slow_mode_seconds": 30}
        ),
    ):
        act()
        act()
    room_stage.invite_to_stage(participant=staff, registration_id=alix.pk)
    room_stage.remove_from_stage(participant=staff, registration_id=alix.pk)

    entries = AuditEntry.objects.filter(action__startswith="rooms.").order_by("id")
    assert [(e.action, e.actor_id, e.object_id) for e in entries] == [
        ("rooms.person.muted", animator.pk, str(room.pk)),
        ("rooms.person.unmuted", animator.pk, str(room.pk)),
        ("rooms.chat.deleted", animator.pk, str(room.pk)),
        ("rooms.settings.changed", animator.pk, str(room.pk)),
        ("rooms.stage.invited", animator.pk, str(room.pk)),
        ("rooms.stage.removed", animator.pk, str(room.pk)),
    ]
    assert entries[0].data == {"registration_id": alix.pk}
    assert entries[2].data == {"message_id": message.pk}
    assert entries[3].data == {"slow_mode_seconds": 30}
    assert entries[5].data == {"registration_id": alix.pk, "was": "invited"}
