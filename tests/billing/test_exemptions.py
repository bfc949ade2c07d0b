"""Approved tax exemptions applied by the billing run, within their validity; recorded and approved in the admin."""

from __future__ import annotations

import threading
from collections.abc import Callable
from datetime import date
from decimal import Decimal
from typing import Any

import pytest
from auditlog.models import LogEntry
from django.contrib.auth.models import Group
from django.core.exceptions import ValidationError
from django.db import connection
from django.db.models import Sum
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from billing.models import Invoice, InvoiceKind, InvoiceLineKind, TaxExemption, TaxExemptionKind
from billing.selectors import tax_profile_for
from billing.services import billing_run_month, tax_exemption_approve
from billing.taxes import DEFAULT_PROFILE, Month
from selfcare.models import Company
from tests.billing.test_billing_run import MONTH, YEAR, company_with_lines, the_invoice_of
from tests.cast import Cast
from tests.factories import CompanyFactory, UserFactory, give_totp

D = Decimal
# October 2026: the reading is "valid on the last day of the month billed".
LAST_DAY = date(2026, 10, 31)

LEGAL = {
    TaxExemptionKind.VAT_EXEMPT: "Esente art. 10 DPR 633/1972",
    TaxExemptionKind.VAT_NON_TAXABLE: "Non imponibile art. 8 c.1 lett. c DPR 633/1972",
    TaxExemptionKind.LETTER_OF_INTENT: "Non imponibile art. 8 c.1 lett. c DPR 633/1972",
    TaxExemptionKind.SPLIT_PAYMENT: "",
    TaxExemptionKind.CONCESSION_FEE: "Esente tassa di concessione governativa",
    TaxExemptionKind.STAMP_DUTY: "Esente da bollo, allegato B DPR 642/1972",
}


def exemption(
    company: Company,
    kind: TaxExemptionKind,
    *,
    valid_from: date = date(2026, 1, 1),
    valid_until: date | None = None,
    approved: bool = True,
    ceiling: str = "50000.00",
) -> TaxExemption:
    letter = kind == TaxExemptionKind.LETTER_OF_INTENT
    row = TaxExemption(
        company=company,
        kind=kind,
        legal_reference=LEGAL[kind],
        protocol_number="24010312345678-000001" if letter else "",
        ceiling=D(ceiling) if letter else None,
        valid_from=valid_from,
        valid_until=valid_until,
    )
    row.full_clean()
    row.save()
    if approved:
        tax_exemption_approve(exemption=row, by=UserFactory.create(is_staff=True))
    return row


# What seven postpaid mobile lines at €10.00 (DOMAIN.md's example: taxable 70.00,
# VAT 15.40, concession fee 90.37, stamp duty 2.00, total 177.77) become.
# (taxable, vat_rate, vat, untaxed, concession_fee, stamp_duty, total, amount_due)
Amounts = tuple[Decimal, Decimal, Decimal, Decimal, Decimal, Decimal, Decimal, Decimal]
PLAIN: Amounts = (D("70.00"), D("22"), D("15.40"), D("0"), D("90.37"), D("2.00"), D("177.77"), D("177.77"))
# Exempt or non-taxable: no VAT, the fees are amounts without VAT, and with the
# concession fee over €77.47 they carry stamp duty.
WITHOUT_VAT: Amounts = (D("0"), D("0"), D("0"), D("70.00"), D("90.37"), D("2.00"), D("162.37"), D("162.37"))
EXPECTED: dict[TaxExemptionKind, Amounts] = {
    TaxExemptionKind.VAT_EXEMPT: WITHOUT_VAT,
    TaxExemptionKind.VAT_NON_TAXABLE: WITHOUT_VAT,
    TaxExemptionKind.LETTER_OF_INTENT: WITHOUT_VAT,
    # VAT shown and in the total, not collected: the customer owes the total less VAT.
    TaxExemptionKind.SPLIT_PAYMENT: (*PLAIN[:7], D("162.37")),
    # No concession fee, so nothing without VAT is left for stamp duty.
    TaxExemptionKind.CONCESSION_FEE: (
        D("70.00"),
        D("22"),
        D("15.40"),
        D("0"),
        D("0"),
        D("0"),
        D("85.40"),
        D("85.40"),
    ),
    TaxExemptionKind.STAMP_DUTY: (*PLAIN[:5], D("0"), D("175.77"), D("175.77")),
}


