"""Raised hands and the stage through the real ASGI application: who sees the queue, who
recognises their invitation (by `target`, never by id or name), the invitation's states, and
the privacy rule: an attendee never receives another attendee's name or registration id."""

from __future__ import annotations

import json

import pytest
from asgiref.sync import sync_to_async

from antenne.live.stage import participant_target, presence_closed
from antenne.rooms import hands
from antenne.rooms.models import Presence, StageInvitation
from antenne.rooms.moderation import stage_target
from antenne.rooms.participants import Participant
from tests.factories import RegistrationFactory
from tests.live.helpers import call, revoke_quietly
from tests.live.test_moderation import (
    close,
    join_again,
    join_attendee,
    join_speaker,
    join_staff,
    pushes,
    raw_pushes,
)

pytestmark = pytest.mark.django_db(transaction=True)


def target_of(registration) -> str:
    return participant_target(
        Participant(
            session_id=registration.session_id,
            role="attendee",
            name=registration.first_name,
            registration_id=registration.pk,
        )
    )


def events(seen, name):
    return [(channel, data) for channel, event, data in seen if event == name]


# -- hands -------------------------------------------------------------------------------------


async def test_a_raised_hand_reaches_staff_and_speakers_but_no_attendee(room, animator):
    hand, registration = await join_attendee(room, first_name="Zéphyrine")
    watcher, _ = await join_attendee(room)
    staff = await join_staff(room, animator)
    speaker = await join_speaker(room)

    assert (await call(hand, "hand.raise", {}))[2] == {"raised": True}
    queue = ("backstage", {"registration_id": registration.pk, "name": "Zéphyrine"})
    assert events(await pushes(staff), "hand.raised") == [queue]
    assert events(await pushes(speaker), "hand.raised") == [queue]
    assert await watcher.receive_nothing(timeout=0.3)
    presence = await sync_to_async(Presence.objects.get)(registration=registration)
    assert presence.hand_raised_at is not None

    # Raising again is not a second place in the queue.
    assert (await call(hand, "hand.raise", {}, "again"))[0] == "success"
    assert await staff.receive_nothing(timeout=0.4)

    assert (await call(hand, "hand.lower", {}, "down"))[2] == {"raised": False}
    lowered = ("backstage", {"registration_id": registration.pk, "name": "Zéphyrine"})
    assert events(await pushes(staff), "hand.lowered") == [lowered]
    await sync_to_async(presence.refresh_from_db)()
    assert presence.hand_raised_at is None
    assert await watcher.receive_nothing(timeout=0.3)
    await close(hand, watcher, staff, speaker)


async def test_staff_lower_a_hand_and_a_hand_is_one_per_person(room, animator):
    hand, registration = await join_attendee(room, first_name="Inès")
    phone = await join_again(room, registration)
    staff = await join_staff(room, animator)
    await call(hand, "hand.raise", {})
    # The same person on their phone: still one hand in the queue.
    await call(phone, "hand.raise", {})
    assert len(events(await pushes(staff), "hand.raised")) == 1
    lowered = await call(staff, "hand.lower_for", {"registration_id": registration.pk})
    assert lowered[2] == {"registration_id": registration.pk, "raised": False}
    assert len(events(await pushes(staff), "hand.lowered")) == 1
    # Both of the person's pages learn it at once (by their own stage target).
    for page in (hand, phone):
        assert ("frame", {"target": stage_target(registration.pk), "hand": False}) in events(
            await pushes(page), "attendee.state"
        )
    raised = await sync_to_async(
        Presence.objects.filter(registration=registration, hand_raised_at__isnull=False).count
    )()
    assert raised == 0
    # Lowered from the phone, the hand is down on every device.
    await call(hand, "hand.raise", {}, "r2")
    await call(phone, "hand.lower", {}, "l2")
    assert await sync_to_async(hands.hands_count)(room.pk) == 0
    await close(hand, phone, staff)


async def test_when_names_are_shown_everyone_sees_how_many_hands_are_up(room, animator):
    one, _ = await join_attendee(room)
    two, _ = await join_attendee(room)
    staff = await join_staff(room, animator)
    await call(one, "hand.raise", {})
    assert events(await pushes(two), "hands") == []  # names hidden: not even a count
    await call(staff, "room.settings", {"show_attendee_names": True})
    await call(two, "hand.raise", {})
    assert events(await pushes(one), "hands") == [("frame", {"count": 2})]
    assert events(await pushes(two), "hands") == [("frame", {"count": 2})]
    await call(one, "hand.lower", {}, "l")
    assert events(await pushes(two), "hands") == [("frame", {"count": 1})]
    await close(one, two, staff)


