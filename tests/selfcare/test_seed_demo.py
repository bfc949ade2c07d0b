"""`seed_demo` and `demo_totp`: the demo data of `make run` and how to log in with them."""

from __future__ import annotations

import copy
import re
import subprocess
import time
import uuid
from collections import defaultdict
from collections.abc import Iterator
from datetime import timedelta
from io import StringIO
from pathlib import Path
from typing import Any

import phonenumbers
import pytest
import time_machine
from allauth.mfa.models import Authenticator
from allauth.mfa.totp.internal.auth import TOTP, validate_totp_code
from django.apps import apps
from django.core.management import call_command
from django.core.management.base import CommandError
from django.core.validators import validate_email
from django.test.client import Client
from django.urls import reverse
from stdnum import luhn

from selfcare.management.commands.seed_demo import DEMO_PASSWORD, STAFF_EMAIL
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
from selfcare.validators import (
    validate_e164_number,
    validate_iccid,
    validate_recipient_code,
    validate_tax_code,
    validate_vat_number,
)
from tests.commands import SERVER_SETTINGS, in_embedded_mode, manage

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def own_cache(settings: Any) -> None:
    """A cache namespace of this test's own: allauth remembers used TOTP codes and login attempts there."""
    caches = copy.deepcopy(settings.CACHES)
    caches["default"]["KEY_PREFIX"] = f"{caches['default'].get('KEY_PREFIX', '')}-{uuid.uuid4().hex[:8]}"
    settings.CACHES = caches


@pytest.fixture
def frozen_clock() -> Iterator[None]:
    """A code is valid for its 30 seconds only (no tolerance): read and check it in the same instant."""
    with time_machine.travel(time.time(), tick=False):
        yield


def seed() -> str:
    out = StringIO()
    call_command("seed_demo", stdout=out)
    return out.getvalue()


def current_code() -> str:
    out = StringIO()
    call_command("demo_totp", stdout=out)
    return out.getvalue().strip()


def row_counts() -> dict[str, int]:
    return {
        model._meta.label: model._default_manager.count()
        for model in apps.get_models()
        if model._meta.managed and not model._meta.proxy
    }


def demo_memberships() -> list[Membership]:
    return list(Membership.objects.select_related("user", "company"))


def test_seed_demo_twice_adds_nothing(django_assert_max_num_queries: Any) -> None:
    seed()
    before = row_counts()
    stamps = {model: dict(model.objects.values_list("pk", "updated_at")) for model in (Company, Line)}

    # A handful of queries per company (71 today: one of them the billed
    # months of billing.demo, three the demo traffic's lines and its import's
    # savepoint, two the fair-use periods checked and the measure's finding,
    # 26 the procedures' requests and orders looked up by company and kind),
    # not one per line or user (83 rows) or per traffic record.
    with django_assert_max_num_queries(72):
        second = seed()

    assert row_counts() == before
    assert {model: dict(model.objects.values_list("pk", "updated_at")) for model in (Company, Line)} == stamps
    assert "Demo data: 0 records added, 0 updated" in second


def test_seed_demo_prints_every_demo_login_with_its_role_and_company_every_time() -> None:
    seed()

    second = seed()

    assert f"password for all: {DEMO_PASSWORD}" in second
    assert f"operator staff, at /admin/: {STAFF_EMAIL}" in second
    memberships = demo_memberships()
    assert len(memberships) >= 15
    for membership in memberships:
        company_header = second.index(f"  {membership.company.name} ({membership.company.vat_number}):")
        login = re.compile(rf"^    {membership.role} +{re.escape(membership.user.email)} ", re.MULTILINE)
        assert [m.start() for m in login.finditer(second) if m.start() > company_header], membership


def test_every_role_is_in_at_least_two_demo_companies() -> None:
    seed()

    companies_by_role = defaultdict(set)
    for membership in demo_memberships():
        companies_by_role[membership.role].add(membership.company_id)

    assert {role: len(companies) >= 2 for role, companies in companies_by_role.items()} == {
        Role.LINE_USER: True,
        Role.ADMIN: True,
        Role.LEGAL_REP: True,
    }


