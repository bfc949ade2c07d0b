"""Reads of the billing app."""

from __future__ import annotations

from decimal import Decimal
from typing import NamedTuple

from django.db.models import DecimalField, OuterRef, Q, Subquery, Sum, Value
from django.db.models.functions import Coalesce

from billing.models import (
    VAT_EXEMPTION_KINDS,
    Invoice,
    InvoiceKind,
    InvoiceQuerySet,
    TaxExemption,
    TaxExemptionKind,
)
from billing.taxes import DEFAULT_PROFILE, STANDARD_VAT_RATE, Month, TaxProfile, VatExemption, VatTreatment
from selfcare.models import Company


def invoices_of_month(*, year: int, month: int) -> InvoiceQuerySet:
    """Every company's invoice for a month (staff and the run's report; never a customer page)."""
    return (
        Invoice.objects.filter(kind=InvoiceKind.INVOICE, period_start=Month.of(year, month).first_day)
        .select_related("company")
        .order_by("year", "sequence_number")
    )


def tax_profile_for(*, company: Company, month: Month) -> TaxProfile:
    """The taxes of `company`'s invoice for `month`, from its approved exemptions in force then."""
    return tax_profiles_for(first_company_id=company.pk, last_company_id=company.pk, month=month).get(
        company.pk, DEFAULT_PROFILE
    )


def tax_profiles_for(*, first_company_id: int, last_company_id: int, month: Month) -> dict[int, TaxProfile]:
    """The tax profile of each company with ids in the range that has an exemption for `month`: one query.

    Companies left out take DEFAULT_PROFILE. Which exemptions apply to a
    month: the approved ones valid on the last day of the month billed. A
    monthly invoice bills the month as one supply completed at its end
    (DPR 633/1972 art. 6 c. 1 for continuing services), so the regime in
    force that day is the invoice's; an exemption that starts or ends
    mid-month applies to one whole invoice or to none, never to part of it.

    A letter of intent comes with what its ceiling has left: the ceiling
    less the `letter_of_intent_amount` of every invoice and credit note
    under it (credit notes negative, so they give back), summed in the same
    query. The caller reads it inside the transaction that writes the
    invoices, after locking the letters (billing.services), so that no two
    transactions spend the same remainder.
    """
    day = month.last_day
    used = (
        Invoice.objects.filter(letter_of_intent_id=OuterRef("pk"))
        .order_by()
        .values("letter_of_intent_id")
        .annotate(used=Sum("letter_of_intent_amount"))
        .values("used")
    )
    money = DecimalField(max_digits=14, decimal_places=2)
    rows = (
        TaxExemption.objects.approved()
        .filter(company_id__gte=first_company_id, company_id__lte=last_company_id, valid_from__lte=day)
        .filter(Q(valid_until__isnull=True) | Q(valid_until__gte=day))
        .annotate(used=Coalesce(Subquery(used, output_field=money), Value(Decimal(0)), output_field=money))
        # The latest start first: if two VAT regimes overlap (the admin
        # refuses it), the newer one wins, the same every run.
        .order_by("company_id", "-valid_from", "-pk")
        .values_list("company_id", "pk", "kind", "legal_reference", "protocol_number", "ceiling", "used")
    )
    by_company: dict[int, list[_Exemption]] = {}
    for company_id, pk, kind, legal_reference, protocol_number, ceiling, used_so_far in rows:
        by_company.setdefault(company_id, []).append(
            _Exemption(pk, kind, legal_reference, protocol_number, ceiling, used_so_far)
        )
    return {company_id: _profile_of(exemptions) for company_id, exemptions in by_company.items()}


class _Exemption(NamedTuple):
    pk: int
    kind: str
    legal_reference: str
    protocol_number: str
    ceiling: Decimal | None
    used: Decimal


def _profile_of(exemptions: list[_Exemption]) -> TaxProfile:
    vat_exemption: VatExemption | None = None
    ceiling_left: Decimal | None = None
    letter_of_intent_id: int | None = None
    split_payment = concession_fee_exempt = stamp_duty_exempt = False
    extra_notes: list[str] = []
    for exemption in exemptions:
        kind, legal_reference = exemption.kind, exemption.legal_reference
        if kind in VAT_EXEMPTION_KINDS:
            if vat_exemption is not None:
                continue
            reference = legal_reference.strip()
            if kind == TaxExemptionKind.LETTER_OF_INTENT:
                # The invoice must quote the letter's protocol number (DL 746/1983 art. 1 c. 1 lett. c).
                reference = f"{reference}, lettera d'intento prot. n. {exemption.protocol_number.strip()}"
                # A letter with no ceiling on record (the form refuses one)
                # covers nothing: charging VAT is the safe side of the law.
                ceiling_left = (exemption.ceiling or Decimal(0)) - exemption.used
                letter_of_intent_id = exemption.pk
            treatment = (
                VatTreatment.EXEMPT if kind == TaxExemptionKind.VAT_EXEMPT else VatTreatment.NON_TAXABLE
            )
            vat_exemption = VatExemption(treatment=treatment, legal_reference=reference)
        elif kind == TaxExemptionKind.SPLIT_PAYMENT:
            split_payment = True
        elif kind == TaxExemptionKind.CONCESSION_FEE:
            concession_fee_exempt = True
        elif kind == TaxExemptionKind.STAMP_DUTY:
            stamp_duty_exempt = True
        if kind in (TaxExemptionKind.CONCESSION_FEE, TaxExemptionKind.STAMP_DUTY) and legal_reference.strip():
            extra_notes.append(legal_reference.strip())
    return TaxProfile(
        # An exempt or non-taxable invoice charges no VAT: its rate is 0. A
        # letter of intent keeps the ordinary rate for what exceeds its ceiling.
        vat_rate=Decimal(0) if vat_exemption is not None and ceiling_left is None else STANDARD_VAT_RATE,
        vat_exemption=vat_exemption,
        vat_exemption_ceiling_left=ceiling_left,
        letter_of_intent_id=letter_of_intent_id,
        # Split payment concerns VAT charged: with no VAT charged it has nothing to split.
        split_payment=split_payment and vat_exemption is None,
        concession_fee_exempt=concession_fee_exempt,
        stamp_duty_exempt=stamp_duty_exempt,
        extra_notes=tuple(extra_notes),
    )
