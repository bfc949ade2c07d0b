"""Payments through the payment provider (starting one, what its callback does), and the monthly billing run.

Both the provider's HTTP callback (billing.views.payment_callback) and the
sandbox's in-process delivery call `payment_callback_receive`: one path from
a verified event to its effect.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import timedelta
from decimal import Decimal

from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import Exists, F, OuterRef, Q
from django.utils import timezone

from billing.models import (
    BillingRun,
    BillingRunChunk,
    BillingRunChunkStatus,
    BillingRunStatus,
    ExtraCharge,
    ExtraChargeKind,
    Invoice,
    InvoiceKind,
    InvoiceLine,
    InvoiceLineKind,
    InvoiceSequence,
    Payment,
    PaymentEvent,
    PaymentPurpose,
    PaymentStatus,
    TaxExemption,
)
from billing.payments import CallbackRejectedError, PaymentOutcome, ProviderEvent, payment_provider
from billing.selectors import tax_profiles_for
from billing.taxes import (
    DEFAULT_PROFILE,
    InvoiceTotals,
    Month,
    TaxItem,
    TaxProfile,
    concession_fee,
    days_active,
    invoice_totals,
    line_fee,
    to_cents,
)
from selfcare.models import Company, Line, LineKind, LineStatus, User
from selfcare.models import Payment as OfferPayment
from selfcare.services.audit import audit_record

logger = logging.getLogger(__name__)


class PaymentNotFoundError(Exception):
    """A callback about a payment the portal never started with that provider."""


def payment_start(*, payment: Payment, return_url: str) -> str:
    """The address of the provider's hosted page for a pending payment."""
    provider = payment_provider()
    if payment.provider != provider.name or payment.status != PaymentStatus.PENDING:
        raise ValueError("only a pending payment of the configured provider can be started")
    return provider.start(payment=payment, return_url=return_url)


def payment_callback_receive(*, event: ProviderEvent) -> Payment:
    """Record a verified provider event once, and complete its payment.

    The event row is unique per provider and event id: the same callback
    delivered twice finds its row there and does nothing more. An event
    whose amount or currency is not the payment's is refused (the
    provider's error, or a reference reused): nothing is recorded.
    """
    payment = Payment.objects.filter(reference=event.payment_reference, provider=event.provider).first()
    if payment is None:
        raise PaymentNotFoundError(str(event.payment_reference))
    if event.amount != payment.amount or event.currency != payment.currency:
        raise CallbackRejectedError("amount or currency differ from the payment's")
    with transaction.atomic():
        try:
            with transaction.atomic():
                PaymentEvent.objects.create(
                    provider=event.provider,
                    event_id=event.event_id,
                    payment=payment,
                    outcome=event.outcome,
                    payload=event.payload,
                )
        except IntegrityError:
            logger.info("payment event %s:%s received again: ignored", event.provider, event.event_id)
            return payment
        payment_complete(payment=payment, event=event)
    payment.refresh_from_db()
    return payment


def payment_complete(*, payment: Payment, event: ProviderEvent) -> bool:
    """Move a pending payment to paid or failed, once, and apply its effect; whether this call did it.

    The claim (an update conditioned on PENDING) is what makes a second
    event about the same payment, even a different one, change nothing.
    """
    paid = event.outcome == PaymentOutcome.PAID
    now = timezone.now()
    with transaction.atomic():
        claimed = Payment.objects.filter(pk=payment.pk, status=PaymentStatus.PENDING).update(
            status=PaymentStatus.PAID if paid else PaymentStatus.FAILED,
            completed_at=now,
            provider_reference=event.provider_reference,
            failure_reason="" if paid else (event.failure_reason or "declined"),
        )
        if claimed != 1:
            return False
        payment.refresh_from_db()
        if paid:
            _paid_effect(payment)
    return True


def _paid_effect(payment: Payment) -> None:
    """What a paid payment does, by purpose; in the claim's transaction, so both happen or neither."""
    if payment.purpose == PaymentPurpose.RECHARGE:
        from selfcare.services.credit import credit_recharge

        credit_recharge(payment=payment)
    # PaymentPurpose.INVOICE: the invoices feature marks its invoice paid here.


# ---------------------------------------------------------------------------
# The monthly billing run (DOMAIN.md, "What an invoice holds"; ARCHITECTURE.md, "Background work")
# ---------------------------------------------------------------------------

# Days from issue to the due date.
PAYMENT_TERM_DAYS = 30