def amounts_of(invoice: Invoice) -> Amounts:
    return (
        invoice.taxable,
        invoice.vat_rate,
        invoice.vat,
        invoice.untaxed,
        invoice.concession_fee,
        invoice.stamp_duty,
        invoice.total,
        invoice.amount_due,
    )


def billed_with(kind: TaxExemptionKind, **validity: Any) -> Invoice:
    company = company_with_lines(7)
    exemption(company, kind, **validity)
    billing_run_month(year=YEAR, month=MONTH)
    return the_invoice_of(company)


@pytest.mark.django_db
class TestEachKindWithinItsValidity:
    @pytest.mark.parametrize("kind", list(TaxExemptionKind))
    def test_an_approved_exemption_valid_on_the_last_day_of_the_month_changes_the_invoice(
        self, kind: TaxExemptionKind
    ) -> None:
        invoice = billed_with(kind, valid_from=date(2026, 10, 15), valid_until=LAST_DAY)

        assert amounts_of(invoice) == EXPECTED[kind]

    @pytest.mark.parametrize("kind", list(TaxExemptionKind))
    def test_an_open_ended_exemption_started_earlier_applies(self, kind: TaxExemptionKind) -> None:
        assert amounts_of(billed_with(kind, valid_from=date(2025, 1, 1))) == EXPECTED[kind]

    @pytest.mark.parametrize(
        "kind",
        [TaxExemptionKind.VAT_EXEMPT, TaxExemptionKind.VAT_NON_TAXABLE, TaxExemptionKind.LETTER_OF_INTENT],
    )
    def test_an_exempt_or_non_taxable_invoice_prints_its_legal_reference(
        self, kind: TaxExemptionKind
    ) -> None:
        invoice = billed_with(kind)

        assert LEGAL[kind] in invoice.exemption_notes
        assert not invoice.split_payment
        assert not invoice.lines.filter(kind=InvoiceLineKind.FEE).exclude(vat_applicable=True).exists()

    def test_a_letter_of_intent_prints_its_protocol_number(self) -> None:
        invoice = billed_with(TaxExemptionKind.LETTER_OF_INTENT)

        assert "prot. n. 24010312345678-000001" in invoice.exemption_notes

    def test_split_payment_is_recorded_on_the_invoice_and_said_in_its_notes(self) -> None:
        invoice = billed_with(TaxExemptionKind.SPLIT_PAYMENT)

        assert invoice.split_payment
        assert "17-ter" in invoice.exemption_notes

    def test_a_concession_fee_exemption_leaves_no_concession_fee_lines_and_prints_its_reference(self) -> None:
        invoice = billed_with(TaxExemptionKind.CONCESSION_FEE)

        assert not invoice.lines.filter(kind=InvoiceLineKind.CONCESSION_FEE).exists()
        assert LEGAL[TaxExemptionKind.CONCESSION_FEE] in invoice.exemption_notes

    def test_a_stamp_duty_exemption_prints_its_reference_and_no_virtual_stamp_duty(self) -> None:
        invoice = billed_with(TaxExemptionKind.STAMP_DUTY)

        assert LEGAL[TaxExemptionKind.STAMP_DUTY] in invoice.exemption_notes
        assert "bollo assolta" not in invoice.exemption_notes

    def test_split_payment_with_a_vat_exemption_leaves_nothing_to_split(self) -> None:
        company = company_with_lines(7)
        exemption(company, TaxExemptionKind.VAT_EXEMPT)
        exemption(company, TaxExemptionKind.SPLIT_PAYMENT)

        billing_run_month(year=YEAR, month=MONTH)

        invoice = the_invoice_of(company)
        assert amounts_of(invoice) == WITHOUT_VAT
        assert not invoice.split_payment


