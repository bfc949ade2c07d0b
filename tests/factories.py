"""Factories for the fixed cast of the tests, with Italian data (Faker it_IT)."""

from __future__ import annotations

import factory
from factory.django import DjangoModelFactory

from selfcare.models import User

factory.Faker._DEFAULT_LOCALE = "it_IT"

DEFAULT_PASSWORD = "Password-di-prova-1"


class UserFactory(DjangoModelFactory[User]):
    class Meta:
        model = User
        django_get_or_create = ("email",)
        skip_postgeneration_save = True

    email = factory.Sequence(lambda n: f"utente{n}@example.it")
    name = factory.Faker("name")
    password = factory.django.Password(DEFAULT_PASSWORD)