@dataclass
class _DraftLine:
    kind: str
    description: str
    amount: Decimal
    vat_applicable: bool
    unit_amount: Decimal
    line_id: int | None = None
    cost_centre: str = ""
    days: int | None = None
    quantity: Decimal = Decimal(1)


@dataclass
class _DraftInvoice:
    company_id: int
    lines: list[_DraftLine] = field(default_factory=list)
    extra_charge_ids: list[int] = field(default_factory=list)

    def totals(self, profile: TaxProfile) -> InvoiceTotals:
        return invoice_totals(
            items=[
                TaxItem(
                    amount=line.amount,
                    vat_applicable=line.vat_applicable,
                    is_concession_fee=line.kind == InvoiceLineKind.CONCESSION_FEE,
                )
                for line in self.lines
            ],
            profile=profile,
        )


def billing_run_month(*, year: int, month: int) -> BillingRun:
    """Bill `month` of `year`: one invoice per company with something to bill, never two.

    Joins the month's running run if there is one (a run whose worker died,
    or one started at the same time), else starts a new one over every
    company; takes chunks nobody holds, then waits for the ones others hold,
    so it returns when the whole month is billed. A month already billed
    makes a run that bills nothing: companies with the month's invoice are
    left out, and an issued invoice is never touched.
    """
    period = Month.of(year, month)
    run = _billing_run_open(period=period)
    # First the chunks nobody holds; then, waiting, those another worker
    # holds: done when it commits, or ours to do if it died (its lock goes
    # with its connection, and it wrote nothing).
    while _billing_run_chunk_bill(run=run, period=period, wait=False):
        pass
    while _billing_run_chunk_bill(run=run, period=period, wait=True):
        pass
    pending = BillingRunChunk.objects.filter(run_id=OuterRef("pk"), status=BillingRunChunkStatus.PENDING)
    BillingRun.objects.filter(pk=run.pk, status=BillingRunStatus.RUNNING).exclude(Exists(pending)).update(
        status=BillingRunStatus.DONE, finished_at=timezone.now()
    )
    run.refresh_from_db()
    return run


def _billing_run_open(*, period: Month) -> BillingRun:
    """The month's running run, or a new one with its chunks of companies by id range."""
    running = BillingRun.objects.filter(
        period_start=period.first_day, status=BillingRunStatus.RUNNING
    ).first()
    if running is not None:
        return running
    size = max(1, int(settings.BILLING_CHUNK_SIZE))
    try:
        with transaction.atomic():
            run = BillingRun.objects.create(period_start=period.first_day)
            company_ids = list(Company.objects.order_by("pk").values_list("pk", flat=True))
            chunks = [
                BillingRunChunk(
                    run=run,
                    first_company_id=company_ids[start],
                    last_company_id=company_ids[min(start + size, len(company_ids)) - 1],
                )
                for start in range(0, len(company_ids), size)
            ]
            BillingRunChunk.objects.bulk_create(chunks)
            run.chunks_total = len(chunks)
            run.save(update_fields=["chunks_total"])
            return run
    except IntegrityError:
        # Another start of the same month created its run first
        # (billing_run_one_running_per_month): join that one.
        return BillingRun.objects.get(period_start=period.first_day, status=BillingRunStatus.RUNNING)


def _billing_run_chunk_bill(*, run: BillingRun, period: Month, wait: bool) -> bool:
    """Claim one pending chunk and bill its companies in one transaction; whether there was one."""
    with transaction.atomic():
        chunk = (
            BillingRunChunk.objects.select_for_update(skip_locked=not wait)
            .filter(run=run, status=BillingRunChunkStatus.PENDING)
            .order_by("first_company_id")
            .first()
        )
        if chunk is None:
            return False
        # The chunk's approved exemptions in one query, whatever their number.
        profiles = tax_profiles_for(
            first_company_id=chunk.first_company_id, last_company_id=chunk.last_company_id, month=period
        )
        drafts = _invoice_drafts(
            period=period,
            first_company_id=chunk.first_company_id,
            last_company_id=chunk.last_company_id,
            profiles=profiles,
        )
        created = _invoices_issue(drafts=drafts, run=run, period=period, profiles=profiles)
        chunk.status = BillingRunChunkStatus.DONE
        chunk.invoices_created = created
        chunk.finished_at = timezone.now()
        chunk.save(update_fields=["status", "invoices_created", "finished_at"])
        BillingRun.objects.filter(pk=run.pk).update(
            chunks_done=F("chunks_done") + 1, invoices_created=F("invoices_created") + created
        )
    return True