async def test_a_hand_goes_down_when_its_connection_closes(room, animator):
    hand, registration = await join_attendee(room, first_name="Léa")
    staff = await join_staff(room, animator)
    await call(hand, "hand.raise", {})
    await pushes(staff)
    presence = await sync_to_async(Presence.objects.get)(registration=registration)
    await close(hand)  # the consumer records the leave
    await presence_closed(presence.pk)
    assert events(await pushes(staff), "hand.lowered") == [
        ("backstage", {"registration_id": registration.pk, "name": "Léa"})
    ]
    await sync_to_async(presence.refresh_from_db)()
    assert (presence.hand_raised_at, presence.left_at is not None) == (None, True)
    await close(staff)


# -- the stage ---------------------------------------------------------------------------------


async def test_an_invited_attendee_recognises_their_invitation_accepts_and_is_removed(
    room, animator
):
    guest, registration = await join_attendee(room, first_name="Zéphyrine")
    watcher, watcher_registration = await join_attendee(room)
    staff = await join_staff(room, animator)

    invited = await call(staff, "stage.invite", {"registration_id": registration.pk})
    assert invited[0] == "success"
    invitation_id = invited[2]["invitation_id"]
    assert invited[2]["state"] == "invited"
    public = {"invitation_id": invitation_id, "state": "invited", "target": target_of(registration)}
    assert events(await pushes(guest), "stage.invitation") == [("frame", public)]
    # Everyone receives the same event; only the invitee's target matches.
    assert events(await pushes(watcher), "stage.invitation") == [("frame", public)]
    assert target_of(watcher_registration) != public["target"]
    assert events(await pushes(staff), "stage.invited") == [
        (
            "backstage",
            {
                "invitation_id": invitation_id,
                "state": "invited",
                "registration_id": registration.pk,
                "name": "Zéphyrine",
            },
        )
    ]

    # Only the invitee answers.
    refused = await call(watcher, "stage.accept", {"invitation_id": invitation_id})
    assert refused[2]["code"] == "stage.not_found"
    accepted = await call(guest, "stage.accept", {"invitation_id": invitation_id})
    assert accepted[2]["state"] == "accepted"
    assert events(await pushes(staff), "stage.accepted")[0][1]["name"] == "Zéphyrine"
    assert events(await pushes(watcher), "stage.invitation")[0][1]["state"] == "accepted"
    late = await call(guest, "stage.decline", {"invitation_id": invitation_id}, "d")
    assert late[2]["code"] == "stage.not_pending"
    on_stage = await call(staff, "stage.invite", {"registration_id": registration.pk}, "i2")
    assert on_stage[2]["code"] == "stage.already_on_stage"

    removed = await call(staff, "stage.remove", {"registration_id": registration.pk}, "rm")
    assert removed[2]["state"] == "ended"
    assert events(await pushes(guest), "stage.invitation") == [
        ("frame", {**public, "state": "ended"})
    ]
    invitation = await sync_to_async(StageInvitation.objects.get)(pk=invitation_id)
    assert (invitation.state, invitation.by_id) == ("ended", animator.pk)
    again = await call(staff, "stage.remove", {"registration_id": registration.pk}, "rm2")
    assert again[2]["code"] == "stage.not_on_stage"
    await close(guest, watcher, staff)


async def test_going_on_stage_lowers_the_hand_for_staff_and_on_every_page(room, animator):
    guest, registration = await join_attendee(room, first_name="Zéphyrine")
    phone = await join_again(room, registration)
    staff = await join_staff(room, animator)
    await call(guest, "hand.raise", {})
    invitation = (await call(staff, "stage.invite", {"registration_id": registration.pk}))[2]
    await pushes(guest), await pushes(phone), await pushes(staff)
    accepted = await call(guest, "stage.accept", {"invitation_id": invitation["invitation_id"]})
    assert accepted[2]["state"] == "accepted"
    # Staff's queue loses the hand; both of the person's pages lower their button.
    assert events(await pushes(staff), "hand.lowered") == [
        ("backstage", {"registration_id": registration.pk, "name": "Zéphyrine"})
    ]
    for page in (guest, phone):
        assert ("frame", {"target": stage_target(registration.pk), "hand": False}) in events(
            await pushes(page), "attendee.state"
        )
    assert await sync_to_async(hands.hands_count)(room.pk) == 0
    # Accepting again changes nothing and says nothing more.
    await call(guest, "stage.accept", {"invitation_id": invitation["invitation_id"]}, "a2")
    assert events(await pushes(staff), "hand.lowered") == []
    await close(guest, phone, staff)