def test_a_demo_consultant_administers_two_companies() -> None:
    seed()

    per_user = defaultdict(list)
    for membership in demo_memberships():
        per_user[membership.user.email].append(membership.role)

    assert any(roles.count(Role.ADMIN) >= 2 for roles in per_user.values())


def test_every_demo_company_passes_the_validators() -> None:
    seed()

    companies = list(Company.objects.all())
    assert 2 <= len(companies) <= 3
    for company in companies:
        validate_vat_number(company.vat_number)
        validate_tax_code(company.tax_code)
        validate_recipient_code(company.recipient_code)
        validate_email(company.pec)
        company.full_clean()
        assert company.registered_office


def test_every_demo_line_is_valid_and_the_mix_is_realistic() -> None:
    seed()

    lines = list(Line.objects.select_related("offer", "assigned_to"))
    for line in lines:
        line.full_clean()
        validate_e164_number(line.number)
        number_type = phonenumbers.number_type(phonenumbers.parse(line.number))
        if line.kind == LineKind.MOBILE:
            assert line.number.startswith("+393"), line
            assert number_type == phonenumbers.PhoneNumberType.MOBILE, line
            assert line.sim in SimKind.values, line
            validate_iccid(line.iccid)
            assert luhn.is_valid(line.iccid)
        else:
            assert line.number.startswith(("+3902", "+3906", "+39045")), line
            assert number_type == phonenumbers.PhoneNumberType.FIXED_LINE, line
            assert (line.sim, line.iccid) == ("", ""), line
    iccids = [line.iccid for line in lines if line.iccid]
    assert len(iccids) == len(set(iccids))
    per_company: dict[int, int] = defaultdict(int)
    for line in lines:
        per_company[line.company_id] += 1
    assert all(10 <= count <= 30 for count in per_company.values()), per_company
    assert {line.sim for line in lines} == {"physical", "esim", ""}
    assert [line.status for line in lines].count(LineStatus.CEASED) == 1
    assert all(line.cost_centre for line in lines)
    assigned_roles = {line.assigned_to.role for line in lines if line.assigned_to}
    assert Role.LINE_USER in assigned_roles
    offers = list(Offer.objects.all())
    assert {offer.payment for offer in offers} == {Payment.POSTPAID, Payment.PREPAID}
    assert {offer.unlimited_data for offer in offers} == {True, False}
    assert {offer.unlimited_voice_sms for offer in offers} == {True, False}


def test_demo_users_log_in_with_the_demo_password() -> None:
    seed()

    users = {membership.user for membership in demo_memberships()} | {User.objects.get(email=STAFF_EMAIL)}

    assert all(user.check_password(DEMO_PASSWORD) for user in users)


def test_a_demo_password_changed_since_is_left_alone() -> None:
    seed()
    user = User.objects.get(email="luca.bianchi@ferretti.example")
    user.set_password("una-password-nuova-1")
    user.save()

    seed()

    user.refresh_from_db()
    assert user.check_password("una-password-nuova-1")


@pytest.mark.usefixtures("frozen_clock")
def test_the_demo_admins_and_legal_reps_pass_two_factor_with_the_printed_secret() -> None:
    output = seed()
    match = re.search(r"TOTP secret for an authenticator app.*: ([A-Z2-7]+)$", output, re.MULTILINE)
    assert match is not None, output
    printed_secret = match.group(1)
    assert "python manage.py demo_totp" in output

    code = current_code()

    # allauth's own check, with nothing of the portal in between.
    assert validate_totp_code(printed_secret, code)
    needing_two_factor = {
        membership.user
        for membership in demo_memberships()
        if membership.role in (Role.ADMIN, Role.LEGAL_REP)
    } | {User.objects.get(email=STAFF_EMAIL)}
    assert len(needing_two_factor) >= 5
    for user in needing_two_factor:
        totp = Authenticator.objects.get(user=user, type=Authenticator.Type.TOTP)
        assert printed_secret not in str(totp.data), "the TOTP secret is stored encrypted"
        assert TOTP(totp).validate_code(code), user
        assert Authenticator.objects.filter(user=user, type=Authenticator.Type.RECOVERY_CODES).exists()


