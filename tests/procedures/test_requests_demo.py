"""The demo requests: made once for the demo companies, in several statuses."""

from __future__ import annotations

import pytest

from procedures.demo_requests import seed_demo_requests
from procedures.models import Request
from selfcare.demo import COMPANIES, _vat_number
from selfcare.models import Role
from tests.billing.invoices import make_invoice
from tests.factories import CompanyFactory, LineFactory, MembershipFactory, UserFactory

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("private_storage")]


def test_seeding_twice_makes_the_requests_once() -> None:
    staff = UserFactory.create(is_staff=True)
    for demo in COMPANIES:
        vat_number = _vat_number(demo.vat_body)  # valid ones: the company data form checks them
        company = CompanyFactory.create(name=demo.name, vat_number=vat_number, tax_code=vat_number[2:])
        MembershipFactory.create(company=company, role=Role.LEGAL_REP)
        MembershipFactory.create(company=company, role=Role.ADMIN)
        LineFactory.create(company=company)
        make_invoice(company)

    made = seed_demo_requests(staff=staff)

    assert made == 6 == Request.objects.count()
    assert set(Request.objects.values_list("status", flat=True)) == {
        "submitted",
        "approved",
        "needs_info",
        "in_review",
        "rejected",
    }
    assert seed_demo_requests(staff=staff) == 0