def _invoice_drafts(
    *, period: Month, first_company_id: int, last_company_id: int, profiles: Mapping[int, TaxProfile]
) -> list[_DraftInvoice]:
    """What the companies of a chunk with no invoice for the month owe: two queries, whatever their size."""
    invoiced = Invoice.objects.filter(
        kind=InvoiceKind.INVOICE, period_start=period.first_day, company_id=OuterRef("company_id")
    )
    lines = (
        Line.objects.filter(
            company_id__gte=first_company_id,
            company_id__lte=last_company_id,
            offer__payment=OfferPayment.POSTPAID,  # prepaid fees come out of the credit
        )
        # Active at least one day of the month. Without `activated_on`, the
        # line is billed from the day it was first imported (CONTRACTS.md).
        .filter(
            Q(activated_on__lte=period.last_day)
            | Q(activated_on__isnull=True, created_at__date__lte=period.last_day)
        )
        .filter(Q(ceased_on__isnull=True) | Q(ceased_on__gte=period.first_day))
        # A line ceased with no date: when it stopped is unknown, so no fee is invented.
        .exclude(status=LineStatus.CEASED, ceased_on__isnull=True)
        .exclude(Exists(invoiced))
        .order_by("company_id", "number", "pk")
        .values_list(
            "pk",
            "company_id",
            "number",
            "kind",
            "cost_centre",
            "activated_on",
            "ceased_on",
            "created_at",
            "offer__name",
            "offer__monthly_fee",
        )
    )
    charges = (
        ExtraCharge.objects.filter(
            company_id__gte=first_company_id,
            company_id__lte=last_company_id,
            # A charge that arrives after its month was billed goes on the next invoice.
            period_start__lte=period.first_day,
            billed_on_invoice__isnull=True,
        )
        .exclude(Exists(invoiced))
        .select_related("line")
        .order_by("company_id", "period_start", "pk")
    )
    drafts: dict[int, _DraftInvoice] = {}
    for pk, company_id, number, kind, cost_centre, activated_on, ceased_on, created_at, offer, fee in lines:
        start = activated_on or timezone.localdate(created_at)
        days = days_active(month=period, activated_on=start, ceased_on=ceased_on)
        if days <= 0:
            continue
        draft = drafts.setdefault(company_id, _DraftInvoice(company_id=company_id))
        first = max(start, period.first_day)
        last = period.last_day if ceased_on is None else min(ceased_on, period.last_day)
        draft.lines.append(
            _DraftLine(
                kind=InvoiceLineKind.FEE,
                description=f"{offer} - {number}, {first:%d/%m/%Y}-{last:%d/%m/%Y}",
                amount=line_fee(monthly_fee=fee, days=days, month=period),
                vat_applicable=True,
                unit_amount=fee,
                line_id=pk,
                cost_centre=cost_centre,
                days=days,
                quantity=Decimal(days) / Decimal(period.days),
            )
        )
        tax = concession_fee(
            is_mobile=kind == LineKind.MOBILE, days=days, profile=profiles.get(company_id, DEFAULT_PROFILE)
        )
        if tax:
            draft.lines.append(
                _DraftLine(
                    kind=InvoiceLineKind.CONCESSION_FEE,
                    description=f"Tassa di concessione governativa (DPR 641/1972) - {number}",
                    amount=tax,
                    vat_applicable=False,
                    unit_amount=tax,
                    line_id=pk,
                    cost_centre=cost_centre,
                )
            )
    for charge in charges:
        draft = drafts.setdefault(charge.company_id, _DraftInvoice(company_id=charge.company_id))
        draft.lines.append(
            _DraftLine(
                kind=InvoiceLineKind.CREDIT
                if charge.kind == ExtraChargeKind.CREDIT
                else InvoiceLineKind.CHARGE,
                description=charge.description,
                amount=to_cents(charge.amount),
                vat_applicable=charge.vat_applicable,
                unit_amount=charge.amount,
                line_id=charge.line_id,
                cost_centre=charge.line.cost_centre if charge.line else "",
            )
        )
        draft.extra_charge_ids.append(charge.pk)
    return [drafts[company_id] for company_id in sorted(drafts)]