@pytest.mark.django_db
class TestOutsideItsValidity:
    @pytest.mark.parametrize("kind", list(TaxExemptionKind))
    def test_an_exemption_starting_after_the_month_does_not_apply(self, kind: TaxExemptionKind) -> None:
        invoice = billed_with(kind, valid_from=date(2026, 11, 1))

        assert amounts_of(invoice) == PLAIN
        assert LEGAL[kind] == "" or LEGAL[kind] not in invoice.exemption_notes

    @pytest.mark.parametrize("kind", list(TaxExemptionKind))
    def test_an_exemption_ended_before_the_last_day_of_the_month_does_not_apply(
        self, kind: TaxExemptionKind
    ) -> None:
        invoice = billed_with(kind, valid_from=date(2026, 1, 1), valid_until=date(2026, 10, 30))

        assert amounts_of(invoice) == PLAIN
        assert not invoice.split_payment

    @pytest.mark.parametrize("kind", list(TaxExemptionKind))
    def test_an_exemption_not_approved_does_not_apply(self, kind: TaxExemptionKind) -> None:
        invoice = billed_with(kind, approved=False)

        assert amounts_of(invoice) == PLAIN

    def test_another_companys_exemption_does_not_apply(self) -> None:
        company = company_with_lines(7)
        exemption(company_with_lines(1), TaxExemptionKind.VAT_EXEMPT)

        billing_run_month(year=YEAR, month=MONTH)

        assert amounts_of(the_invoice_of(company)) == PLAIN


@pytest.mark.django_db
def test_the_profile_of_a_company_reads_its_approved_exemptions_on_the_last_day_of_the_month() -> None:
    company = CompanyFactory.create()
    exemption(company, TaxExemptionKind.STAMP_DUTY, valid_until=date(2026, 10, 31))
    exemption(company, TaxExemptionKind.SPLIT_PAYMENT, valid_from=date(2026, 10, 31))
    exemption(company, TaxExemptionKind.CONCESSION_FEE, approved=False)

    october = tax_profile_for(company=company, month=Month.of(2026, 10))
    november = tax_profile_for(company=company, month=Month.of(2026, 11))

    assert (october.stamp_duty_exempt, october.split_payment, october.concession_fee_exempt) == (
        True,
        True,
        False,
    )
    assert (november.stamp_duty_exempt, november.split_payment) == (False, True)
    assert tax_profile_for(company=CompanyFactory.create(), month=Month.of(2026, 10)) == DEFAULT_PROFILE


@pytest.mark.django_db
def test_the_run_makes_the_same_number_of_queries_per_chunk_whatever_the_number_of_exemptions() -> None:
    # One company with one exemption, then four with seven (one not
    # approved): a query per company or per exemption would show.
    companies = [company_with_lines(2)]
    exemption(companies[0], TaxExemptionKind.STAMP_DUTY)

    def queries_of_run(year: int, month: int) -> int:
        with CaptureQueriesContext(connection) as queries:
            billing_run_month(year=year, month=month)
        return len(queries)

    few = queries_of_run(2026, 9)
    companies += [company_with_lines(2) for _ in range(3)]
    exemption(companies[1], TaxExemptionKind.VAT_EXEMPT)
    exemption(companies[2], TaxExemptionKind.LETTER_OF_INTENT)
    exemption(companies[2], TaxExemptionKind.CONCESSION_FEE)
    exemption(companies[3], TaxExemptionKind.SPLIT_PAYMENT)
    exemption(companies[3], TaxExemptionKind.STAMP_DUTY, valid_until=date(2026, 10, 30))
    exemption(companies[0], TaxExemptionKind.CONCESSION_FEE, approved=False)
    many = queries_of_run(2026, 10)

    assert many == few
    october = {i.company_id: i for i in Invoice.objects.filter(period_start=date(2026, 10, 1))}
    assert len(october) == 4
    assert october[companies[1].pk].vat == 0
    assert october[companies[2].pk].concession_fee == 0
    assert october[companies[3].pk].split_payment


# ---------------------------------------------------------------------------
# Recording and approving in the admin; who may see them
# ---------------------------------------------------------------------------


