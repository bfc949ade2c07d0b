"""The monthly billing run: what it bills, its numbering, and that it never bills a month twice."""

from __future__ import annotations

import json
import threading
from datetime import date, timedelta
from decimal import Decimal
from io import StringIO
from typing import Any

import psycopg
import pytest
from django.core.management import call_command
from django.db import connection, transaction
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from billing.models import (
    BillingRun,
    BillingRunChunk,
    BillingRunStatus,
    ExtraCharge,
    ExtraChargeKind,
    Invoice,
    InvoiceLine,
    InvoiceLineKind,
    PaymentMethod,
    PaymentMethodKind,
)
from billing.services import billing_run_month
from billing.tasks import billing_run
from selfcare.models import Company, Line, LineKind, LineStatus
from selfcare.models import Payment as OfferPayment
from tests.cast import Cast
from tests.factories import CompanyFactory, LineFactory, OfferFactory
from tests.worker import WorkerProcess, database_url_of_test_database, wait_until

D = Decimal
YEAR, MONTH = 2026, 10  # October: 31 days
OCTOBER_1 = date(2026, 10, 1)


def company_with_lines(count: int = 1, *, fee: str = "10.00", **line_fields: Any) -> Company:
    company = CompanyFactory.create()
    add_lines(company, count, fee=fee, **line_fields)
    return company


def add_lines(company: Company, count: int = 1, *, fee: str = "10.00", **line_fields: Any) -> list[Line]:
    payment = line_fields.pop("payment", OfferPayment.POSTPAID)
    offer = OfferFactory.create(code=f"T-{payment}-{fee}", monthly_fee=D(fee), payment=payment)
    fields = {"activated_on": date(2025, 1, 1), **line_fields}
    return [LineFactory.create(company=company, offer=offer, **fields) for _ in range(count)]


def amounts(invoice: Invoice) -> tuple[Decimal, ...]:
    return (invoice.taxable, invoice.vat, invoice.concession_fee, invoice.stamp_duty, invoice.total)


def the_invoice_of(company: Company) -> Invoice:
    return Invoice.objects.get(company=company, period_start=OCTOBER_1)


