"""The invoice's amounts and Italian taxes, as pure functions on `Decimal` (DOMAIN.md, "Taxes").

Nothing here reads the database: the billing run gathers the month's lines
and charges, and these functions say what each costs and what the invoice
totals are. Every amount is rounded half-up to the cent where the law or the
invoice says so, and nowhere else:
- each invoice line once (`line_fee`, charges come rounded);
- VAT once per rate on the invoice's taxable total (`invoice_totals`).

What a company's approved exemptions change comes in as a `TaxProfile`;
the default profile is the plain case (VAT 22%, concession fee and stamp
duty due). Which profile applies to a month (the exemptions' validity,
a letter of intent's ceiling used so far) is the caller's business; what
part of an invoice a letter's remaining ceiling covers is decided here.
"""

from __future__ import annotations

import enum
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date
from decimal import ROUND_HALF_UP, Decimal

CENT = Decimal("0.01")
ZERO = Decimal("0.00")

# DPR 633/1972, art. 16: the ordinary VAT rate (22% since 1 October 2013).
STANDARD_VAT_RATE = Decimal("22")

# DPR 641/1972, tariff art. 21: government concession fee on mobile
# subscription contracts, €12.91 a month for business lines (€5.16 for
# private customers, who are not the portal's). Due for the whole month in
# which the line was active at least one day: it is never split by days.
CONCESSION_FEE_BUSINESS_MOBILE = Decimal("12.91")

# DPR 642/1972, tariff part I art. 13 n. 1: stamp duty of €2.00 on invoices
# carrying amounts not subject to VAT over €77.47.
STAMP_DUTY = Decimal("2.00")
STAMP_DUTY_THRESHOLD = Decimal("77.47")


def to_cents(amount: Decimal) -> Decimal:
    """`amount` rounded half-up to the cent."""
    return amount.quantize(CENT, rounding=ROUND_HALF_UP)


class VatTreatment(enum.StrEnum):
    """How VAT applies to an amount (the FatturaPA `Natura` codes in brackets)."""

    # In the VAT base at the invoice's rate.
    TAXABLE = "taxable"
    # Exempt, DPR 633/1972 art. 10 (N4).
    EXEMPT = "exempt"
    # Non-taxable, e.g. DPR 633/1972 art. 8 c. 1 lett. c, a regular exporter's
    # letter of intent (N3.5).
    NON_TAXABLE = "non_taxable"
    # Outside the VAT base, DPR 633/1972 art. 15: the concession fee (a tax
    # collected for the State), compensation (an indemnity, not a supply) (N1).
    OUT_OF_SCOPE = "out_of_scope"


@dataclass(frozen=True)
class VatExemption:
    """An approved VAT exemption: what the company's VAT-able amounts become, and the law to print."""

    treatment: VatTreatment
    legal_reference: str

    def __post_init__(self) -> None:
        if self.treatment not in (VatTreatment.EXEMPT, VatTreatment.NON_TAXABLE):
            raise ValueError("a VAT exemption makes amounts exempt or non-taxable")
        if not self.legal_reference.strip():
            raise ValueError("an exempt or non-taxable invoice must print its legal reference")


@dataclass(frozen=True)
class TaxProfile:
    """What applies to one company's invoice for one month: its approved exemptions in force then.

    - `vat_exemption`: an exempt or non-taxable regime, or a letter of intent
      (the caller passes it only while within its validity);
    - `vat_exemption_ceiling_left`: for a letter of intent, what its ceiling
      has left (the ceiling less what its invoices used, credit notes giving
      back): the exemption covers the VAT-able amounts up to it and the rest
      is taxable at `vat_rate`; None for a regime with no ceiling;
    - `letter_of_intent_id`: the letter's row, for the caller to record on
      the invoice (nothing here reads it);
    - `split_payment`: DPR 633/1972 art. 17-ter, public bodies: VAT is shown
      but paid by the customer straight to the Treasury, not to the operator;
    - `concession_fee_exempt`, `stamp_duty_exempt`: approved exemptions
      from either (e.g. DPR 641/1972 art. 13-bis; DPR 642/1972 annex B).
    """

    vat_rate: Decimal = STANDARD_VAT_RATE
    vat_exemption: VatExemption | None = None
    vat_exemption_ceiling_left: Decimal | None = None
    letter_of_intent_id: int | None = None
    split_payment: bool = False
    concession_fee_exempt: bool = False
    stamp_duty_exempt: bool = False
    # Further legal references to print (the concession fee or stamp duty exemptions').
    extra_notes: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        if self.split_payment and self.vat_exemption is not None:
            raise ValueError("split payment concerns VAT charged: it does not go with a VAT exemption")
        if self.vat_exemption_ceiling_left is not None and (
            self.vat_exemption is None or self.vat_exemption.treatment is not VatTreatment.NON_TAXABLE
        ):
            raise ValueError("only a letter of intent (non-taxable) has a ceiling")


