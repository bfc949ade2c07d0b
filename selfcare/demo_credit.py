"""Demo residual credit for `seed_demo`: opening balances, recharges and usage on the demo prepaid lines.

A line that has movements already is left alone, so a second run adds
nothing. The movements go through `credit_apply`, like real ones; the first
prepaid line of each company ends below its low-credit threshold, so that
the alert and its notification can be seen.
"""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

from django.db import transaction
from django.utils import timezone

from selfcare.demo import Writer, demo_document
from selfcare.models import CreditMovement, CreditMovementKind, Line, LineStatus
from selfcare.models import Payment as OfferPayment
from selfcare.services.credit import credit_apply

# (kind, amount, description, days ago): the story of a prepaid line's month.
_STORY: list[tuple[CreditMovementKind, Decimal, str, int]] = [
    (CreditMovementKind.ADJUSTMENT, Decimal("15.00"), "Credito iniziale", 40),
    (CreditMovementKind.FEE, Decimal("-12.00"), "Rinnovo offerta", 31),
    (CreditMovementKind.RECHARGE, Decimal("20.00"), "Ricarica in negozio", 29),
    (CreditMovementKind.USAGE, Decimal("-2.40"), "Traffico extra soglia", 18),
    (CreditMovementKind.FEE, Decimal("-12.00"), "Rinnovo offerta", 1),
]
_LOW_THRESHOLD = Decimal("10.00")


def seed_credit(*, stdout: Writer) -> int:
    """Give the demo prepaid lines their credit history; returns how many movements were added."""
    vat_numbers = [company["vat_number"] for company in demo_document()["companies"]]
    lines = list(
        Line.objects.filter(company__vat_number__in=vat_numbers, offer__payment=OfferPayment.PREPAID)
        .exclude(status=LineStatus.CEASED)
        .exclude(credit_movements__isnull=False)
        .order_by("company_id", "number")
    )
    added = 0
    seen_companies: set[int] = set()
    now = timezone.now()
    with transaction.atomic():
        for index, line in enumerate(lines):
            first_of_company = line.company_id not in seen_companies
            seen_companies.add(line.company_id)
            # The first prepaid line of a company runs low; the others get
            # an extra recharge and stay above their threshold.
            story = list(_STORY)
            if not first_of_company:
                story.append(
                    (CreditMovementKind.RECHARGE, Decimal(10 + 10 * (index % 3)), "Ricarica online", 0)
                )
            Line.objects.filter(pk=line.pk).update(low_credit_threshold=_LOW_THRESHOLD)
            line.low_credit_threshold = _LOW_THRESHOLD
            for kind, amount, description, days_ago in story:
                movement = credit_apply(line=line, amount=amount, kind=kind, description=description)
                # Spread over the past weeks, as they happened.
                CreditMovement.objects.filter(pk=movement.pk).update(
                    created_at=now - timedelta(days=days_ago, minutes=index)
                )
                added += 1
    stdout.write(f"Demo credit: {added} movements added on {len(lines)} prepaid lines.")
    return added