@pytest.mark.django_db
class TestWhatAnInvoiceHolds:
    def test_seven_postpaid_mobile_lines_at_ten_euros(self) -> None:
        company = company_with_lines(7)

        billing_run_month(year=YEAR, month=MONTH)

        invoice = the_invoice_of(company)
        assert amounts(invoice) == (D("70.00"), D("15.40"), D("90.37"), D("2.00"), D("177.77"))
        assert invoice.period_end == date(2026, 10, 31)
        assert invoice.issued_on == timezone.localdate()
        assert invoice.vat_rate == D("22.00")
        assert invoice.lines.filter(kind=InvoiceLineKind.FEE).count() == 7
        assert invoice.lines.filter(kind=InvoiceLineKind.CONCESSION_FEE, vat_applicable=False).count() == 7
        assert "bollo" in invoice.exemption_notes

    def test_six_such_lines_carry_no_stamp_duty(self) -> None:
        company = company_with_lines(6)

        billing_run_month(year=YEAR, month=MONTH)

        assert amounts(the_invoice_of(company)) == (
            D("60.00"),
            D("13.20"),
            D("77.46"),
            D("0.00"),
            D("150.66"),
        )

    def test_lines_activated_or_ceased_mid_month_pay_their_days_and_a_whole_concession_fee(self) -> None:
        company = CompanyFactory.create()
        (activated,) = add_lines(company, activated_on=date(2026, 10, 16))
        (ceased,) = add_lines(
            company, activated_on=date(2025, 1, 1), ceased_on=date(2026, 10, 10), status=LineStatus.CEASED
        )

        billing_run_month(year=YEAR, month=MONTH)

        invoice = the_invoice_of(company)
        fees = {line.line_id: line for line in invoice.lines.filter(kind=InvoiceLineKind.FEE)}
        # 10.00 x 16 / 31 = 5.161… → 5.16; 10.00 x 10 / 31 = 3.225… → 3.23
        assert (fees[activated.pk].days, fees[activated.pk].amount) == (16, D("5.16"))
        assert (fees[ceased.pk].days, fees[ceased.pk].amount) == (10, D("3.23"))
        assert invoice.concession_fee == D("25.82")
        assert invoice.taxable == D("8.39")
        # 8.39 x 22% = 1.8458 → 1.85
        assert invoice.vat == D("1.85")

    def test_lines_outside_the_month_are_not_billed(self) -> None:
        company = CompanyFactory.create()
        add_lines(company, activated_on=date(2026, 11, 1))
        add_lines(company, ceased_on=date(2026, 9, 30), status=LineStatus.CEASED)
        billed = add_lines(company)

        billing_run_month(year=YEAR, month=MONTH)

        assert set(the_invoice_of(company).lines.values_list("line_id", flat=True)) == {billed[0].pk}

    def test_blocked_and_suspended_lines_are_still_billed_with_their_concession_fee(self) -> None:
        company = CompanyFactory.create()
        add_lines(company, status=LineStatus.BLOCKED)
        add_lines(company, status=LineStatus.SUSPENDED)

        billing_run_month(year=YEAR, month=MONTH)

        assert amounts(the_invoice_of(company))[:3] == (D("20.00"), D("4.40"), D("25.82"))

    def test_prepaid_lines_are_not_invoiced(self) -> None:
        prepaid_only = company_with_lines(3, payment=OfferPayment.PREPAID)
        mixed = company_with_lines(1)
        add_lines(mixed, 2, payment=OfferPayment.PREPAID)

        billing_run_month(year=YEAR, month=MONTH)

        assert not Invoice.objects.filter(company=prepaid_only).exists()
        assert the_invoice_of(mixed).lines.filter(kind=InvoiceLineKind.FEE).count() == 1

    def test_fixed_lines_are_billed_without_a_concession_fee(self) -> None:
        company = company_with_lines(2, kind=LineKind.FIXED, sim="", iccid="")

        billing_run_month(year=YEAR, month=MONTH)

        assert amounts(the_invoice_of(company)) == (D("20.00"), D("4.40"), D("0.00"), D("0.00"), D("24.40"))

    def test_vat_is_computed_once_on_the_taxable_total(self) -> None:
        # Three fixed lines at 0.03: 0.0066 of VAT each would round to 0.01,
        # 0.03 in all; on the taxable total 0.09 it is 0.0198 → 0.02.
        company = company_with_lines(3, fee="0.03", kind=LineKind.FIXED, sim="", iccid="")

        billing_run_month(year=YEAR, month=MONTH)

        invoice = the_invoice_of(company)
        assert (invoice.taxable, invoice.vat, invoice.total) == (D("0.09"), D("0.02"), D("0.11"))

    def test_lines_keep_their_sim_and_cost_centre(self) -> None:
        company = CompanyFactory.create()
        (line,) = add_lines(company, cost_centre="Cantieri")

        billing_run_month(year=YEAR, month=MONTH)

        fee = the_invoice_of(company).lines.get(kind=InvoiceLineKind.FEE)
        assert (fee.line_id, fee.cost_centre, fee.unit_amount, fee.amount) == (
            line.pk,
            "Cantieri",
            D("10.0000"),
            D("10.00"),
        )
        assert line.number in fee.description

    def test_charges_and_credits_of_other_features_go_on_the_invoice_once(self) -> None:
        company = company_with_lines(1)
        line = company.lines.get()
        charge = ExtraCharge.objects.create(
            company=company,
            line=line,
            period_start=OCTOBER_1,
            kind=ExtraChargeKind.CHARGE,
            description="Replacement SIM",
            amount=D("5.00"),
        )
        credit = ExtraCharge.objects.create(
            company=company,
            period_start=OCTOBER_1,
            kind=ExtraChargeKind.CREDIT,
            description="Late activation compensation",
            amount=D("-3.00"),
            vat_applicable=False,
        )
        later = ExtraCharge.objects.create(
            company=company,
            period_start=date(2026, 11, 1),
            kind=ExtraChargeKind.CHARGE,
            description="Next month's",
            amount=D("1.00"),
        )

        billing_run_month(year=YEAR, month=MONTH)
        billing_run_month(year=YEAR, month=MONTH)

        invoice = the_invoice_of(company)
        assert (invoice.taxable, invoice.vat, invoice.untaxed, invoice.concession_fee) == (
            D("15.00"),
            D("3.30"),
            D("-3.00"),
            D("12.91"),
        )
        assert invoice.total == D("28.21")
        charge.refresh_from_db()
        credit.refresh_from_db()
        later.refresh_from_db()
        assert (charge.billed_on_invoice, credit.billed_on_invoice, later.billed_on_invoice) == (
            invoice,
            invoice,
            None,
        )
        assert invoice.lines.get(kind=InvoiceLineKind.CHARGE).cost_centre == line.cost_centre