def _letter(**fields: Any) -> TaxExemption:
    return TaxExemption(
        company=CompanyFactory.create(),
        kind=TaxExemptionKind.LETTER_OF_INTENT,
        legal_reference=LEGAL[TaxExemptionKind.LETTER_OF_INTENT],
        valid_from=date(2026, 1, 1),
        **fields,
    )


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("make", "field"),
    [
        (lambda: _letter(ceiling=D("1000")), "protocol_number"),
        (lambda: _letter(protocol_number="P-1"), "ceiling"),
        (lambda: _letter(protocol_number="P-1", ceiling=D("0")), "ceiling"),
        (
            lambda: _letter(protocol_number="P-1", ceiling=D("1"), valid_until=date(2025, 12, 31)),
            "valid_until",
        ),
        (
            lambda: TaxExemption(
                company=CompanyFactory.create(), kind=TaxExemptionKind.VAT_EXEMPT, valid_from=date(2026, 1, 1)
            ),
            "legal_reference",
        ),
        (
            lambda: TaxExemption(
                company=CompanyFactory.create(),
                kind=TaxExemptionKind.STAMP_DUTY,
                protocol_number="P-1",
                valid_from=date(2026, 1, 1),
            ),
            "protocol_number",
        ),
        (
            lambda: TaxExemption(
                company=CompanyFactory.create(),
                kind=TaxExemptionKind.SPLIT_PAYMENT,
                ceiling=D("10"),
                valid_from=date(2026, 1, 1),
            ),
            "ceiling",
        ),
    ],
)
def test_an_exemption_with_the_wrong_fields_for_its_kind_is_refused(
    make: Callable[[], TaxExemption], field: str
) -> None:
    with pytest.raises(ValidationError) as refused:
        make().full_clean()

    assert field in refused.value.message_dict


@pytest.mark.django_db
def test_two_vat_regimes_overlapping_for_a_company_are_refused() -> None:
    company = CompanyFactory.create()
    exemption(
        company, TaxExemptionKind.VAT_EXEMPT, valid_from=date(2026, 1, 1), valid_until=date(2026, 6, 30)
    )

    with pytest.raises(ValidationError):
        exemption(company, TaxExemptionKind.LETTER_OF_INTENT, valid_from=date(2026, 6, 1))
    exemption(company, TaxExemptionKind.LETTER_OF_INTENT, valid_from=date(2026, 7, 1))


@pytest.fixture
def billing_staff(client: Client, staff_groups: None) -> Client:
    staff = UserFactory.create(email="fatture@operatore.example.it", is_staff=True)
    give_totp(staff)
    staff.groups.add(Group.objects.get(name="Billing"))
    client.force_login(staff)
    return client


@pytest.mark.django_db
def test_billing_staff_record_an_exemption_and_the_form_checks_its_kind(billing_staff: Client) -> None:
    company = CompanyFactory.create()
    url = reverse("admin:billing_taxexemption_add")
    fields = {
        "company": company.pk,
        "kind": TaxExemptionKind.LETTER_OF_INTENT,
        "legal_reference": LEGAL[TaxExemptionKind.LETTER_OF_INTENT],
        "valid_from": "2026-01-01",
    }

    refused = billing_staff.post(url, fields)
    accepted = billing_staff.post(url, {**fields, "protocol_number": "P-1", "ceiling": "20000.00"})

    assert refused.status_code == 200
    assert accepted.status_code == 302
    row = TaxExemption.objects.get(company=company)
    assert (row.protocol_number, row.ceiling, row.approved_at) == ("P-1", D("20000.00"), None)


@pytest.mark.django_db
def test_the_approve_action_records_who_and_when_and_audits_it(billing_staff: Client) -> None:
    pending = exemption(CompanyFactory.create(), TaxExemptionKind.STAMP_DUTY, approved=False)
    before = timezone.now()

    response = billing_staff.post(
        reverse("admin:billing_taxexemption_changelist"),
        {"action": "approve", "_selected_action": [pending.pk]},
    )

    assert response.status_code == 302
    pending.refresh_from_db()
    assert pending.approved_by is not None
    assert pending.approved_by.email == "fatture@operatore.example.it"
    assert pending.approved_at is not None
    assert pending.approved_at >= before
    entry = LogEntry.objects.get(object_pk=str(pending.pk), additional_data__event="tax_exemption_approved")
    assert entry.actor == pending.approved_by


