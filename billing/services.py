"""Payments through the payment provider (starting one, what its callback does), and the monthly billing run.

Both the provider's HTTP callback (billing.views.payment_callback) and the
sandbox's in-process delivery call `payment_callback_receive`: one path from
a verified event to its effect.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date, timedelta
from decimal import Decimal

from django.conf import settings
from django.db import IntegrityError, connection, transaction
from django.db.models import Exists, F, OuterRef, Q, Subquery
from django.utils import timezone
from django.utils.translation import gettext

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
    PaymentMethodKind,
    PaymentPurpose,
    PaymentStatus,
    TaxExemption,
    TaxExemptionKind,
)
from billing.payment_methods import payment_methods_for_invoices
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
        try:
            with transaction.atomic():
                claimed = Payment.objects.filter(pk=payment.pk, status=PaymentStatus.PENDING).update(
                    status=PaymentStatus.PAID if paid else PaymentStatus.FAILED,
                    completed_at=now,
                    provider_reference=event.provider_reference,
                    failure_reason="" if paid else (event.failure_reason or "declined"),
                )
        except IntegrityError:
            if payment.purpose != PaymentPurpose.INVOICE:
                raise
            # payment_invoice_paid_once: another payment of the same invoice
            # was paid first. The money of this one was taken all the same:
            # recorded as failed, to refund, and the callback still answers 200.
            from billing.invoice_payments import invoice_payment_paid_twice

            return invoice_payment_paid_twice(payment=payment, event=event)
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
    elif payment.purpose == PaymentPurpose.INVOICE:
        from billing.invoice_payments import invoice_payment_paid

        invoice_payment_paid(payment=payment)


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


def billing_run_month(*, year: int, month: int, issued_on: date | None = None) -> BillingRun:
    """Bill `month` of `year`: one invoice per company with something to bill, never two.

    Joins the month's running run if there is one (a run whose worker died,
    or one started at the same time), else starts a new one over every
    company; takes chunks nobody holds, then waits for the ones others hold,
    so it returns when the whole month is billed. A month already billed
    makes a run that bills nothing: companies with the month's invoice are
    left out, and an issued invoice is never touched.

    The invoices are dated `issued_on`, today in Rome unless given (the
    demo data bills past months on the first of the following month); they
    are numbered in the sequence of that date's year and due
    PAYMENT_TERM_DAYS later. A date before the last invoice of its year is
    refused: numbers and dates must go up together.
    """
    period = Month.of(year, month)
    issued_on = issued_on or timezone.localdate()
    run = _billing_run_open(period=period)
    # First the chunks nobody holds; then, waiting, those another worker
    # holds: done when it commits, or ours to do if it died (its lock goes
    # with its connection, and it wrote nothing).
    while _billing_run_chunk_bill(run=run, period=period, issued_on=issued_on, wait=False):
        pass
    while _billing_run_chunk_bill(run=run, period=period, issued_on=issued_on, wait=True):
        pass
    pending = BillingRunChunk.objects.filter(run_id=OuterRef("pk"), status=BillingRunChunkStatus.PENDING)
    BillingRun.objects.filter(pk=run.pk, status=BillingRunStatus.RUNNING).exclude(Exists(pending)).update(
        status=BillingRunStatus.DONE, finished_at=timezone.now()
    )
    run.refresh_from_db()
    # The month's spend alerts (insight.alerts), checked by a task once this is committed.
    from insight.hooks import insight_after_billing_run  # insight builds on billing, not the reverse

    insight_after_billing_run(month=period.first_day)
    return run


class BillingRunRefusedError(Exception):
    """A month that cannot be started from the admin: billed already, being billed, or not over yet."""


def billing_run_start(*, year: int, month: int, by: User) -> BillingRun:
    """Open the month's run for staff and have a worker bill it; never bills in the caller's request.

    Refused (BillingRunRefusedError, nothing enqueued) for a month not over
    yet in Rome, a month with a run done (already billed), or one running.
    The run row is made here, so the page can follow its progress at once
    and a second start finds it running; the Celery task joins it once the
    transaction commits.
    """
    from billing.tasks import billing_run  # the tasks module imports this one

    period = Month.of(year, month)
    if period.last_day >= timezone.localdate():
        raise BillingRunRefusedError(
            gettext("%(month)s is not over yet: only a past month can be billed.")
            % {"month": f"{year}-{month:02d}"}
        )
    existing = (
        BillingRun.objects.filter(period_start=period.first_day)
        .order_by("-status")
        .values_list("status", flat=True)
    )
    statuses = set(existing)
    if BillingRunStatus.RUNNING in statuses:
        raise BillingRunRefusedError(
            gettext("%(month)s is being billed right now: follow that run instead.")
            % {"month": f"{year}-{month:02d}"}
        )
    if BillingRunStatus.DONE in statuses:
        raise BillingRunRefusedError(
            gettext("%(month)s has been billed already: a month is never billed twice.")
            % {"month": f"{year}-{month:02d}"}
        )
    with transaction.atomic():
        try:
            with transaction.atomic():
                run = _billing_run_create(period=period)
        except IntegrityError:
            # Started by someone else a moment ago (billing_run_one_running_per_month).
            raise BillingRunRefusedError(
                gettext("%(month)s is being billed right now: follow that run instead.")
                % {"month": f"{year}-{month:02d}"}
            ) from None
        audit_record(
            actor=by,
            target=run,
            event="billing_run_started",
            details={"month": f"{year}-{month:02d}"},
        )
        transaction.on_commit(lambda: billing_run.delay(year, month))
    return run


def _billing_run_open(*, period: Month) -> BillingRun:
    """The month's running run, or a new one with its chunks of companies by id range."""
    running = BillingRun.objects.filter(
        period_start=period.first_day, status=BillingRunStatus.RUNNING
    ).first()
    if running is not None:
        return running
    try:
        with transaction.atomic():
            return _billing_run_create(period=period)
    except IntegrityError:
        # Another start of the same month created its run first
        # (billing_run_one_running_per_month): join that one.
        return BillingRun.objects.get(period_start=period.first_day, status=BillingRunStatus.RUNNING)