@pytest.mark.django_db
class TestNumberingAndRuns:
    def test_numbers_follow_one_another_across_companies_and_skip_those_with_nothing_to_bill(
        self, settings: Any
    ) -> None:
        settings.BILLING_CHUNK_SIZE = 2
        first = company_with_lines(1)
        CompanyFactory.create()  # no lines
        second = company_with_lines(2)
        third = company_with_lines(1)

        run = billing_run_month(year=YEAR, month=MONTH)

        year = timezone.localdate().year
        assert [the_invoice_of(c).number for c in (first, second, third)] == [
            f"{year}/000001",
            f"{year}/000002",
            f"{year}/000003",
        ]
        assert (run.status, run.chunks_total, run.chunks_done, run.invoices_created) == (
            BillingRunStatus.DONE,
            2,
            2,
            3,
        )

    def test_a_second_run_of_the_month_bills_nothing_new_and_changes_no_invoice(self) -> None:
        company_with_lines(7)
        company_with_lines(1)
        billing_run_month(year=YEAR, month=MONTH)
        before = list(Invoice.objects.order_by("pk").values())

        again = billing_run_month(year=YEAR, month=MONTH)

        assert again.status == BillingRunStatus.DONE
        assert again.invoices_created == 0
        assert list(Invoice.objects.order_by("pk").values()) == before

    def test_a_second_run_bills_a_company_that_had_nothing_the_first_time(self) -> None:
        billed = company_with_lines(1)
        billing_run_month(year=YEAR, month=MONTH)
        late = company_with_lines(1)

        billing_run_month(year=YEAR, month=MONTH)

        assert the_invoice_of(billed).sequence_number == 1
        assert the_invoice_of(late).sequence_number == 2

    def test_the_next_month_has_its_own_invoices_with_the_next_numbers(self) -> None:
        company = company_with_lines(1)

        billing_run_month(year=YEAR, month=MONTH)
        billing_run_month(year=YEAR, month=MONTH + 1)

        assert list(company.invoices.order_by("period_start").values_list("sequence_number", flat=True)) == [
            1,
            2,
        ]


@pytest.mark.django_db
def test_invoices_are_seen_only_by_their_companys_admins_and_legal_reps(cast: Cast) -> None:
    for line in Line.objects.all():
        line.activated_on = date(2025, 1, 1)
        line.save()
    billing_run_month(year=YEAR, month=MONTH)
    rossi = Invoice.objects.get(company=cast.rossi)

    assert list(Invoice.objects.visible_to(cast.rossi_legal_rep)) == [rossi]
    assert list(Invoice.objects.visible_to(cast.rossi_admin)) == [rossi]
    assert list(Invoice.objects.visible_to(cast.rossi_line_user)) == []


@pytest.mark.django_db
def test_run_billing_prints_the_months_invoices_as_json_and_a_second_run_reports_the_same() -> None:
    company = company_with_lines(7)
    company_with_lines(6)

    first = StringIO()
    call_command("run_billing", "--month", "2026-10", "--json", stdout=first)
    second = StringIO()
    call_command("run_billing", "--month", "2026-10", "--json", stdout=second)

    report = json.loads(first.getvalue().strip().splitlines()[-1])
    year = timezone.localdate().year
    assert report["invoices"][0] == {
        "company": company.vat_number,
        "number": f"{year}/000001",
        "taxable": "70.00",
        "vat": "15.40",
        "concession_fee": "90.37",
        "stamp_duty": "2.00",
        "total": "177.77",
    }
    assert report["invoices"][1]["stamp_duty"] == "0.00"
    assert json.loads(second.getvalue().strip().splitlines()[-1]) == report
    assert Invoice.objects.count() == 2