@pytest.mark.django_db
def test_approving_twice_keeps_the_first_approval() -> None:
    row = exemption(CompanyFactory.create(), TaxExemptionKind.STAMP_DUTY)
    first = (row.approved_at, row.approved_by_id)

    assert not tax_exemption_approve(exemption=row, by=UserFactory.create(is_staff=True))

    row.refresh_from_db()
    assert (row.approved_at, row.approved_by_id) == first


@pytest.mark.django_db
def test_the_admin_filters_exemptions_by_approval_and_kind(billing_staff: Client) -> None:
    company = CompanyFactory.create()
    approved = exemption(company, TaxExemptionKind.STAMP_DUTY)
    pending = exemption(company, TaxExemptionKind.CONCESSION_FEE, approved=False)
    url = reverse("admin:billing_taxexemption_changelist")

    to_approve = billing_staff.get(url, {"approved": "no"}).context["cl"].result_list
    of_kind = billing_staff.get(url, {"kind": TaxExemptionKind.STAMP_DUTY}).context["cl"].result_list

    assert list(to_approve) == [pending]
    assert list(of_kind) == [approved]


@pytest.mark.django_db
def test_exemptions_are_visible_to_the_companys_billing_managers_only(cast: Cast) -> None:
    mine = exemption(cast.rossi, TaxExemptionKind.STAMP_DUTY)
    exemption(cast.bianchi, TaxExemptionKind.STAMP_DUTY)

    for membership in (cast.rossi_legal_rep, cast.rossi_admin):
        assert list(TaxExemption.objects.visible_to(membership)) == [mine]
    assert not TaxExemption.objects.visible_to(cast.rossi_line_user).exists()


@pytest.mark.django_db
def test_an_approved_exemption_opens_in_the_admin_with_its_approval_read_only(billing_staff: Client) -> None:
    row = exemption(CompanyFactory.create(), TaxExemptionKind.LETTER_OF_INTENT)

    response = billing_staff.get(reverse("admin:billing_taxexemption_change", args=[row.pk]))

    assert response.status_code == 200
    assert "approved_at" not in response.context["adminform"].form.fields


# ---------------------------------------------------------------------------
# A letter of intent's ceiling (DPR 633/1972 art. 8 c. 1 lett. c)
# ---------------------------------------------------------------------------
SEPTEMBER_1 = date(2026, 9, 1)


def letter_company(ceiling: str) -> tuple[Company, TaxExemption]:
    """Seven postpaid mobile lines at €10.00 (€70.00 VAT-able a month) under a letter with that ceiling."""
    company = company_with_lines(7)
    return company, exemption(company, TaxExemptionKind.LETTER_OF_INTENT, ceiling=ceiling)


def credit_note_under(letter: TaxExemption, *, amount: str) -> Invoice:
    """A credit note giving `amount` of the letter's ceiling back, as the credit notes feature records one."""
    return Invoice.objects.create(
        company=letter.company,
        kind=InvoiceKind.CREDIT_NOTE,
        year=2026,
        sequence_number=1,
        number="NC 2026/000001",
        issued_on=date(2026, 10, 5),
        period_start=SEPTEMBER_1,
        period_end=date(2026, 9, 30),
        due_on=date(2026, 10, 5),
        taxable=D("0"),
        vat_rate=D("0"),
        vat=D("0"),
        untaxed=-D(amount),
        concession_fee=D("0"),
        stamp_duty=D("0"),
        total=-D(amount),
        letter_of_intent=letter,
        letter_of_intent_amount=-D(amount),
    )


