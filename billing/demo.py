"""Demo invoices for `seed_demo`: the last twelve months billed by the real billing run.

Each month not billed yet goes through `billing_run_month`, dated the first
of the following month as the monthly run would have issued it; a month
with a finished run is left alone, so a second `seed_demo` adds nothing
(and, a month later, bills just the month that ended since). Before the
first month, one demo company gets a SEPA direct debit (a valid Italian IBAN
made with schwifty), so its invoices carry it; one gets a compensation credit.

The run bills every company in the database, as the monthly run does: the
demo database holds the demo companies only.

Statuses are the story a customer would have: invoices past due are paid,
the latest one is issued and not due yet, and one company has left one
unpaid past its due date (expired), so the demo can show paying it online.
They are set directly: this is history being written, not a payment.
"""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal

from django.db import transaction
from django.utils import timezone
from schwifty import IBAN

from billing.models import (
    BillingRun,
    BillingRunStatus,
    ExtraCharge,
    ExtraChargeKind,
    Invoice,
    InvoiceKind,
    InvoiceStatus,
    PaymentMethod,
    PaymentMethodKind,
)
from billing.services import billing_run_month
from roaming.spend import roaming_month_charges_write
from selfcare.demo import Writer, demo_document
from selfcare.models import Company

MONTHS = 12
# Indexes in the demo document's companies: Ferretti pays by SEPA direct
# debit, Conti & Marino has an expired invoice, Lombardi had a credit.
_SEPA_COMPANY = 0
_EXPIRED_COMPANY = 1
_CREDIT_COMPANY = 2
# Deterministic, of no real account: ABI 03069, CAB 09606.
DEMO_IBAN = str(IBAN.generate("IT", bank_code="0306909606", account_code="100000012345"))


def demo_billing_months(*, today: date) -> list[date]:
    """The first days of the last MONTHS months that are over, oldest first."""
    first = today.replace(day=1)
    months = []
    for _ in range(MONTHS):
        first = (first - timedelta(days=1)).replace(day=1)
        months.append(first)
    return months[::-1]


def _next_month(first: date) -> date:
    return (first + timedelta(days=32)).replace(day=1)


def seed_billing(*, stdout: Writer) -> int:
    """Bill the demo months not billed yet; returns how many invoices were made."""
    today = timezone.localdate()
    months = demo_billing_months(today=today)
    billed = set(
        BillingRun.objects.filter(status=BillingRunStatus.DONE, period_start__in=months).values_list(
            "period_start", flat=True
        )
    )
    to_bill = [first for first in months if first not in billed]
    if not to_bill:
        stdout.write(f"Demo invoices: the last {MONTHS} months are billed already.\n")
        return 0
    vat_numbers = [company["vat_number"] for company in demo_document()["companies"]]
    by_vat = {company.vat_number: company for company in Company.objects.filter(vat_number__in=vat_numbers)}
    companies = [by_vat.get(vat_number) for vat_number in vat_numbers]
    made = 0
    with transaction.atomic():
        sepa = companies[_SEPA_COMPANY]
        if sepa is not None and not PaymentMethod.objects.current().filter(company=sepa).exists():
            PaymentMethod.objects.create(
                company=sepa,
                kind=PaymentMethodKind.SEPA_DIRECT_DEBIT,
                iban=DEMO_IBAN,
                iban_last4=DEMO_IBAN[-4:],
                account_holder=sepa.name,
                holder_tax_id=sepa.tax_code,
                mandate_reference=f"FERR-SDD-{months[0]:%Y}-0001",
                mandate_signed_on=months[0] - timedelta(days=20),
            )
        credited = companies[_CREDIT_COMPANY]
        credit_month = months[-3]
        if credited is not None and credit_month in to_bill:
            ExtraCharge.objects.create(
                company=credited,
                period_start=credit_month,
                kind=ExtraChargeKind.CREDIT,
                description="Indennizzo per ritardata attivazione",
                amount=Decimal("-15.00"),
                # An indemnity, not a supply: outside the VAT base (DPR 633/1972 art. 15).
                vat_applicable=False,
            )
        for first in to_bill:
            # As beat does on the 1st before the run: the month's roaming (from the demo traffic, if
            # imported already) becomes its charges, so the invoices carry it.
            roaming_month_charges_write(month=first)
            run = billing_run_month(year=first.year, month=first.month, issued_on=_next_month(first))
            made += run.invoices_created
        _demo_statuses(companies=[c for c in companies if c is not None], today=today)
    stdout.write(f"Demo invoices: {made} made for {len(to_bill)} months.\n")
    return made


def _demo_statuses(*, companies: list[Company], today: date) -> None:
    """Invoices past due: paid, but one of the expired company's; those not due yet stay issued."""
    past_due = Invoice.objects.filter(
        company__in=companies, kind=InvoiceKind.INVOICE, status=InvoiceStatus.ISSUED, due_on__lt=today
    )
    expired_company = next((c for c in companies if c.vat_number == _vat_of(_EXPIRED_COMPANY)), None)
    if (
        expired_company is not None
        and not Invoice.objects.filter(company=expired_company, status=InvoiceStatus.EXPIRED).exists()
    ):
        latest = past_due.filter(company=expired_company).order_by("-period_start").first()
        if latest is not None:
            Invoice.objects.filter(pk=latest.pk).update(status=InvoiceStatus.EXPIRED)
    past_due.update(status=InvoiceStatus.PAID)


def _vat_of(index: int) -> str:
    vat_number: str = demo_document()["companies"][index]["vat_number"]
    return vat_number