def _billing_run_create(*, period: Month) -> BillingRun:
    """A new running run of the month with its chunks, in the caller's transaction (IntegrityError if one runs)."""
    size = max(1, int(settings.BILLING_CHUNK_SIZE))
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


def _billing_run_chunk_bill(*, run: BillingRun, period: Month, issued_on: date, wait: bool) -> bool:
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
        first_company_id, last_company_id = chunk.first_company_id, chunk.last_company_id
        # Before reading what their ceilings have left: see _letters_of_intent_lock.
        _letters_of_intent_lock(
            first_company_id=first_company_id, last_company_id=last_company_id, month=period
        )
        # The chunk's approved exemptions, with the letters' remaining ceilings, in one query.
        profiles = tax_profiles_for(
            first_company_id=first_company_id, last_company_id=last_company_id, month=period
        )
        drafts = _invoice_drafts(
            period=period,
            first_company_id=first_company_id,
            last_company_id=last_company_id,
            profiles=profiles,
        )
        created = _invoices_issue(
            drafts=drafts, run=run, period=period, profiles=profiles, issued_on=issued_on
        )
        chunk.status = BillingRunChunkStatus.DONE
        chunk.invoices_created = created
        chunk.finished_at = timezone.now()
        chunk.save(update_fields=["status", "invoices_created", "finished_at"])
        BillingRun.objects.filter(pk=run.pk).update(
            chunks_done=F("chunks_done") + 1, invoices_created=F("invoices_created") + created
        )
    return True


def _letters_of_intent_lock(*, first_company_id: int, last_company_id: int, month: Month) -> None:
    """Lock the chunk's letters of intent in force until the caller's transaction ends.

    What a letter has left is read (tax_profiles_for) and spent (the
    invoices' letter_of_intent_amount) in the chunk's transaction. Within a
    run no two transactions bill the same company: a company is in one
    chunk, a chunk is billed by whoever holds its row lock, and a month is
    billed once per company (invoice_one_per_company_and_month). But runs
    of two different months may overlap (a past month started from the
    admin while the monthly run works), and they bill the same company in
    two transactions; the numbering lock does not order them when their
    issue dates fall in different years. So each chunk locks its letters
    first, in id order (the same order everywhere: no deadlock, and always
    before the numbering row), and reads the remainders after, in a
    statement of its own: under READ COMMITTED that statement sees what
    the previous holder committed. Credit notes only give ceiling back, so
    one committed meanwhile leaves the remainder read too low, never too high.
    """
    day = month.last_day
    list(
        TaxExemption.objects.select_for_update()
        .approved()
        .filter(
            kind=TaxExemptionKind.LETTER_OF_INTENT,
            company_id__gte=first_company_id,
            company_id__lte=last_company_id,
            valid_from__lte=day,
        )
        .filter(Q(valid_until__isnull=True) | Q(valid_until__gte=day))
        .order_by("pk")
        .values_list("pk", flat=True)
    )


