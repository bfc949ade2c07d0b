"""The benchmarks' own company: made once, its administrator ready to log in with two factors."""

from __future__ import annotations

import pytest
from allauth.mfa.models import Authenticator

from benchmarks.common import bench_company_admin
from selfcare.models import Membership, Role

pytestmark = pytest.mark.django_db


def test_the_bench_company_and_its_administrator_are_made_once() -> None:
    made = bench_company_admin(
        vat="01999990021",
        email="bench@bench.example",
        company_name="Bench S.r.l.",
        user_name="Bench",
        office="Milano",
    )
    again = bench_company_admin(
        vat="01999990021",
        email="bench@bench.example",
        company_name="Bench S.r.l.",
        user_name="Bench",
        office="Milano",
    )

    assert again == made
    assert (made.role, made.company.vat_number, made.company.tax_code) == (
        Role.ADMIN,
        "IT01999990021",
        "01999990021",
    )
    assert Membership.objects.count() == 1
    assert Authenticator.objects.filter(user=made.user, type=Authenticator.Type.TOTP).count() == 1
