"""Factories that build state through the services, so audit events and invariants are real."""

import factory

from eurohpc.models import Organisation, User
from eurohpc.services import organisation_create, user_create

PASSWORD = "correct-horse-battery"


class OrganisationFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Organisation

    legal_name = factory.Sequence(lambda n: f"Supercomputing Centre {n}")
    short_name = factory.Sequence(lambda n: f"SC{n}")
    country = "LU"
    kind = Organisation.Kind.HOSTING_ENTITY
    address = "1, rue de l'Exemple\nL-1855 Luxembourg\nLuxembourg"
    representative_name = factory.Sequence(lambda n: f"Alex Representative {n}")
    representative_function = "Director"

    @classmethod
    def _create(cls, model_class, *args, **kwargs):
        return organisation_create(actor=None, **kwargs)


class UserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = User

    username = factory.Sequence(lambda n: f"user{n}")
    email = factory.LazyAttribute(lambda u: f"{u.username}@example.org")
    first_name = "Test"
    last_name = factory.Sequence(lambda n: f"User {n}")
    organisation = None
    roles = ()

    @classmethod
    def _create(cls, model_class, *args, **kwargs):
        return user_create(password=PASSWORD, actor=None, **kwargs)