def _invoice_drafts(
    *, period: Month, first_company_id: int, last_company_id: int, profiles: Mapping[int, TaxProfile]
) -> list[_DraftInvoice]:
    """What the companies of a chunk with no invoice for the month owe: three queries, whatever their size."""
    # The chunk's companies billed already, read first and left out by id:
    # an anti-join on the month's invoices is planned from statistics that
    # the run itself makes stale (thousands of invoices a minute), and
    # degrades into a scan of every invoice of the month for every line.
    invoiced = list(
        Invoice.objects.filter(
            kind=InvoiceKind.INVOICE,
            period_start=period.first_day,
            company_id__gte=first_company_id,
            company_id__lte=last_company_id,
        ).values_list("company_id", flat=True)
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
        .exclude(company_id__in=invoiced)
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
        .exclude(company_id__in=invoiced)
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
    *,
    drafts: list[_DraftInvoice],
    run: BillingRun,
    period: Month,
    profiles: Mapping[int, TaxProfile],
    issued_on: date,
) -> int:
    """Number and write the drafts' invoices, in the caller's transaction; how many were made.

    The numbering row is locked until the caller commits, so the numbers of
    concurrent runs follow one another, and a run that fails gives its
    numbers back with its rollback: gapless (DPR 633/1972 art. 21 c. 2 lett. b).
    A fixed number of statements whatever the number of invoices.
    """
    issuable = [(draft, draft.totals(profiles.get(draft.company_id, DEFAULT_PROFILE))) for draft in drafts]
    # An invoice is never negative: credits larger than the month's charges
    # stay unbilled and go on the next invoice.
    issuable = [(draft, totals) for draft, totals in issuable if totals.total > 0]
    if not issuable:
        return 0
    # The method in force now, copied onto the invoice: a later change never
    # rewrites an issued invoice (DOMAIN.md, "Payment method").
    methods = payment_methods_for_invoices(company_ids=[draft.company_id for draft, _ in issuable])
    sequence = _sequence_lock(kind=InvoiceKind.INVOICE, year=issued_on.year)
    # Numbers and dates go up together within a year (art. 21: the invoices
    # of a year are numbered in the order they are issued).
    last_issued_on = (
        Invoice.objects.filter(
            kind=InvoiceKind.INVOICE, year=issued_on.year, sequence_number=sequence.last_number
        )
        .values_list("issued_on", flat=True)
        .first()
    )
    if last_issued_on is not None and last_issued_on > issued_on:
        raise ValueError(
            f"invoice {sequence.last_number} of {issued_on.year} is dated {last_issued_on}: after {issued_on}"
        )
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
    due_on = issued_on + timedelta(days=PAYMENT_TERM_DAYS)
    invoices = []
    for offset, (draft, totals) in enumerate(issuable, start=1):
        sequence_number = sequence.last_number + offset
        profile = profiles.get(draft.company_id, DEFAULT_PROFILE)
        method, details = methods.get(draft.company_id, (PaymentMethodKind.BANK_TRANSFER, ""))
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
                due_on=due_on,
                taxable=totals.taxable,
                vat_rate=totals.vat_rate,
                vat=totals.vat,
                untaxed=totals.untaxed,
                concession_fee=totals.concession_fee,
                stamp_duty=totals.stamp_duty,
                total=totals.total,
                exemption_notes="\n".join(totals.notes),
                split_payment=profile.split_payment,
                payment_method=method,
                payment_details=details,
                # The letter the invoice used, if it used any of it: a letter
                # used up leaves the invoice wholly taxable and unlinked.
                letter_of_intent_id=profile.letter_of_intent_id if totals.letter_of_intent_amount else None,
                letter_of_intent_amount=totals.letter_of_intent_amount,
                billing_run=run,
            )
        )
    Invoice.objects.bulk_create(invoices, batch_size=1000)
    sequence.last_number += len(invoices)
    sequence.save(update_fields=["last_number"])
    _invoice_lines_write(
        [
            (
                invoice.pk,
                position,
                line.line_id,
                line.kind,
                line.description[:300],
                line.cost_centre,
                line.days,
                line.quantity.quantize(QUANTITY),
                line.unit_amount,
                line.amount,
                line.vat_applicable,
            )
            for invoice, (draft, _) in zip(invoices, issuable, strict=True)
            for position, line in enumerate(draft.lines, start=1)
        ]
    )
    charge_ids = [pk for draft, _ in issuable for pk in draft.extra_charge_ids]
    if charge_ids:
        # One statement for the chunk: each charge goes on its company's invoice of the month.
        ExtraCharge.objects.filter(pk__in=charge_ids, billed_on_invoice__isnull=True).update(
            billed_on_invoice=Subquery(
                Invoice.objects.filter(
                    kind=InvoiceKind.INVOICE, period_start=period.first_day, company_id=OuterRef("company_id")
                ).values("pk")[:1]
            )
        )
    return len(invoices)


QUANTITY = Decimal("0.0001")
_INVOICE_LINE_COLUMNS = (
    "invoice_id",
    "position",
    "line_id",
    "kind",
    "description",
    "cost_centre",
    "days",
    "quantity",
    "unit_amount",
    "amount",
    "vat_applicable",
)


def _invoice_lines_write(rows: list[tuple[object, ...]]) -> None:
    """Insert invoice lines given as rows of _INVOICE_LINE_COLUMNS, in the caller's transaction.

    On PostgreSQL one COPY: the run writes a few hundred thousand lines a
    month, and building a model instance and preparing each field for
    bulk_create cost several times the database's own work (benchmarks/
    bench_billing.py). Elsewhere (the embedded SQLite of `make run`),
    bulk_create.
    """
    if not rows:
        return
    if connection.vendor == "postgresql":
        columns = ", ".join(_INVOICE_LINE_COLUMNS)
        with (
            connection.cursor() as cursor,
            cursor.copy(f"COPY {InvoiceLine._meta.db_table} ({columns}) FROM STDIN") as copy,
        ):
            for row in rows:
                copy.write_row(row)
        return
    InvoiceLine.objects.bulk_create(
        [InvoiceLine(**dict(zip(_INVOICE_LINE_COLUMNS, row, strict=True))) for row in rows], batch_size=500
    )


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
