from __future__ import annotations

from datetime import timedelta

import factory
from django.utils import timezone

from antenne.accounts.models import AccessRequest, Team, User
from antenne.core.permissions import Role


class TeamFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Team

    name = factory.Sequence(lambda n: f"Équipe {n}")
    contact_email = factory.Sequence(lambda n: f"equipe{n}@service.example")


class UserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = User

    email = factory.Sequence(lambda n: f"agent{n}@service.example")
    full_name = factory.Faker("name", locale="fr_FR")
    role = Role.MEMBER

    @classmethod
    def _create(cls, model_class, *args, **kwargs):
        user = model_class(*args, **kwargs)
        user.set_unusable_password()
        user.save()
        return user


class AccessRequestFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = AccessRequest

    email = factory.Sequence(lambda n: f"demandeur{n}@service.example")
    full_name = "Alex Demandeur"
    team_name = "Équipe Demande"
    team_contact_email = "contact@demande.example"
    reason = "Organiser des webinaires mensuels."


class EventFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = "events.Event"

    title = factory.Sequence(lambda n: f"Webinaire {n}")
    description = "Présentation des nouveautés."
    team = factory.SubFactory(TeamFactory)
    owner = factory.SubFactory(UserFactory, role=Role.ANIMATOR)


class SessionFactory(factory.django.DjangoModelFactory):
    """A scheduled session, created directly (no conflict check): for test set-ups."""

    class Meta:
        model = "events.Session"
        skip_postgeneration_save = True

    event = factory.SubFactory(EventFactory)
    starts_at = factory.LazyFunction(lambda: timezone.now() + timedelta(days=7))
    time_zone = "Europe/Paris"
    duration_minutes = 60

    @factory.post_generation
    def animators(self, create, extracted, **kwargs):
        if create:
            self.animators.set(extracted if extracted is not None else [self.event.owner])


class RegistrationFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = "registrations.Registration"

    session = factory.SubFactory(SessionFactory)
    email = factory.Sequence(lambda n: f"inscrit{n}@public.example")
    first_name = "Alix"
    last_name = factory.Sequence(lambda n: f"Inscrit{n}")
    join_key = factory.Sequence(lambda n: f"key-{n:040d}")