DEFAULT_PROFILE = TaxProfile()


# ---------------------------------------------------------------------------
# Lines: fees in proportion to the days active, the concession fee
# ---------------------------------------------------------------------------


@dataclass(frozen=True)
class Month:
    first_day: date
    last_day: date

    @classmethod
    def of(cls, year: int, month: int) -> Month:
        first = date(year, month, 1)
        next_first = date(year + 1, 1, 1) if month == 12 else date(year, month + 1, 1)
        return cls(first_day=first, last_day=date.fromordinal(next_first.toordinal() - 1))

    @property
    def days(self) -> int:
        return self.last_day.day


def days_active(*, month: Month, activated_on: date, ceased_on: date | None) -> int:
    """The days of `month` in which the line was active: from `activated_on` through `ceased_on`.

    The day of cessation is a day of service, so a line ceased on the last
    day of a month pays the whole month. Blocked and suspended lines stay
    active for billing until ceased: the caller does not look at the status.
    """
    first = max(activated_on, month.first_day)
    last = month.last_day if ceased_on is None else min(ceased_on, month.last_day)
    return max(0, (last - first).days + 1)


def line_fee(*, monthly_fee: Decimal, days: int, month: Month) -> Decimal:
    """The monthly fee for `days` days of `month`, rounded half-up to the cent (one invoice line)."""
    if days >= month.days:
        return to_cents(monthly_fee)
    return to_cents(monthly_fee * days / month.days)


def concession_fee(*, is_mobile: bool, days: int, profile: TaxProfile = DEFAULT_PROFILE) -> Decimal:
    """DPR 641/1972 tariff art. 21: €12.91 for a postpaid mobile line active at least one day of the month.

    Fixed lines owe none (the tariff concerns mobile radio-telephone
    service); prepaid lines are not invoiced at all and never reach here.
    """
    if not is_mobile or days <= 0 or profile.concession_fee_exempt:
        return ZERO
    return CONCESSION_FEE_BUSINESS_MOBILE


# ---------------------------------------------------------------------------
# The invoice: VAT once per rate, stamp duty, total
# ---------------------------------------------------------------------------


@dataclass(frozen=True)
class TaxItem:
    """One invoice line as the taxes see it: its rounded amount (negative for a credit) and whether VAT applies.

    `vat_applicable` is what the amount is by nature (a fee, a charge: yes;
    the concession fee, a compensation credit: no); the profile's exemption
    decides what a VAT-able amount becomes on this invoice.
    """

    amount: Decimal
    vat_applicable: bool
    is_concession_fee: bool = False

    def treatment(self, profile: TaxProfile) -> VatTreatment:
        """The item's treatment under a regime with no ceiling (a letter's ceiling is `invoice_totals`' business)."""
        if not self.vat_applicable:
            return VatTreatment.OUT_OF_SCOPE
        if profile.vat_exemption is not None:
            return profile.vat_exemption.treatment
        return VatTreatment.TAXABLE


@dataclass(frozen=True)
class InvoiceTotals:
    """The amounts printed on an invoice. `total` = taxable + vat + untaxed + concession_fee + stamp_duty."""

    taxable: Decimal
    vat_rate: Decimal
    vat: Decimal
    untaxed: Decimal
    concession_fee: Decimal
    stamp_duty: Decimal
    total: Decimal
    # What the customer pays the operator: the total less VAT under split payment.
    amount_due: Decimal
    notes: tuple[str, ...] = field(default=())
    # The VAT-able amount invoiced without VAT under a letter of intent's
    # ceiling (Invoice.letter_of_intent_amount); zero with no ceiling.
    letter_of_intent_amount: Decimal = ZERO


def _it(amount: Decimal) -> str:
    """An amount as an Italian invoice prints it: decimal comma."""
    return f"{amount:.2f}".replace(".", ",")


