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
    letter_of_intent_share,
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


LETTER = VatExemption(
    treatment=VatTreatment.NON_TAXABLE,
    legal_reference="Non imponibile art. 8 c.1 lett. c DPR 633/1972, lettera d'intento prot. n. P-1",
)


def under_letter(left: str) -> TaxProfile:
    return TaxProfile(vat_exemption=LETTER, vat_exemption_ceiling_left=D(left), letter_of_intent_id=1)


def test_a_letter_with_enough_ceiling_left_makes_every_vat_able_amount_non_taxable() -> None:
    totals = invoice_totals(items=mobile_lines(7), profile=under_letter("70.00"))

    assert (totals.taxable, totals.vat_rate, totals.vat, totals.untaxed) == (
        D("0"),
        D("0"),
        D("0"),
        D("70.00"),
    )
    assert totals.letter_of_intent_amount == D("70.00")
    assert totals.notes[0] == LETTER.legal_reference


def test_an_invoice_over_what_the_letter_has_left_is_split_at_the_remainder() -> None:
    totals = invoice_totals(items=mobile_lines(7), profile=under_letter("45.55"))

    assert (totals.untaxed, totals.taxable, totals.vat_rate) == (D("45.55"), D("24.45"), D("22"))
    # VAT on the taxable part only: 24.45 x 22% = 5.379 → 5.38
    assert totals.vat == D("5.38")
    assert totals.letter_of_intent_amount == D("45.55")
    assert totals.total == D("45.55") + D("24.45") + D("5.38") + D("90.37") + D("2.00")
    assert "eccedenza di euro 24,45 assoggettata a IVA" in "\n".join(totals.notes)


def test_a_used_up_letter_leaves_the_invoice_wholly_taxable_and_unquoted() -> None:
    for left in ("0.00", "-5.00"):
        totals = invoice_totals(items=mobile_lines(7), profile=under_letter(left))

        assert (totals.taxable, totals.vat_rate, totals.vat, totals.untaxed) == (
            D("70.00"),
            D("22"),
            D("15.40"),
            D("0"),
        )
        assert totals.letter_of_intent_amount == D("0")
        assert not any("lettera d'intento" in note for note in totals.notes)


def test_the_part_under_the_letter_counts_towards_stamp_duty_and_the_taxable_excess_does_not() -> None:
    # 70.00 non-taxable + 10.00 taxable; 70.00 alone is not over €77.47.
    items = [TaxItem(amount=D("80.00"), vat_applicable=True)]

    assert invoice_totals(items=items, profile=under_letter("70.00")).stamp_duty == D("0")
    assert invoice_totals(items=items, profile=under_letter("77.48")).stamp_duty == D("2.00")


def test_credits_on_the_invoice_are_netted_before_the_ceiling_is_applied() -> None:
    items = [
        TaxItem(amount=D("100.00"), vat_applicable=True),
        TaxItem(amount=D("-30.00"), vat_applicable=True),
    ]

    totals = invoice_totals(items=items, profile=under_letter("50.00"))

    assert (totals.untaxed, totals.taxable, totals.letter_of_intent_amount) == (
        D("50.00"),
        D("20.00"),
        D("50.00"),
    )


def test_letter_of_intent_share_is_what_is_left_or_the_amount_whichever_is_smaller_never_negative() -> None:
    assert letter_of_intent_share(vat_able=D("70.00"), ceiling_left=D("100.00")) == D("70.00")
    assert letter_of_intent_share(vat_able=D("70.00"), ceiling_left=D("20.00")) == D("20.00")
    assert letter_of_intent_share(vat_able=D("70.00"), ceiling_left=D("-1.00")) == D("0")
    assert letter_of_intent_share(vat_able=D("-10.00"), ceiling_left=D("20.00")) == D("0")


def test_only_a_non_taxable_letter_has_a_ceiling() -> None:
    with pytest.raises(ValueError, match="ceiling"):
        TaxProfile(vat_exemption_ceiling_left=D("10"))
    with pytest.raises(ValueError, match="ceiling"):
        TaxProfile(
            vat_exemption=VatExemption(treatment=VatTreatment.EXEMPT, legal_reference="Esente art. 10"),
            vat_exemption_ceiling_left=D("10"),
        )
