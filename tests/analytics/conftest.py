"""One small ended session whose figures are worked out by hand in the tests.

The broadcast ran from T to T+60 min. Registrants:
- Alice (confirmed, utm newsletter/email/mars): web, desktop T+0→T+30 and mobile T+10→T+40
  (overlapping: 40 min watched); 2 chat messages, one deleted; asked q1; poll 1 "Oui",
  poll 2 "A, C";
- Bob (confirmed, utm newsletter/email/mars): telephone T+20→T+50 (30 min); 1 message;
  asked q2; upvoted q1; poll 1 "Non";
- =HYPERLINK (confirmed, no utm, a formula as first name, answers through the API form);
- Dan (waiting list), Eve (revoked): never came.
The animator was in the room as staff T+0→T+60 and wrote one public and one backstage
message; Alice and Bob registered two days before, the others the day before."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import pytest
from django.utils import timezone

from antenne.events.models import Session
from antenne.outbox.models import OutgoingEmail
from antenne.registrations.models import Registration, RegistrationField
from antenne.rooms.models import ChatMessage, Poll, PollVote, Presence, Question, QuestionVote
from tests.factories import EventFactory, RegistrationFactory, SessionFactory

HYPERLINK = '=HYPERLINK("http://x","y")'


@dataclass
class Webinar:
    session: Session
    start: datetime
    field: RegistrationField
    alice: Registration
    bob: Registration
    formula: Registration
    dan: Registration
    eve: Registration
    polls: list[Poll]
    questions: list[Question]


def at(start: datetime, minutes: int) -> datetime:
    return start + timedelta(minutes=minutes)


def presence(session: Session, start: datetime, begin: int, end: int, **fields: Any) -> Presence:
    return Presence.objects.create(
        session=session, joined_at=at(start, begin), left_at=at(start, end), **fields
    )


@pytest.fixture
def webinar(animator) -> Webinar:
    start = (timezone.now() - timedelta(hours=3)).replace(second=0, microsecond=0)
    session = SessionFactory(
        event=EventFactory(owner=animator, published=True),
        animators=[animator],
        starts_at=start,
        state=Session.State.ENDED,
        started_at=start,
        ended_at=at(start, 60),
    )
    field = RegistrationField.objects.create(event=session.event, label="Service", kind="text")
    newsletter = {"utm_source": "newsletter", "utm_medium": "email", "utm_campaign": "mars"}
    consent = at(start, -2 * 24 * 60)
    alice = RegistrationFactory(
        session=session,
        email="alice@public.example",
        first_name="Alice",
        last_name="Martin",
        utm={**newsletter, "utm_term": "budget", "utm_content": "bouton"},
        answers={field.key: {"label": "Service", "value": "DINUM"}},
        consent_at=consent,
        consent_version="abc123",
    )
    bob = RegistrationFactory(
        session=session,
        email="bob@public.example",
        first_name="Bob",
        last_name="Durand",
        utm=newsletter,
        answers={field.key: {"label": "Service", "value": "Mairie"}, "field_999": True},
        source="api",
        language="en",
    )
    formula = RegistrationFactory(
        session=session,
        email="formula@public.example",
        first_name=HYPERLINK,
        last_name="+33 6 12",
        answers={field.key: "@SUM(A1)", "ancienne": ["a", "b"]},
    )
    dan = RegistrationFactory(session=session, email="dan@public.example", status="waitlisted")
    eve = RegistrationFactory(session=session, email="eve@public.example", status="revoked")
    Registration.objects.filter(pk__in=[alice.pk, bob.pk]).update(created_at=consent)
    Registration.objects.filter(pk__in=[formula.pk, dan.pk, eve.pk]).update(
        created_at=at(start, -24 * 60)
    )

    presence(session, start, 0, 30, registration=alice, device="desktop")
    presence(session, start, 10, 40, registration=alice, device="mobile")
    presence(session, start, 20, 50, registration=bob, device="phone")
    presence(session, start, 0, 60, user=animator, role="staff")

    def say(text: str, registration: Registration | None = None, **fields: Any) -> ChatMessage:
        role = "attendee" if registration else "staff"
        name = registration.full_name if registration else "Animateur"
        return ChatMessage.objects.create(
            session=session,
            registration=registration,
            author_name=name,
            role=role,
            text=text,
            **fields,
        )

    say("Bonjour !", alice)
    say("=1+1", alice, deleted_at=at(start, 5))
    say("Allô ?", bob)
    say("Bienvenue à tous", None)
    say("Entre nous", None, backstage=True)

    q1 = Question.objects.create(
        session=session,
        registration=alice,
        author_name="Alice Martin",
        text="Quand sort le rapport ?",
        state="answered",
        votes=2,
    )
    q2 = Question.objects.create(
        session=session, registration=bob, author_name="Bob Durand", text="-Et après ?"
    )
    QuestionVote.objects.create(question=q1, registration=bob, voter=f"r:{bob.pk}")
    QuestionVote.objects.create(question=q1, voter=f"u:{animator.pk}")

    p1 = Poll.objects.create(session=session, question="Utile ?", options=["Oui", "Non"])
    p2 = Poll.objects.create(
        session=session, question="Sujets", options=["A", "B", "C"], multiple=True
    )
    Poll.objects.create(session=session, question="Brouillon", options=["x", "y"])
    Poll.objects.filter(pk__in=[p1.pk, p2.pk]).update(state="closed")
    p1.refresh_from_db()
    p2.refresh_from_db()
    PollVote.objects.create(poll=p1, registration=alice, voter=f"r:{alice.pk}", choices=[0])
    PollVote.objects.create(poll=p1, registration=bob, voter=f"r:{bob.pk}", choices=[1])
    PollVote.objects.create(poll=p2, registration=alice, voter=f"r:{alice.pk}", choices=[0, 2])

    for state, kind in [("sent", "reminder"), ("sent", "reminder"), ("failed", "reminder")]:
        OutgoingEmail.objects.create(
            to="x@public.example",
            kind=kind,
            subject="s",
            body_text="b",
            state=state,
            session=session,
        )
    OutgoingEmail.objects.create(
        to="y@public.example",
        kind="registration_confirmation",
        subject="s",
        body_text="b",
        state="withheld",
        session=session,
    )
    for registration in (alice, bob, formula, dan, eve):
        registration.refresh_from_db()
    return Webinar(session, start, field, alice, bob, formula, dan, eve, [p1, p2], [q1, q2])