@pytest.mark.django_db
def test_run_billing_refuses_a_malformed_month() -> None:
    from django.core.management.base import CommandError

    with pytest.raises(CommandError, match="YYYY-MM"):
        call_command("run_billing", "--month", "2026-13")
    assert not BillingRun.objects.exists()


def test_two_runs_started_at_once_bill_each_company_once_with_gapless_numbers(
    transactional_db: None, settings: Any
) -> None:
    settings.BILLING_CHUNK_SIZE = 1
    companies = [company_with_lines(1) for _ in range(20)]
    start = threading.Barrier(2)
    errors: list[BaseException] = []

    def run() -> None:
        try:
            start.wait()
            billing_run_month(year=YEAR, month=MONTH)
        except BaseException as error:
            errors.append(error)
        finally:
            connection.close()

    threads = [threading.Thread(target=run) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)

    assert errors == []
    invoices = list(Invoice.objects.order_by("sequence_number"))
    assert [invoice.sequence_number for invoice in invoices] == list(range(1, 21))
    assert sorted(invoice.company_id for invoice in invoices) == sorted(c.pk for c in companies)
    assert BillingRun.objects.get().status == BillingRunStatus.DONE


def _waiting_on_a_lock() -> bool:
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() "
            "AND wait_event_type = 'Lock' AND pid <> pg_backend_pid()"
        )
        (waiting,) = cursor.fetchone()
    return bool(waiting)


def invoices_as_billed() -> list[dict[str, Any]]:
    """Every invoice with its lines, in number order, as a run wrote them: all but ids and timestamps."""
    skip = {"id", "billing_run", "created_at", "sdi_updated_at"}
    fields = [f.attname for f in Invoice._meta.concrete_fields if f.name not in skip]
    line_fields = [f.attname for f in InvoiceLine._meta.concrete_fields if f.name not in {"id", "invoice"}]
    invoices = list(Invoice.objects.order_by("sequence_number").values("pk", *fields))
    lines: dict[int, list[dict[str, Any]]] = {}
    for line in InvoiceLine.objects.order_by("invoice_id", "position").values("invoice_id", *line_fields):
        lines.setdefault(line.pop("invoice_id"), []).append(line)
    for invoice in invoices:
        invoice["lines"] = lines.get(invoice.pop("pk"), [])
    return invoices


def billed_without_a_kill() -> list[dict[str, Any]]:
    """What an uninterrupted run makes of the data as it is now; rolled back, so the data stays unbilled."""
    with transaction.atomic():
        billing_run_month(year=YEAR, month=MONTH)
        reference = invoices_as_billed()
        transaction.set_rollback(True)
    assert not Invoice.objects.exists()
    return reference


@pytest.mark.worker
def test_a_run_killed_mid_chunk_resumes_and_makes_the_same_invoices(transactional_db: None) -> None:
    # Companies that differ (lines, fees, a line started mid-month): a company's
    # invoice billed twice, or another's lines, would not look the same.
    fees = ("10.00", "25.50", "7.99")
    companies = [
        company_with_lines(
            1 + n % 3, fee=fees[n % 3], **({"activated_on": date(2026, 10, 15)} if n % 4 == 3 else {})
        )
        for n in range(100)
    ]
    reference = billed_without_a_kill()
    year = timezone.localdate().year
    one_chunk_per_company = {"BILLING_CHUNK_SIZE": "1"}

    with WorkerProcess(extra_env=one_chunk_per_company) as worker:
        billing_run.delay(YEAR, MONTH)
        wait_until(lambda: BillingRun.objects.filter(chunks_done__gte=3).exists(), interval=0.01)
        # Hold the numbering: the worker stops inside its next chunk's
        # transaction, waiting, and is killed there.
        with psycopg.connect(database_url_of_test_database()) as holder:
            holder.execute(
                "SELECT last_number FROM billing_invoicesequence WHERE kind = 'invoice' AND year = %s FOR UPDATE",
                [year],
            )
            wait_until(_waiting_on_a_lock)
            worker.kill()
            holder.rollback()

    run = BillingRun.objects.get()
    done = run.chunks_done
    assert 3 <= done < 100
    assert run.status == BillingRunStatus.RUNNING
    assert BillingRunChunk.objects.filter(run=run, status="pending").count() == 100 - done
    assert sorted(Invoice.objects.values_list("sequence_number", flat=True)) == list(range(1, done + 1))

    with WorkerProcess(extra_env=one_chunk_per_company):
        billing_run.delay(YEAR, MONTH)
        wait_until(lambda: BillingRun.objects.filter(status=BillingRunStatus.DONE).exists())

    assert BillingRun.objects.get().pk == run.pk
    # The same invoices, numbers, amounts and lines as the run that was not killed:
    # nothing missing, nothing billed twice.
    assert invoices_as_billed() == reference
    assert [invoice["company_id"] for invoice in reference] == [company.pk for company in companies]
    assert [invoice["sequence_number"] for invoice in reference] == list(range(1, 101))