def test_demo_line_users_have_no_second_factor() -> None:
    seed()

    line_users = [m.user for m in demo_memberships() if m.role == Role.LINE_USER]

    assert not Authenticator.objects.filter(user__in=line_users).exists()


@pytest.mark.usefixtures("frozen_clock")
def test_a_demo_admin_logs_in_with_the_demo_password_and_the_current_code(client: Client) -> None:
    seed()
    admin = next(m.user for m in demo_memberships() if m.role == Role.ADMIN)

    password_step = client.post(reverse("account_login"), {"login": admin.email, "password": DEMO_PASSWORD})
    code_step = client.post(reverse("mfa_authenticate"), {"code": current_code()})

    assert password_step.status_code == 302
    assert password_step["Location"] == reverse("mfa_authenticate")
    assert code_step.status_code == 302
    assert client.session["_auth_user_id"] == str(admin.pk)


def test_seed_demo_refuses_to_run_in_production(settings: Any) -> None:
    settings.PRODUCTION = True

    with pytest.raises(CommandError, match="published password"):
        seed()

    assert not User.objects.exists()


def test_seed_demo_runs_twice_on_the_embedded_sqlite_database_of_make_run(tmp_path: Path) -> None:
    def embedded(*args: str) -> subprocess.CompletedProcess[str]:
        return manage(*args, env=in_embedded_mode(tmp_path), unset=SERVER_SETTINGS, timeout=300)

    steps = [embedded("migrate", "--noinput"), embedded("seed_demo"), embedded("seed_demo")]

    assert [step.returncode for step in steps] == [0, 0, 0], [step.stderr for step in steps]
    assert "Demo data: 0 records added, 0 updated" in steps[2].stdout
    assert "marta.ferretti@ferretti.example" in steps[2].stdout


def test_seed_demo_bills_the_last_twelve_months_of_every_demo_company_once() -> None:
    from django.utils import timezone
    from schwifty import IBAN

    from billing.demo import demo_billing_months
    from billing.models import BillingRun, Invoice, InvoiceStatus, PaymentMethod, PaymentMethodKind

    seed()
    invoices_before = list(Invoice.objects.order_by("pk").values("pk", "status", "number"))
    seed()

    assert list(Invoice.objects.order_by("pk").values("pk", "status", "number")) == invoices_before
    months = demo_billing_months(today=timezone.localdate())
    assert BillingRun.objects.count() == 12
    companies = list(Company.objects.all())
    for company in companies:
        invoices = list(company.invoices.order_by("period_start"))
        assert [invoice.period_start for invoice in invoices] == months, company
        # Issued on the first of the following month, numbers going up with the dates.
        assert all(invoice.issued_on == (invoice.period_end + timedelta(days=1)) for invoice in invoices)
        assert invoices[-1].status == InvoiceStatus.ISSUED
        assert {invoice.status for invoice in invoices[:-2]} == {InvoiceStatus.PAID}
    statuses = [invoice.status for invoice in Invoice.objects.all()]
    assert statuses.count(InvoiceStatus.EXPIRED) == 1
    expired = Invoice.objects.get(status=InvoiceStatus.EXPIRED)
    assert expired.due_on < timezone.localdate()
    sepa = PaymentMethod.objects.get(kind=PaymentMethodKind.SEPA_DIRECT_DEBIT)
    assert IBAN(sepa.iban).country_code == "IT"
    assert set(sepa.company.invoices.values_list("payment_method", flat=True)) == {
        PaymentMethodKind.SEPA_DIRECT_DEBIT
    }
    numbers = list(Invoice.objects.order_by("issued_on", "company_id").values_list("year", "sequence_number"))
    assert numbers == sorted(numbers)


def test_the_electronic_invoice_of_every_demo_invoice_has_the_invoices_amounts() -> None:
    from billing.fatturapa import fatturapa_xml
    from billing.models import Invoice
    from tests.billing.test_fatturapa import assert_xml_matches

    seed()
    invoices = list(Invoice.objects.select_related("company"))

    assert invoices
    for invoice in invoices:
        assert_xml_matches(invoice, fatturapa_xml(invoice=invoice))


