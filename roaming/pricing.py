"""What a trip abroad costs, as pure functions on `Decimal` (docs/roaming.md, "The calculator").

Nothing here reads the database: the selector finds the country's zone and
the rate of the day, and these functions price the usage. Amounts are
rounded half-up to the cent once per kind of traffic (as invoice lines
are), VAT once on their total (as on the invoice: DPR 633/1972 art. 21).
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from django.db import models
from django.utils.translation import gettext_lazy as _

from billing.taxes import STANDARD_VAT_RATE, ZERO, to_cents


class CostKind(models.TextChoices):
    CALLS_MADE = "calls_made", _("Calls made (minutes)")
    CALLS_RECEIVED = "calls_received", _("Calls received (minutes)")
    SMS = "sms", _("SMS sent")
    DATA = "data", _("Data (MB)")


def vat_of(amount: Decimal, *, rate: Decimal = STANDARD_VAT_RATE) -> Decimal:
    """The VAT on an amount excluding VAT, rounded half-up to the cent."""
    return to_cents(amount * rate / Decimal(100))


def with_vat(amount: Decimal, *, rate: Decimal = STANDARD_VAT_RATE) -> Decimal:
    """An amount or unit price excluding VAT, with VAT added, rounded half-up to the cent (as the price list shows it)."""
    return to_cents(amount * (Decimal(100) + rate) / Decimal(100))


@dataclass(frozen=True)
class UnitPrices:
    """A zone's prices, VAT excluded (roaming.models.RoamingRate)."""

    call_made_per_minute: Decimal
    call_received_per_minute: Decimal
    sms: Decimal
    data_per_mb: Decimal


@dataclass(frozen=True)
class TripUsage:
    """What the traveller expects to use each day, for `days` days."""

    days: int
    minutes_made: int = 0
    minutes_received: int = 0
    sms: int = 0
    megabytes: int = 0


@dataclass(frozen=True)
class CostLine:
    """One kind of traffic of the trip: its quantity over the whole trip, unit price and cost (excl. VAT)."""

    kind: CostKind
    quantity: int
    unit_price: Decimal
    amount: Decimal


@dataclass(frozen=True)
class TripCost:
    lines: tuple[CostLine, ...]
    total: Decimal
    vat: Decimal

    @property
    def total_with_vat(self) -> Decimal:
        return self.total + self.vat


NO_COST = TripCost(lines=(), total=ZERO, vat=ZERO)


def trip_cost(*, prices: UnitPrices, usage: TripUsage, vat_rate: Decimal = STANDARD_VAT_RATE) -> TripCost:
    """The trip's cost: each kind of traffic `days * daily quantity * unit price`, rounded to the cent.

    VAT is computed once on the total excluding VAT and rounded then, not
    summed from the lines.
    """
    quantities = (
        (CostKind.CALLS_MADE, usage.minutes_made, prices.call_made_per_minute),
        (CostKind.CALLS_RECEIVED, usage.minutes_received, prices.call_received_per_minute),
        (CostKind.SMS, usage.sms, prices.sms),
        (CostKind.DATA, usage.megabytes, prices.data_per_mb),
    )
    lines = tuple(
        CostLine(
            kind=kind,
            quantity=usage.days * daily,
            unit_price=price,
            amount=to_cents(usage.days * daily * price),
        )
        for kind, daily, price in quantities
    )
    total = sum((line.amount for line in lines), ZERO)
    return TripCost(lines=lines, total=total, vat=vat_of(total, rate=vat_rate))