@pytest.mark.django_db
def test_staff_see_invoices_and_runs_in_the_admin_and_cannot_change_them(client: Any) -> None:
    from django.urls import reverse

    from tests.factories import UserFactory, give_totp

    company_with_lines(2)
    run = billing_run_month(year=YEAR, month=MONTH)
    invoice = Invoice.objects.get()
    staff = UserFactory.create(email="capo@operatore.example.it", is_staff=True, is_superuser=True)
    give_totp(staff)
    client.force_login(staff)

    for name, pk in (("invoice", invoice.pk), ("billingrun", run.pk)):
        assert client.get(reverse(f"admin:billing_{name}_changelist")).status_code == 200
        page = client.get(reverse(f"admin:billing_{name}_change", args=[pk]))
        assert page.status_code == 200
        assert b'name="_save"' not in page.content


def test_beat_bills_the_previous_month_on_the_first_at_three_in_rome(settings: Any) -> None:
    entry = settings.CELERY_BEAT_SCHEDULE["billing-run-monthly"]

    assert entry["task"] == billing_run.name
    schedule = entry["schedule"]
    assert (schedule.minute, schedule.hour, schedule.day_of_month) == ({0}, {3}, {1})
    assert settings.CELERY_TIMEZONE == "Europe/Rome"


def test_the_task_bills_the_previous_month_by_default(monkeypatch: pytest.MonkeyPatch) -> None:
    import billing.tasks

    calls: list[tuple[int, int]] = []
    monkeypatch.setattr(timezone, "localdate", lambda *args: date(2027, 1, 1))
    monkeypatch.setattr(
        billing.tasks, "billing_run_month", lambda *, year, month: calls.append((year, month))
    )

    billing_run.apply()

    assert calls == [(2026, 12)]


def sepa_method(
    company: Company, *, iban: str = "IT60X0542811101000000123456", mandate: str = "MND-1"
) -> PaymentMethod:
    return PaymentMethod.objects.create(
        company=company,
        kind=PaymentMethodKind.SEPA_DIRECT_DEBIT,
        iban=iban,
        iban_last4=iban[-4:],
        account_holder=company.name,
        holder_tax_id=company.tax_code,
        mandate_reference=mandate,
        mandate_signed_on=date(2026, 1, 15),
    )


@pytest.mark.django_db
class TestPaymentMethodOnInvoices:
    def test_an_invoice_carries_the_companys_current_method_masked(self) -> None:
        company = company_with_lines(1)
        sepa_method(company)

        billing_run_month(year=YEAR, month=MONTH)

        invoice = the_invoice_of(company)
        assert invoice.payment_method == PaymentMethodKind.SEPA_DIRECT_DEBIT
        assert invoice.payment_details == "IBAN IT** **** **** 3456, mandato SEPA MND-1 del 15/01/2026"
        assert "0542811101" not in invoice.payment_details

    def test_a_company_with_no_method_pays_by_bank_transfer(self) -> None:
        company = company_with_lines(1)

        billing_run_month(year=YEAR, month=MONTH)

        invoice = the_invoice_of(company)
        assert (invoice.payment_method, invoice.payment_details) == (PaymentMethodKind.BANK_TRANSFER, "")

    def test_a_change_after_an_invoice_leaves_it_unchanged_and_goes_on_the_next(self) -> None:
        company = company_with_lines(1)
        first = sepa_method(company)
        billing_run_month(year=YEAR, month=MONTH)
        PaymentMethod.objects.filter(pk=first.pk).update(superseded_at=timezone.now())
        PaymentMethod.objects.create(
            company=company,
            kind=PaymentMethodKind.CARD,
            card_token="tok_demo",
            card_brand="Visa",
            card_last4="4242",
            card_expiry_month=12,
            card_expiry_year=2030,
        )

        billing_run_month(year=YEAR, month=MONTH + 1)

        october, november = company.invoices.order_by("period_start")
        assert (october.payment_method, october.payment_details) == (
            PaymentMethodKind.SEPA_DIRECT_DEBIT,
            "IBAN IT** **** **** 3456, mandato SEPA MND-1 del 15/01/2026",
        )
        assert (november.payment_method, november.payment_details) == (
            PaymentMethodKind.CARD,
            "Visa **** 4242",
        )