def letter_of_intent_share(*, vat_able: Decimal, ceiling_left: Decimal) -> Decimal:
    """The part of an invoice's VAT-able amount (net of its credits) that a letter's remaining ceiling covers.

    DPR 633/1972 art. 8 c. 1 lett. c and DL 746/1983 art. 1: a regular
    exporter buys without VAT only up to the amount its letter of intent
    declares. An invoice that would cross it is split: non-taxable up to
    what the letter has left, taxable with VAT beyond (Agenzia delle
    Entrate, risoluzione n. 120/E of 22 December 2016; invoicing without
    VAT beyond the ceiling is sanctioned under D.Lgs. 471/1997 art. 7).
    Nothing is covered by a used-up letter or when the VAT-able amounts net
    to a credit (a credit does not give a letter back its ceiling: a credit
    note on the invoice that used it does).
    """
    return max(ZERO, min(vat_able, ceiling_left))


def invoice_totals(*, items: Iterable[TaxItem], profile: TaxProfile = DEFAULT_PROFILE) -> InvoiceTotals:
    """The invoice's taxes from its lines.

    VAT: DPR 633/1972 art. 21 c. 2 lett. l: the tax is computed on the
    taxable total for each rate and rounded then, never summed from rounded
    line amounts. One rate is used today; a second would add a base.

    A letter of intent with a ceiling (`profile.vat_exemption_ceiling_left`)
    covers the VAT-able amounts up to what it has left
    (`letter_of_intent_share`); the excess is taxable at the profile's rate,
    so one invoice may carry both.

    Stamp duty: DPR 642/1972 tariff art. 13: €2.00 when the amounts not
    subject to VAT (exempt, non-taxable and out-of-scope, the concession fee
    included), debits and credits alike at their absolute value, add up to
    more than €77.47.
    """
    items = list(items)
    for item in items:
        if item.amount != to_cents(item.amount):
            raise ValueError(f"invoice lines are rounded to the cent before the taxes: {item.amount}")
    taxable = ZERO
    untaxed = ZERO
    fee = ZERO
    without_vat_for_stamp_duty = ZERO
    exemption = profile.vat_exemption
    ceiling_left = profile.vat_exemption_ceiling_left
    vat_able = sum((item.amount for item in items if item.vat_applicable), ZERO)
    covered = (
        ZERO
        if exemption is None
        else vat_able
        if ceiling_left is None
        else letter_of_intent_share(vat_able=vat_able, ceiling_left=ceiling_left)
    )
    # Under an exemption that covers only part of the VAT-able amounts, they
    # are taken as one sum: `covered` goes without VAT, the rest is taxable.
    split = exemption is not None and covered != vat_able
    for item in items:
        if item.vat_applicable and (exemption is None or split):
            taxable += item.amount
            continue
        without_vat_for_stamp_duty += abs(item.amount)
        if item.is_concession_fee:
            fee += item.amount
        else:
            untaxed += item.amount
    if split:
        taxable -= covered
        untaxed += covered
        without_vat_for_stamp_duty += covered

    vat = to_cents(taxable * profile.vat_rate / 100)
    stamp_duty = (
        STAMP_DUTY
        if without_vat_for_stamp_duty > STAMP_DUTY_THRESHOLD and not profile.stamp_duty_exempt
        else ZERO
    )
    total = taxable + vat + untaxed + fee + stamp_duty
    notes: list[str] = []
    if exemption is not None and (ceiling_left is None or covered != 0):
        notes.append(exemption.legal_reference)
    if split and covered != 0:
        notes.append(
            f"Non imponibile nei limiti del plafond residuo della lettera d'intento: euro {_it(covered)}; "
            f"eccedenza di euro {_it(taxable)} assoggettata a IVA"
        )
    if profile.split_payment:
        notes.append("Scissione dei pagamenti, art. 17-ter DPR 633/1972")
    notes.extend(profile.extra_notes)
    if stamp_duty:
        notes.append("Imposta di bollo assolta in modo virtuale, art. 15 DPR 642/1972")
    return InvoiceTotals(
        taxable=taxable,
        # Wholly exempt or non-taxable: rate 0; a letter's excess: the rate charged on it.
        vat_rate=Decimal(0) if exemption is not None and not split else profile.vat_rate,
        vat=vat,
        untaxed=untaxed,
        concession_fee=fee,
        stamp_duty=stamp_duty,
        total=total,
        amount_due=total - vat if profile.split_payment else total,
        notes=tuple(notes),
        letter_of_intent_amount=covered if ceiling_left is not None else ZERO,
    )
