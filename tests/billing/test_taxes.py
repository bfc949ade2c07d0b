"""The tax engine (billing.taxes): fees by days, concession fee, VAT once on the total, stamp duty."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest

from billing.taxes import (
    Month,
    TaxItem,
    TaxProfile,
    VatExemption,
    VatTreatment,
    concession_fee,
    days_active,
    invoice_totals,
    line_fee,
)

NOVEMBER = Month.of(2026, 11)
D = Decimal


def mobile_lines(count: int, fee: str = "10.00") -> list[TaxItem]:
    items = []
    for _ in range(count):
        items.append(TaxItem(amount=D(fee), vat_applicable=True))
        items.append(TaxItem(amount=D("12.91"), vat_applicable=False, is_concession_fee=True))
    return items


def test_seven_postpaid_mobile_lines_at_ten_euros_make_the_acceptance_invoice() -> None:
    totals = invoice_totals(items=mobile_lines(7))

    assert (totals.taxable, totals.vat, totals.concession_fee, totals.stamp_duty, totals.total) == (
        D("70.00"),
        D("15.40"),
        D("90.37"),
        D("2.00"),
        D("177.77"),
    )


def test_six_lines_carry_no_stamp_duty_because_77_46_is_not_over_77_47() -> None:
    totals = invoice_totals(items=mobile_lines(6))

    assert totals.concession_fee == D("77.46")
    assert totals.stamp_duty == D("0.00")
    assert totals.total == D("60.00") + D("13.20") + D("77.46")


def test_stamp_duty_is_due_only_over_the_threshold_not_at_it() -> None:
    at = invoice_totals(items=[TaxItem(amount=D("77.47"), vat_applicable=False)])
    over = invoice_totals(items=[TaxItem(amount=D("77.48"), vat_applicable=False)])

    assert at.stamp_duty == D("0.00")
    assert over.stamp_duty == D("2.00")


def test_credits_without_vat_count_at_their_absolute_value_for_the_stamp_duty() -> None:
    items = [
        TaxItem(amount=D("100.00"), vat_applicable=True),
        TaxItem(amount=D("40.00"), vat_applicable=False, is_concession_fee=True),
        TaxItem(amount=D("-40.00"), vat_applicable=False),  # a compensation credit
    ]

    totals = invoice_totals(items=items)

    assert totals.untaxed == D("-40.00")
    assert totals.stamp_duty == D("2.00")
    assert totals.total == D("100.00") + D("22.00") + D("40.00") - D("40.00") + D("2.00")


def test_vat_is_rounded_once_on_the_taxable_total_not_summed_from_rounded_lines() -> None:
    # 0.03 x 22% = 0.0066 → 0.01 a line, 0.03 over three lines; on the total
    # 0.09 x 22% = 0.0198 → 0.02.
    items = [TaxItem(amount=D("0.03"), vat_applicable=True) for _ in range(3)]

    totals = invoice_totals(items=items)

    assert totals.vat == D("0.02")
    assert totals.total == D("0.11")


def test_vat_is_rounded_half_up() -> None:
    # 0.75 x 22% = 0.165: half-up gives 0.17 where banker's rounding would give 0.16.
    assert invoice_totals(items=[TaxItem(amount=D("0.75"), vat_applicable=True)]).vat == D("0.17")


def test_invoice_lines_must_come_rounded_to_the_cent() -> None:
    with pytest.raises(ValueError, match="rounded"):
        invoice_totals(items=[TaxItem(amount=D("1.005"), vat_applicable=True)])


@pytest.mark.parametrize(
    ("activated_on", "ceased_on", "days"),
    [
        (date(2025, 1, 1), None, 30),
        (date(2026, 11, 16), None, 15),
        (date(2026, 11, 30), None, 1),
        (date(2026, 12, 1), None, 0),
        (date(2025, 1, 1), date(2026, 11, 10), 10),
        (date(2025, 1, 1), date(2026, 10, 31), 0),
        (date(2026, 11, 5), date(2026, 11, 5), 1),
    ],
)
def test_days_active_count_from_activation_through_cessation(
    activated_on: date, ceased_on: date | None, days: int
) -> None:
    assert days_active(month=NOVEMBER, activated_on=activated_on, ceased_on=ceased_on) == days


def test_the_fee_is_in_proportion_to_the_days_and_rounded_half_up() -> None:
    assert line_fee(monthly_fee=D("10.00"), days=30, month=NOVEMBER) == D("10.00")
    assert line_fee(monthly_fee=D("10.00"), days=15, month=NOVEMBER) == D("5.00")
    # 29 x 10 / 30 = 9.6666… → 9.67; 1 x 29 / 30 = 0.9666… → 0.97; 3 x 0.50 / 30 = 0.05
    assert line_fee(monthly_fee=D("10.00"), days=29, month=NOVEMBER) == D("9.67")
    assert line_fee(monthly_fee=D("29.00"), days=1, month=NOVEMBER) == D("0.97")
    assert line_fee(monthly_fee=D("0.50"), days=3, month=NOVEMBER) == D("0.05")


def test_the_concession_fee_is_whole_for_one_day_and_none_for_fixed_lines() -> None:
    assert concession_fee(is_mobile=True, days=1) == D("12.91")
    assert concession_fee(is_mobile=True, days=30) == D("12.91")
    assert concession_fee(is_mobile=True, days=0) == D("0.00")
    assert concession_fee(is_mobile=False, days=30) == D("0.00")


def test_a_concession_fee_exemption_waives_it() -> None:
    assert concession_fee(is_mobile=True, days=30, profile=TaxProfile(concession_fee_exempt=True)) == D(
        "0.00"
    )


def test_a_stamp_duty_exemption_waives_it() -> None:
    totals = invoice_totals(items=mobile_lines(7), profile=TaxProfile(stamp_duty_exempt=True))

    assert totals.stamp_duty == D("0.00")
    assert totals.total == D("175.77")


def test_a_vat_exemption_makes_fees_non_taxable_with_its_legal_reference_and_counts_for_stamp_duty() -> None:
    exemption = VatExemption(
        treatment=VatTreatment.NON_TAXABLE,
        legal_reference="Non imponibile art. 8 c. 1 lett. c DPR 633/1972, lettera d'intento prot. 123",
    )

    totals = invoice_totals(
        items=[TaxItem(amount=D("80.00"), vat_applicable=True)], profile=TaxProfile(vat_exemption=exemption)
    )

    assert (totals.taxable, totals.vat, totals.untaxed, totals.stamp_duty) == (
        D("0.00"),
        D("0.00"),
        D("80.00"),
        D("2.00"),
    )
    assert exemption.legal_reference in totals.notes


def test_split_payment_shows_vat_but_the_customer_pays_it_to_the_treasury() -> None:
    totals = invoice_totals(
        items=[TaxItem(amount=D("100.00"), vat_applicable=True)], profile=TaxProfile(split_payment=True)
    )

    assert totals.vat == D("22.00")
    assert totals.total == D("122.00")
    assert totals.amount_due == D("100.00")


def test_a_vat_exemption_needs_its_legal_reference() -> None:
    with pytest.raises(ValueError, match="legal reference"):
        VatExemption(treatment=VatTreatment.EXEMPT, legal_reference=" ")


def test_months_know_their_last_day() -> None:
    assert Month.of(2028, 2).last_day == date(2028, 2, 29)
    assert Month.of(2026, 12).last_day == date(2026, 12, 31)