def test_seed_demo_imports_ninety_days_of_traffic_of_every_kind_once() -> None:
    from django.db.models import Count, Sum
    from django.utils import timezone

    from billing.demo_traffic import HEAVY_CALLER, HEAVY_DATA
    from billing.models import ExtraCharge, TrafficDailyTotal, TrafficRecord, TrafficRecordId

    first = seed()
    records = TrafficRecord.objects.count()
    second = seed()

    assert f"Demo traffic: {records} records added, 0 already there" in first
    assert f"Demo traffic: 0 records added, {records} already there" in second
    assert TrafficRecord.objects.count() == TrafficRecordId.objects.count() == records
    assert 3_000 <= records <= 10_000
    today = timezone.localdate()
    days = set(TrafficRecord.objects.values_list("day", flat=True))
    assert days == {today - timedelta(days=offset) for offset in range(1, 91)}
    # Every line in service had traffic: the active ones, and the one the demo theft report blocked since.
    in_service = Line.objects.exclude(status=LineStatus.CEASED)
    assert in_service.filter(status=LineStatus.BLOCKED).count() == 1
    assert set(TrafficRecord.objects.values_list("line_id", flat=True)) == set(
        in_service.values_list("pk", flat=True)
    )
    assert not TrafficRecord.objects.filter(line__status=LineStatus.CEASED).exists()
    # The months the traffic covers are billed with their roaming, as beat does before each run.
    assert ExtraCharge.objects.filter(roaming_month__isnull=False, billed_on_invoice__isnull=False).exists()
    assert {
        (service, direction)
        for service, direction in TrafficRecord.objects.values_list("service", "direction")
    } >= {
        ("voice", "out"),
        ("voice", "in"),
        ("sms", "out"),
        ("sms", "in"),
        ("mms", "out"),
        ("data", "out"),
    }
    assert set(TrafficRecord.objects.values_list("other_network", flat=True)) == {
        "",
        "mobile",
        "fixed",
        "international",
        "special",
    }
    countries = set(TrafficRecord.objects.values_list("country", flat=True))
    assert {"IT", "CH", "US"} <= countries
    assert len(countries & {"FR", "DE", "AT", "ES", "BE", "NL", "SI"}) >= 3
    assert TrafficRecord.objects.filter(topup=True).exclude(line__offer__payment="prepaid").count() == 0
    assert TrafficRecord.objects.filter(topup=True).exists()
    # The heavy users the fair-use checks should find.
    per_line = dict(
        TrafficRecord.objects.values("line__number")
        .annotate(n=Count("id"), volume=Sum("volume_bytes"))
        .values_list("line__number", "volume")
    )
    assert per_line[HEAVY_DATA] > 10 * sorted(per_line.values())[len(per_line) // 2]
    long_days = (
        TrafficDailyTotal.objects.filter(line__number=HEAVY_CALLER, service="voice", direction="out")
        .values("day")
        .annotate(seconds=Sum("duration_s"))
        .filter(seconds__gt=160 * 60)
    )
    assert long_days.count() >= 5


def test_seed_demo_finds_the_heavy_lines_fair_use_breaches_and_shows_a_measure_once() -> None:
    from billing.demo_traffic import HEAVY_CALLER, HEAVY_DATA, HEAVY_TOPUP
    from billing.models import FairUseFinding, FairUseFindingStatus, FairUseMeasure

    seed()
    findings = set(FairUseFinding.objects.values_list("line__number", "rule__code").distinct())
    measures = list(FairUseMeasure.objects.values_list("line__number", "kind", "created_by__email"))
    seed()

    assert {(HEAVY_CALLER, "1"), (HEAVY_TOPUP, "6"), (HEAVY_DATA, "D1")} <= findings
    # Rules 1-7 warn by themselves; D1 waits for staff, who limited the speed.
    warned = FairUseFinding.objects.filter(
        rule__code__in=["1", "6"], line__number__in=[HEAVY_CALLER, HEAVY_TOPUP]
    )
    assert not warned.exclude(status=FairUseFindingStatus.WARNED).exists()
    assert (HEAVY_DATA, "speed_limit", STAFF_EMAIL) in measures
    # A second seed adds no finding and takes no measure again.
    assert set(FairUseFinding.objects.values_list("line__number", "rule__code").distinct()) == findings
    assert FairUseMeasure.objects.count() == len(measures)
