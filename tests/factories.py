from __future__ import annotations

import factory

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