@pytest.mark.django_db
class TestLetterOfIntentCeiling:
    def test_within_the_ceiling_the_invoice_is_non_taxable_and_records_the_amount_under_the_letter(
        self,
    ) -> None:
        company, letter = letter_company("1000.00")

        billing_run_month(year=YEAR, month=MONTH)

        invoice = the_invoice_of(company)
        assert amounts_of(invoice) == WITHOUT_VAT
        assert (invoice.letter_of_intent, invoice.letter_of_intent_amount) == (letter, D("70.00"))
        assert "lettera d'intento prot. n. 24010312345678-000001" in invoice.exemption_notes

    def test_an_invoice_crossing_the_ceiling_is_non_taxable_up_to_what_is_left_and_taxable_beyond(
        self,
    ) -> None:
        company, letter = letter_company("50.00")

        billing_run_month(year=YEAR, month=MONTH)

        invoice = the_invoice_of(company)
        # 50.00 non-taxable, 20.00 taxable with 4.40 of VAT; 50.00 + 90.37
        # without VAT is over €77.47: stamp duty.
        assert amounts_of(invoice) == (
            D("20.00"),
            D("22"),
            D("4.40"),
            D("50.00"),
            D("90.37"),
            D("2.00"),
            D("166.77"),
            D("166.77"),
        )
        assert (invoice.letter_of_intent, invoice.letter_of_intent_amount) == (letter, D("50.00"))
        assert "lettera d'intento" in invoice.exemption_notes
        assert "eccedenza di euro 20,00 assoggettata a IVA" in invoice.exemption_notes

    def test_once_the_ceiling_is_used_up_invoices_are_wholly_taxable(self) -> None:
        company, _letter = letter_company("50.00")

        billing_run_month(year=2026, month=9)
        billing_run_month(year=YEAR, month=MONTH)

        september = Invoice.objects.get(company=company, period_start=SEPTEMBER_1)
        october = the_invoice_of(company)
        assert september.letter_of_intent_amount == D("50.00")
        assert amounts_of(october) == PLAIN
        assert (october.letter_of_intent, october.letter_of_intent_amount) == (None, D("0"))
        assert "lettera d'intento" not in october.exemption_notes

    def test_each_invoice_spends_what_the_previous_ones_left(self) -> None:
        company, _letter = letter_company("100.00")

        billing_run_month(year=2026, month=9)
        billing_run_month(year=YEAR, month=MONTH)

        october = the_invoice_of(company)
        assert (october.untaxed, october.taxable, october.letter_of_intent_amount) == (
            D("30.00"),
            D("40.00"),
            D("30.00"),
        )

    def test_a_credit_note_under_the_letter_gives_its_amount_back_to_the_ceiling(self) -> None:
        company, letter = letter_company("50.00")
        billing_run_month(year=2026, month=9)
        credit_note_under(letter, amount="30.00")

        billing_run_month(year=YEAR, month=MONTH)

        october = the_invoice_of(company)
        assert (october.untaxed, october.taxable, october.vat, october.letter_of_intent_amount) == (
            D("30.00"),
            D("40.00"),
            D("8.80"),
            D("30.00"),
        )
        assert Invoice.objects.filter(letter_of_intent=letter).aggregate(
            used=Sum("letter_of_intent_amount")
        ) == {"used": D("50.00")}

    def test_a_letter_not_in_force_for_the_month_is_not_spent(self) -> None:
        company = company_with_lines(7)
        exemption(
            company, TaxExemptionKind.LETTER_OF_INTENT, ceiling="1000.00", valid_until=date(2026, 10, 30)
        )

        billing_run_month(year=YEAR, month=MONTH)

        invoice = the_invoice_of(company)
        assert amounts_of(invoice) == PLAIN
        assert (invoice.letter_of_intent, invoice.letter_of_intent_amount) == (None, D("0"))


def test_two_months_billed_at_once_never_spend_the_same_remainder_twice(transactional_db: None) -> None:
    company, _letter = letter_company("100.00")
    start = threading.Barrier(2)
    errors: list[BaseException] = []

    def bill(month: int) -> None:
        try:
            start.wait()
            billing_run_month(year=2026, month=month)
        except BaseException as error:
            errors.append(error)
        finally:
            connection.close()

    threads = [threading.Thread(target=bill, args=(month,)) for month in (9, 10)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)

    assert errors == []
    spent = sorted(Invoice.objects.filter(company=company).values_list("letter_of_intent_amount", flat=True))
    # Whichever month went first took 70.00; the other what was left.
    assert spent == [D("30.00"), D("70.00")]
