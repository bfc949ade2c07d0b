"""Expired invoices: the daily task marks unpaid invoices past their due date, and tells the billing managers once.

Set-based: each chunk is one UPDATE … RETURNING, in its own transaction
with the notifications of the invoices it expired (the outbox: the message
exists if and only if the invoice's new status was committed). Running it
twice expires nothing twice and notifies nobody twice: an expired invoice no
longer matches, and each notification's key is the invoice's.
"""

from __future__ import annotations

import logging
from collections import defaultdict
from datetime import date

from django.db import connection, transaction
from django.db.models import Case, F, Sum, When
from django.urls import reverse
from django.utils import timezone

from billing.models import Invoice, InvoiceKind, InvoiceStatus
from billing.taxes import ZERO
from selfcare.models import Membership, Role, User
from selfcare.permissions import can_manage_billing
from selfcare.services.notifications import notify

logger = logging.getLogger(__name__)

# Invoices per transaction: a month's invoices of every company expire on
# the same day, and one transaction for all of them would hold their locks
# (and render every message) at once.
EXPIRY_CHUNK_SIZE = 500


def invoices_expire(*, today: date | None = None, chunk_size: int = EXPIRY_CHUNK_SIZE) -> int:
    """Mark invoices issued and due before `today` (Rome) as expired; how many this call expired.

    Only invoices: a credit note asks for no payment and never expires. An
    invoice due today is not expired yet: it may be paid until the day ends.
    """
    today = today or timezone.localdate()
    expired = 0
    while True:
        with transaction.atomic():
            rows = _expire_chunk(today=today, chunk_size=chunk_size)
            if rows:
                _notify_expired(invoice_ids=[invoice_id for invoice_id, _company_id in rows])
        expired += len(rows)
        if len(rows) < chunk_size:
            break
    if expired:
        logger.info("%d invoice(s) expired (due before %s)", expired, today.isoformat())
    return expired


def _expire_chunk(*, today: date, chunk_size: int) -> list[tuple[int, int]]:
    """One UPDATE: up to `chunk_size` invoices due before `today` to expired; their (id, company id).

    SKIP LOCKED: an invoice being paid or credited right now is left to the
    next run (its transaction may settle it), and two runs at once share
    the work instead of waiting for each other.
    """
    table = connection.ops.quote_name(Invoice._meta.db_table)
    with connection.cursor() as cursor:
        cursor.execute(
            f"""
            UPDATE {table} SET status = %s
            WHERE id IN (
                SELECT id FROM {table}
                WHERE kind = %s AND status = %s AND due_on < %s
                ORDER BY id
                LIMIT %s
                FOR UPDATE SKIP LOCKED
            )
            RETURNING id, company_id
            """,  # noqa: S608 - the table name comes from the model, every value is a parameter
            [InvoiceStatus.EXPIRED, InvoiceKind.INVOICE, InvoiceStatus.ISSUED, today, chunk_size],
        )
        return [(int(row[0]), int(row[1])) for row in cursor.fetchall()]


def _notify_expired(*, invoice_ids: list[int]) -> None:
    """Tell each company's billing managers, once per invoice, that it expired: three queries and the outbox."""
    invoices = list(Invoice.objects.filter(pk__in=invoice_ids).select_related("company").order_by("pk"))
    company_ids = {invoice.company_id for invoice in invoices}
    managers: dict[int, list[User]] = defaultdict(list)
    memberships = Membership.objects.filter(
        company_id__in=company_ids, role__in=[Role.ADMIN, Role.LEGAL_REP]
    ).select_related("user")
    for membership in memberships:
        if can_manage_billing(membership):
            managers[membership.company_id].append(membership.user)
    credited = dict(
        Invoice.objects.filter(corrects_id__in=invoice_ids, kind=InvoiceKind.CREDIT_NOTE)
        .values("corrects_id")
        .annotate(due=Sum(Case(When(split_payment=True, then=F("total") - F("vat")), default=F("total"))))
        .values_list("corrects_id", "due")
    )
    for invoice in invoices:
        notify(
            company=invoice.company,
            event="invoice_expired",
            # The invoice's own key: an invoice expires once, so it is told once.
            key=f"invoice-{invoice.pk}-expired",
            recipients=managers[invoice.company_id],
            context={"invoice": invoice, "amount_due": invoice.amount_due - credited.get(invoice.pk, ZERO)},
            link=reverse("billing:invoice-detail", kwargs={"pk": invoice.pk}),
        )