@pytest.mark.django_db
class TestIssueDate:
    def test_a_past_month_is_issued_on_the_date_given_and_due_thirty_days_later(self) -> None:
        company = company_with_lines(1)

        billing_run_month(year=YEAR, month=MONTH, issued_on=date(2026, 11, 1))

        invoice = the_invoice_of(company)
        assert (invoice.issued_on, invoice.due_on, invoice.number) == (
            date(2026, 11, 1),
            date(2026, 12, 1),
            "2026/000001",
        )

    def test_by_default_an_invoice_is_issued_today_in_rome(self) -> None:
        company = company_with_lines(1)

        billing_run_month(year=YEAR, month=MONTH)

        invoice = the_invoice_of(company)
        assert invoice.issued_on == timezone.localdate()
        assert invoice.due_on == timezone.localdate() + timedelta(days=30)

    def test_numbering_follows_the_year_of_issue(self) -> None:
        company = company_with_lines(1)

        billing_run_month(year=2026, month=11, issued_on=date(2026, 12, 1))
        billing_run_month(year=2026, month=12, issued_on=date(2027, 1, 1))
        billing_run_month(year=2027, month=1, issued_on=date(2027, 2, 1))

        assert list(company.invoices.order_by("period_start").values_list("number", "year")) == [
            ("2026/000001", 2026),
            ("2027/000001", 2027),
            ("2027/000002", 2027),
        ]

    def test_an_issue_date_before_the_last_invoice_of_its_year_is_refused_and_nothing_is_written(
        self,
    ) -> None:
        company_with_lines(1)
        billing_run_month(year=2026, month=10, issued_on=date(2026, 11, 20))
        company_with_lines(1)

        with pytest.raises(ValueError, match="dated"):
            billing_run_month(year=2026, month=11, issued_on=date(2026, 11, 19))

        assert Invoice.objects.count() == 1


@pytest.mark.django_db
def test_the_run_makes_the_same_number_of_queries_whatever_the_number_of_invoices_and_charges() -> None:
    def queries_of_run(month: int) -> int:
        with CaptureQueriesContext(connection) as queries:
            billing_run_month(year=YEAR, month=month)
        return len(queries)

    def with_charge(company: Company, month: int) -> None:
        ExtraCharge.objects.create(
            company=company,
            period_start=date(YEAR, month, 1),
            kind=ExtraChargeKind.CHARGE,
            description="Replacement SIM",
            amount=D("5.00"),
        )

    companies = [company_with_lines(1)]
    sepa_method(companies[0])
    with_charge(companies[0], 9)
    few = queries_of_run(9)
    companies += [company_with_lines(2) for _ in range(5)]
    for number, company in enumerate(companies):
        with_charge(company, 10)
        if number:
            sepa_method(company, mandate=f"MND-{number}")
    many = queries_of_run(10)

    assert many == few
    assert ExtraCharge.objects.filter(billed_on_invoice__isnull=True).count() == 0
    assert all(
        charge.billed_on_invoice is not None
        and charge.billed_on_invoice.company_id == charge.company_id
        and charge.billed_on_invoice.period_start == charge.period_start
        for charge in ExtraCharge.objects.select_related("billed_on_invoice")
    )
