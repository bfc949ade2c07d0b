"""Factories for the fixed cast of the tests, with Italian data (Faker it_IT)."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import factory
from allauth.mfa.totp.internal.auth import TOTP, generate_totp_secret
from factory.django import DjangoModelFactory
from stdnum import luhn

from selfcare.models import (
    Company,
    Line,
    LineKind,
    LineStatus,
    Membership,
    Offer,
    Payment,
    Role,
    SimKind,
    User,
)

factory.Faker._DEFAULT_LOCALE = "it_IT"

DEFAULT_PASSWORD = "Password-di-prova-1"


def vat_number(n: int) -> str:
    """A valid Italian VAT number: ten digits and their Luhn check digit."""
    body = f"{n:010d}"
    return f"IT{body}{luhn.calc_check_digit(body)}"


def iccid(n: int) -> str:
    """A valid 19-digit ICCID of an Italian SIM (89 39 …) with its Luhn check digit."""
    body = f"893988{n:012d}"
    return body + luhn.calc_check_digit(body)


class UserFactory(DjangoModelFactory[User]):
    class Meta:
        model = User
        django_get_or_create = ("email",)
        skip_postgeneration_save = True

    email = factory.Sequence(lambda n: f"utente{n}@example.it")
    name = factory.Faker("name")
    password = factory.django.Password(DEFAULT_PASSWORD)


def give_totp(user: User) -> str:
    """Enrol the user in TOTP two-factor authentication; returns the secret."""
    secret: str = generate_totp_secret()
    TOTP.activate(user, secret)
    user.totp_secret = secret  # type: ignore[attr-defined]  # kept on the object for the test's use
    return secret


class CompanyFactory(DjangoModelFactory[Company]):
    class Meta:
        model = Company

    name = factory.Faker("company")
    vat_number = factory.Sequence(lambda n: vat_number(7_000_000 + n))
    tax_code = factory.LazyAttribute(lambda company: company.vat_number.removeprefix("IT"))
    pec = factory.LazyAttribute(lambda company: f"amministrazione.{company.vat_number[-5:]}@pec.example.it")
    recipient_code = "M5UXCR1"
    registered_office = factory.Faker("address")


class MembershipFactory(DjangoModelFactory[Membership]):
    user = factory.SubFactory(UserFactory)
    company = factory.SubFactory(CompanyFactory)
    role = Role.LINE_USER

    class Meta:
        model = Membership
        skip_postgeneration_save = True

    @factory.post_generation  # type: ignore[untyped-decorator]
    def two_factor(obj: Membership, create: bool, extracted: Any, **kwargs: Any) -> None:  # noqa: N805 - factory-boy passes the built object
        """Administrators and legal representatives must have two-factor login: give it to them."""
        needs_totp = create and obj.role in (Role.ADMIN, Role.LEGAL_REP) and extracted is not False
        if needs_totp and not hasattr(obj.user, "totp_secret"):
            give_totp(obj.user)


class OfferFactory(DjangoModelFactory[Offer]):
    class Meta:
        model = Offer
        django_get_or_create = ("code",)

    code = factory.Sequence(lambda n: f"BIZ-{n:03d}")
    name = factory.LazyAttribute(lambda offer: f"Business {offer.code}")
    payment = Payment.POSTPAID
    monthly_fee = Decimal("10.00")
    unlimited_voice_sms = True
    unlimited_data = False
    data_gb = 100


class LineFactory(DjangoModelFactory[Line]):
    class Meta:
        model = Line

    company = factory.SubFactory(CompanyFactory)
    number = factory.Sequence(lambda n: f"+39333{n:07d}")
    kind = LineKind.MOBILE
    sim = SimKind.PHYSICAL
    iccid = factory.Sequence(iccid)
    offer = factory.SubFactory(OfferFactory)
    cost_centre = "Sales"
    status = LineStatus.ACTIVE
    activated_on = factory.Faker("date_between", start_date="-2y", end_date="-60d")