def _invoices_issue(
    *, drafts: list[_DraftInvoice], run: BillingRun, period: Month, profiles: Mapping[int, TaxProfile]
) -> int:
    """Number and write the drafts' invoices, in the caller's transaction; how many were made.

    The numbering row is locked until the caller commits, so the numbers of
    concurrent runs follow one another, and a run that fails gives its
    numbers back with its rollback: gapless (DPR 633/1972 art. 21 c. 2 lett. b).
    """
    issuable = [(draft, draft.totals(profiles.get(draft.company_id, DEFAULT_PROFILE))) for draft in drafts]
    # An invoice is never negative: credits larger than the month's charges
    # stay unbilled and go on the next invoice.
    issuable = [(draft, totals) for draft, totals in issuable if totals.total > 0]
    if not issuable:
        return 0
    issued_on = timezone.localdate()
    sequence = _sequence_lock(kind=InvoiceKind.INVOICE, year=issued_on.year)
    # Under the numbering lock no other run can be writing this month's
    # invoices: whatever it made is committed and visible now.
    already = set(
        Invoice.objects.filter(
            kind=InvoiceKind.INVOICE,
            period_start=period.first_day,
            company_id__in=[draft.company_id for draft, _ in issuable],
        ).values_list("company_id", flat=True)
    )
    issuable = [(draft, totals) for draft, totals in issuable if draft.company_id not in already]
    if not issuable:
        return 0
    invoices = []
    for offset, (draft, totals) in enumerate(issuable, start=1):
        sequence_number = sequence.last_number + offset
        invoices.append(
            Invoice(
                company_id=draft.company_id,
                kind=InvoiceKind.INVOICE,
                year=issued_on.year,
                sequence_number=sequence_number,
                number=f"{issued_on.year}/{sequence_number:06d}",
                issued_on=issued_on,
                period_start=period.first_day,
                period_end=period.last_day,
                due_on=issued_on + timedelta(days=PAYMENT_TERM_DAYS),
                taxable=totals.taxable,
                vat_rate=totals.vat_rate,
                vat=totals.vat,
                untaxed=totals.untaxed,
                concession_fee=totals.concession_fee,
                stamp_duty=totals.stamp_duty,
                total=totals.total,
                exemption_notes="\n".join(totals.notes),
                split_payment=profiles.get(draft.company_id, DEFAULT_PROFILE).split_payment,
                billing_run=run,
            )
        )
    Invoice.objects.bulk_create(invoices, batch_size=1000)
    sequence.last_number += len(invoices)
    sequence.save(update_fields=["last_number"])
    InvoiceLine.objects.bulk_create(
        [
            InvoiceLine(
                invoice=invoice,
                position=position,
                line_id=line.line_id,
                kind=line.kind,
                description=line.description[:300],
                cost_centre=line.cost_centre,
                days=line.days,
                quantity=line.quantity.quantize(Decimal("0.0001")),
                unit_amount=line.unit_amount,
                amount=line.amount,
                vat_applicable=line.vat_applicable,
            )
            for invoice, (draft, _) in zip(invoices, issuable, strict=True)
            for position, line in enumerate(draft.lines, start=1)
        ],
        batch_size=2000,
    )
    for invoice, (draft, _) in zip(invoices, issuable, strict=True):
        if draft.extra_charge_ids:
            ExtraCharge.objects.filter(pk__in=draft.extra_charge_ids, billed_on_invoice__isnull=True).update(
                billed_on_invoice=invoice
            )
    return len(invoices)


def _sequence_lock(*, kind: str, year: int) -> InvoiceSequence:
    """The numbering row of `kind` and `year`, locked until the caller's transaction ends."""
    # ON CONFLICT DO NOTHING: the first run of a year creates the row; a
    # concurrent one waits for that insert instead of failing on it.
    InvoiceSequence.objects.bulk_create([InvoiceSequence(kind=kind, year=year)], ignore_conflicts=True)
    return InvoiceSequence.objects.select_for_update().get(kind=kind, year=year)


# ---------------------------------------------------------------------------
# Tax exemptions
# ---------------------------------------------------------------------------


def tax_exemption_approve(*, exemption: TaxExemption, by: User) -> bool:
    """Approve an exemption, once, recording who and when; whether this call did it.

    From then on the billing runs of the months it is valid for apply it;
    invoices already issued stay as they are.
    """
    now = timezone.now()
    with transaction.atomic():
        claimed = TaxExemption.objects.filter(pk=exemption.pk, approved_at__isnull=True).update(
            approved_at=now, approved_by=by
        )
        if claimed != 1:
            return False
        exemption.refresh_from_db()
        audit_record(
            actor=by,
            target=exemption,
            event="tax_exemption_approved",
            details={"company_id": exemption.company_id, "kind": exemption.kind},
        )
    return True
