"""The animator defines the registration form's questions; the public page asks them."""

from __future__ import annotations

import pytest
from django.test import Client

from antenne.core.permissions import Role
from antenne.registrations.models import Registration, RegistrationField
from tests.conftest import client_for
from tests.factories import EventFactory, SessionFactory, UserFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def event(animator):
    event = EventFactory(owner=animator, published=True)
    SessionFactory(event=event)
    return event


def add(client, event, **fields):
    data = {f"question-{k}": v for k, v in fields.items()}
    return client.post(f"/app/events/{event.pk}/questions/", data)


def test_questions_of_each_kind_are_asked_on_the_public_page(animator, event):
    client = client_for(animator)
    add(client, event, label="Votre service", kind="text", required="on")
    add(client, event, label="Votre région", kind="choice", choices="Bretagne\nOccitanie\n")
    add(client, event, label="Vos sujets", kind="multiple", choices="Données\nAccessibilité")
    add(client, event, label="Recevoir le replay", kind="checkbox")
    assert RegistrationField.objects.filter(event=event).count() == 4
    page = Client().get(f"/e/{event.pk}/").content.decode()
    for text in ("Votre service", "Bretagne", "Accessibilité", "Recevoir le replay"):
        assert text in page

    visitor = Client()
    fields = {f.kind: f.key for f in RegistrationField.objects.all()}
    session = event.sessions.get()
    response = visitor.post(
        f"/e/{event.pk}/",
        {
            "session": session.pk,
            "email": "v@p.example",
            "first_name": "V",
            "last_name": "P",
            "consent": "on",
            fields["choice"]: "Occitanie",
            fields["multiple"]: ["Données", "Accessibilité"],
            fields["checkbox"]: "on",
        },
    )
    assert response.status_code == 422  # the required text question is missing
    assert not Registration.objects.exists()
    form = {
        "session": session.pk,
        "email": "v@p.example",
        "first_name": "V",
        "last_name": "P",
        "consent": "on",
        fields["text"]: "DINUM",
        fields["choice"]: "Occitanie",
        fields["multiple"]: ["Données", "Accessibilité"],
        fields["checkbox"]: "on",
    }
    assert visitor.post(f"/e/{event.pk}/", form).status_code == 302
    answers = Registration.objects.get().answers
    values = {answer["label"]: answer["value"] for answer in answers.values()}
    assert values["Votre service"] == "DINUM"
    assert values["Votre région"] == "Occitanie"
    assert sorted(values["Vos sujets"]) == ["Accessibilité", "Données"]
    assert values["Recevoir le replay"] is True


def test_choice_questions_need_choices(animator, event):
    response = add(client_for(animator), event, label="Région", kind="choice", choices="Seule")
    assert response.status_code == 302
    assert not RegistrationField.objects.exists()


def test_only_the_events_animators_manage_questions(event, member):
    other = UserFactory(role=Role.ANIMATOR)
    for user in (other, member):
        assert add(client_for(user), event, label="Q", kind="text").status_code == 403
    field = RegistrationField.objects.create(event=event, label="Q", kind="text")
    assert client_for(other).post(f"/app/questions/{field.pk}/remove/").status_code == 403
    assert RegistrationField.objects.filter(pk=field.pk).exists()


def test_removing_a_question_keeps_the_answers_given(animator, event):
    field = RegistrationField.objects.create(event=event, label="Votre service", kind="text")
    registration = Registration.objects.create(
        session=event.sessions.get(),
        email="a@p.example",
        first_name="A",
        last_name="P",
        join_key="k" * 43,
        answers={field.key: {"label": "Votre service", "value": "DINUM"}},
    )
    client_for(animator).post(f"/app/questions/{field.pk}/remove/")
    registration.refresh_from_db()
    assert registration.answers[field.key]["value"] == "DINUM"