async def test_an_invitation_can_be_declined_sent_again_or_withdrawn(room, animator):
    guest, registration = await join_attendee(room)
    staff = await join_staff(room, animator)
    first = await call(staff, "stage.invite", {"registration_id": registration.pk})
    # Invited again while pending: the same invitation, sent again (the invitee may have
    # reconnected meanwhile).
    second = await call(staff, "stage.invite", {"registration_id": registration.pk}, "i2")
    assert second[2]["invitation_id"] == first[2]["invitation_id"]
    assert len(events(await pushes(guest), "stage.invitation")) == 2
    declined = await call(guest, "stage.decline", {"invitation_id": first[2]["invitation_id"]})
    assert declined[2]["state"] == "declined"
    assert events(await pushes(staff), "stage.declined")[0][1]["registration_id"] == (
        registration.pk
    )
    third = await call(staff, "stage.invite", {"registration_id": registration.pk}, "i3")
    assert third[2]["invitation_id"] != first[2]["invitation_id"]
    withdrawn = await call(staff, "stage.remove", {"registration_id": registration.pk}, "w")
    assert withdrawn[2]["state"] == "ended"
    too_late = await call(guest, "stage.accept", {"invitation_id": third[2]["invitation_id"]})
    assert too_late[2]["code"] == "stage.not_pending"
    await close(guest, staff)


async def test_only_people_in_the_room_are_invited(room, animator):
    away = await sync_to_async(RegistrationFactory)(session=room)
    left, left_registration = await join_attendee(room)
    await close(left)
    elsewhere = await sync_to_async(RegistrationFactory)()
    staff = await join_staff(room, animator)
    for request_id, registration_id, code in (
        ("never", away.pk, "stage.not_connected"),
        ("left", left_registration.pk, "stage.not_connected"),
        ("other", elsewhere.pk, "room.not_found"),
    ):
        reply = await call(staff, "stage.invite", {"registration_id": registration_id}, request_id)
        assert reply[2]["code"] == code
    assert await sync_to_async(StageInvitation.objects.count)() == 0
    await close(staff)


async def test_a_revoked_invitee_cannot_accept(room, animator):
    guest, registration = await join_attendee(room)
    staff = await join_staff(room, animator)
    invited = await call(staff, "stage.invite", {"registration_id": registration.pk})
    # Revoked behind the room's back (no push): the write itself re-checks the right.
    await sync_to_async(revoke_quietly)(registration)
    refused = await call(guest, "stage.accept", {"invitation_id": invited[2]["invitation_id"]})
    assert refused[2]["code"] == "join.invalid_link"
    invitation = await sync_to_async(StageInvitation.objects.get)(pk=invited[2]["invitation_id"])
    assert invitation.state == "invited"
    await close(guest, staff)


# -- privacy -----------------------------------------------------------------------------------


@pytest.mark.parametrize("names_shown", [False, True])
async def test_an_attendee_never_receives_another_attendees_name_or_id(room, animator, names_shown):
    observer, _ = await join_attendee(room, first_name="Observatrice")
    subject, registration = await join_attendee(room, first_name="Zéphyrine")
    staff = await join_staff(room, animator)
    await call(staff, "room.settings", {"show_attendee_names": names_shown})
    await call(subject, "hand.raise", {})
    await call(staff, "hand.lower_for", {"registration_id": registration.pk}, "l")
    await call(staff, "chat.mute", {"registration_id": registration.pk}, "m")
    await call(staff, "chat.unmute", {"registration_id": registration.pk}, "u")
    invited = await call(staff, "stage.invite", {"registration_id": registration.pk}, "i")
    await call(subject, "stage.accept", {"invitation_id": invited[2]["invitation_id"]}, "a")
    await call(staff, "stage.remove", {"registration_id": registration.pk}, "r")
    await call(subject, "react", {"emoji": "🎉"}, "e")
    frames = [json.loads(text) for text in await raw_pushes(observer)]
    assert not any(frame[0] == "backstage" for frame in frames)
    seen = [(event, data) for frame in frames for event, data in frame[1]["events"]]
    assert {"stage.invitation", "reactions"} <= {event for event, _ in seen}
    plain = json.dumps(seen, ensure_ascii=False)
    assert "Zéphyrine" not in plain
    assert "registration_id" not in plain
    await close(observer, subject, staff)
