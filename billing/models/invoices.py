"""Payments, invoices and their documents, payment methods, tax exemptions and the billing run."""

from __future__ import annotations

import uuid
from datetime import date
from decimal import Decimal

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from selfcare import permissions
from selfcare.fields import EncryptedTextField
from selfcare.models import Company, Line, Membership
from selfcare.tenancy import TenantQuerySet


class PaymentPurpose(models.TextChoices):
    RECHARGE = "recharge", _("Recharge of a prepaid line")
    INVOICE = "invoice", _("Payment of an invoice")


class PaymentStatus(models.TextChoices):
    PENDING = "pending", _("Waiting for the payment")
    PAID = "paid", _("Paid")
    FAILED = "failed", _("Failed")
    CANCELLED = "cancelled", _("Cancelled")


class PaymentQuerySet(TenantQuerySet["Payment"]):
    def visible_to(self, membership: Membership) -> PaymentQuerySet:
        """The company's payments for those who handle billing; a line user's recharges of their lines."""
        mine = self.filter(company_id=membership.company_id)
        if permissions.can_manage_billing(membership):
            return mine
        return mine.filter(Q(line__assigned_to_id=membership.pk) & Q(purpose=PaymentPurpose.RECHARGE))


class Payment(models.Model):
    """One payment through the payment provider's hosted page.

    The provider answers with a signed callback; each callback event is kept
    (PaymentEvent, unique per provider event) and the payment moves from
    pending once, so a repeated callback pays once.
    """

    reference = models.UUIDField(_("reference"), default=uuid.uuid4, unique=True, editable=False)
    company = models.ForeignKey(
        Company, on_delete=models.PROTECT, related_name="payments", verbose_name=_("company")
    )
    purpose = models.CharField(_("purpose"), max_length=10, choices=PaymentPurpose.choices)
    line = models.ForeignKey(
        Line, on_delete=models.PROTECT, null=True, blank=True, related_name="payments", verbose_name=_("line")
    )
    invoice = models.ForeignKey(
        "Invoice",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="payments",
        verbose_name=_("invoice"),
    )
    amount = models.DecimalField(_("amount"), max_digits=10, decimal_places=2)
    currency = models.CharField(_("currency"), max_length=3, default="EUR")
    status = models.CharField(
        _("status"), max_length=10, choices=PaymentStatus.choices, default=PaymentStatus.PENDING
    )
    provider = models.CharField(_("payment provider"), max_length=40)
    provider_reference = models.CharField(_("provider's reference"), max_length=100, blank=True)
    failure_reason = models.CharField(_("reason of the failure"), max_length=200, blank=True)
    receipt_number = models.CharField(_("receipt number"), max_length=30, null=True, blank=True, unique=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("made by"),
    )
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)
    completed_at = models.DateTimeField(_("completed at"), null=True, blank=True)

    objects = PaymentQuerySet.as_manager()

    class Meta:
        verbose_name = _("payment")
        verbose_name_plural = _("payments")
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["company", "-created_at"], name="payment_company_recent")]
        constraints = [
            # However many payments were started for an invoice, one is paid.
            models.UniqueConstraint(
                fields=["invoice"],
                condition=Q(status="paid", invoice__isnull=False),
                name="payment_invoice_paid_once",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.get_purpose_display()} {self.amount} {self.currency} ({self.status})"


class PaymentEvent(models.Model):
    """A callback of the payment provider, kept once per provider event id (idempotency)."""

    provider = models.CharField(_("payment provider"), max_length=40)
    event_id = models.CharField(_("event id"), max_length=100)
    payment = models.ForeignKey(
        Payment, on_delete=models.CASCADE, related_name="events", verbose_name=_("payment")
    )
    outcome = models.CharField(_("outcome"), max_length=20)
    payload = models.JSONField(_("payload"), default=dict)
    received_at = models.DateTimeField(_("received at"), auto_now_add=True)

    class Meta:
        verbose_name = _("payment provider event")
        verbose_name_plural = _("payment provider events")
        ordering = ["-received_at"]
        constraints = [
            models.UniqueConstraint(
                fields=["provider", "event_id"], name="payment_event_once_per_provider_id"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.provider}:{self.event_id} {self.outcome}"


# ---------------------------------------------------------------------------
# Invoices and the monthly billing run (DOMAIN.md, "Invoices, payments and taxes")
# ---------------------------------------------------------------------------


class InvoiceKind(models.TextChoices):
    INVOICE = "invoice", _("Invoice")
    CREDIT_NOTE = "credit_note", _("Credit note")


class InvoiceStatus(models.TextChoices):
    ISSUED = "issued", _("Issued, to be paid")
    PAID = "paid", _("Paid")
    EXPIRED = "expired", _("Expired, unpaid")


class SdiState(models.TextChoices):
    """Where the FatturaPA document is in the national exchange (SdI)."""

    TO_SEND = "to_send", _("To be sent")
    SENT = "sent", _("Sent to the exchange")
    DELIVERED = "delivered", _("Delivered")
    NOT_DELIVERED = "not_delivered", _("Not delivered: available in the customer's tax area")
    REJECTED = "rejected", _("Rejected by the exchange")


class PaymentMethodKind(models.TextChoices):
    SEPA_DIRECT_DEBIT = "sepa_direct_debit", _("SEPA direct debit")
    CARD = "card", _("Payment card")
    BANK_TRANSFER = "bank_transfer", _("Bank transfer")


class InvoiceSequence(models.Model):
    """The last number given, per document kind and year: invoices and credit notes count apart.

    The billing run locks the row (SELECT … FOR UPDATE) in the transaction
    that inserts the invoices, so two runs at once wait for each other and a
    rolled-back run gives its numbers back: no number is skipped or used twice.
    """

    kind = models.CharField(_("kind"), max_length=12, choices=InvoiceKind.choices)
    year = models.PositiveSmallIntegerField(_("year"))
    last_number = models.PositiveIntegerField(_("last number given"), default=0)

    class Meta:
        verbose_name = _("invoice numbering")
        verbose_name_plural = _("invoice numbering")
        constraints = [
            models.UniqueConstraint(fields=["kind", "year"], name="invoice_sequence_one_per_kind_and_year"),
        ]

    def __str__(self) -> str:
        return f"{self.kind} {self.year}: {self.last_number}"


class InvoiceQuerySet(TenantQuerySet["Invoice"]):
    def visible_to(self, membership: Membership) -> InvoiceQuerySet:
        """The company's invoices and credit notes, for those who handle billing; nobody else's."""
        if not permissions.can_manage_billing(membership):
            return self.none()
        return self.filter(company_id=membership.company_id)


class Invoice(models.Model):
    """An invoice or a credit note, as issued: never changed afterwards (a correction is a credit note).

    Only `status` (paid, expired) and `sdi_state` move after issue.
    `total` = `taxable` + `vat` + `untaxed` + `concession_fee` + `stamp_duty`.
    """

    company = models.ForeignKey(
        Company, on_delete=models.PROTECT, related_name="invoices", verbose_name=_("company")
    )
    kind = models.CharField(
        _("kind"), max_length=12, choices=InvoiceKind.choices, default=InvoiceKind.INVOICE
    )
    year = models.PositiveSmallIntegerField(_("year of numbering"))
    sequence_number = models.PositiveIntegerField(_("progressive number"))
    number = models.CharField(_("number"), max_length=20)
    corrects = models.ForeignKey(
        "self",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="credit_notes",
        verbose_name=_("invoice corrected"),
    )
    issued_on = models.DateField(_("issued on"))
    period_start = models.DateField(_("period from"))
    period_end = models.DateField(_("period to"))
    due_on = models.DateField(_("due on"))
    status = models.CharField(
        _("status"), max_length=10, choices=InvoiceStatus.choices, default=InvoiceStatus.ISSUED
    )
    taxable = models.DecimalField(_("taxable amount"), max_digits=12, decimal_places=2)
    vat_rate = models.DecimalField(_("VAT rate (%)"), max_digits=5, decimal_places=2)
    vat = models.DecimalField(_("VAT"), max_digits=12, decimal_places=2)
    untaxed = models.DecimalField(
        _("amounts without VAT"),
        max_digits=12,
        decimal_places=2,
        default=0,
        help_text=_("Exempt, non-taxable and out-of-scope amounts other than the concession fee."),
    )
    concession_fee = models.DecimalField(_("government concession fee"), max_digits=12, decimal_places=2)
    stamp_duty = models.DecimalField(_("stamp duty"), max_digits=12, decimal_places=2)
    total = models.DecimalField(_("total"), max_digits=12, decimal_places=2)
    exemption_notes = models.TextField(_("exemptions and legal references"), blank=True)
    # DPR 633/1972 art. 17-ter: the VAT is on the invoice (and in `total`) but
    # the public body pays it to the Treasury, so the operator collects
    # `total` - `vat`. Kept as a fact of the invoice: the payment page and the
    # FatturaPA (EsigibilitaIVA "S") need it, and the notes are free text.
    split_payment = models.BooleanField(_("split payment"), default=False)
    payment_method = models.CharField(
        _("payment method"),
        max_length=20,
        choices=PaymentMethodKind.choices,
        default=PaymentMethodKind.BANK_TRANSFER,
    )
    # The method as it stood at issue, masked (e.g. the IBAN's last four
    # digits and the mandate): printed on the PDF and in the FatturaPA, and
    # unchanged when the company later changes its method.
    payment_details = models.CharField(_("payment details"), max_length=300, blank=True)
    # The letter of intent the invoice used, and the amount it invoiced
    # without VAT under it: their sum over a letter's invoices (credit notes
    # negative) is what the letter's ceiling has left.
    letter_of_intent = models.ForeignKey(
        "TaxExemption",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="invoices",
        verbose_name=_("letter of intent"),
    )
    letter_of_intent_amount = models.DecimalField(
        _("amount under the letter of intent"), max_digits=12, decimal_places=2, default=0
    )
    reason = models.CharField(
        _("reason"), max_length=300, blank=True, help_text=_("Credit notes: why the invoice is corrected.")
    )
    sdi_state = models.CharField(
        _("electronic invoice state"), max_length=14, choices=SdiState.choices, default=SdiState.TO_SEND
    )
    sdi_identifier = models.CharField(
        _("exchange identifier"), max_length=40, blank=True, help_text=_("The SdI's id of the file sent.")
    )
    sdi_updated_at = models.DateTimeField(_("electronic invoice state changed at"), null=True, blank=True)
    billing_run = models.ForeignKey(
        "BillingRun",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="invoices",
        verbose_name=_("billing run"),
    )
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)

    objects = InvoiceQuerySet.as_manager()

    class Meta:
        verbose_name = _("invoice")
        verbose_name_plural = _("invoices")
        ordering = ["-issued_on", "-year", "-sequence_number"]
        constraints = [
            models.UniqueConstraint(
                fields=["kind", "year", "sequence_number"], name="invoice_number_once_per_kind_and_year"
            ),
            # A month is billed once per company, whatever runs overlap.
            models.UniqueConstraint(
                fields=["company", "period_start"],
                condition=Q(kind="invoice"),
                name="invoice_one_per_company_and_month",
            ),
        ]
        indexes = [
            models.Index(fields=["company", "-issued_on"], name="invoice_company_recent"),
            models.Index(fields=["period_start", "kind"], name="invoice_period_kind"),
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} {self.number}"

    @property
    def amount_due(self) -> Decimal:
        """What the customer pays the operator: the total, less the VAT under split payment."""
        return self.total - self.vat if self.split_payment else self.total


class InvoiceLineKind(models.TextChoices):
    FEE = "fee", _("Monthly fee")
    CONCESSION_FEE = "concession_fee", _("Government concession fee")
    CHARGE = "charge", _("Charge")
    CREDIT = "credit", _("Credit")


class InvoiceLine(models.Model):
    """One line of an invoice: a line's fee or concession fee, a charge or a credit; rounded to the cent."""

    invoice = models.ForeignKey(
        Invoice, on_delete=models.CASCADE, related_name="lines", verbose_name=_("invoice")
    )
    position = models.PositiveIntegerField(_("position"))
    line = models.ForeignKey(
        Line, on_delete=models.PROTECT, null=True, blank=True, related_name="+", verbose_name=_("line")
    )
    kind = models.CharField(_("kind"), max_length=16, choices=InvoiceLineKind.choices)
    description = models.CharField(_("description"), max_length=300)
    cost_centre = models.CharField(_("cost centre"), max_length=100, blank=True)
    days = models.PositiveSmallIntegerField(_("days billed"), null=True, blank=True)
    quantity = models.DecimalField(_("quantity"), max_digits=12, decimal_places=4, default=1)
    unit_amount = models.DecimalField(_("unit amount"), max_digits=12, decimal_places=4)
    amount = models.DecimalField(_("amount"), max_digits=12, decimal_places=2)
    vat_applicable = models.BooleanField(_("subject to VAT"))

    class Meta:
        verbose_name = _("invoice line")
        verbose_name_plural = _("invoice lines")
        ordering = ["invoice", "position"]

    def __str__(self) -> str:
        return f"{self.description}: {self.amount}"


class ExtraChargeKind(models.TextChoices):
    CHARGE = "charge", _("Charge")
    CREDIT = "credit", _("Credit")


class ExtraCharge(models.Model):
    """A charge or credit for a month, written by other features, put on that month's invoice.

    The interface through which roaming, replacement SIMs and compensation
    reach the invoice: write a row for the month; the billing run takes the
    month's rows that are not on an invoice yet. `amount` is positive for a
    charge and negative for a credit.
    """

    company = models.ForeignKey(
        Company, on_delete=models.PROTECT, related_name="extra_charges", verbose_name=_("company")
    )
    line = models.ForeignKey(
        Line,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="extra_charges",
        verbose_name=_("line"),
    )
    period_start = models.DateField(_("month"), help_text=_("The first day of the month billed."))
    kind = models.CharField(_("kind"), max_length=8, choices=ExtraChargeKind.choices)
    description = models.CharField(_("description"), max_length=300)
    amount = models.DecimalField(_("amount"), max_digits=12, decimal_places=2)
    vat_applicable = models.BooleanField(_("subject to VAT"), default=True)
    billed_on_invoice = models.ForeignKey(
        Invoice,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="extra_charges",
        verbose_name=_("billed on invoice"),
    )
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)

    class Meta:
        verbose_name = _("charge or credit")
        verbose_name_plural = _("charges and credits")
        ordering = ["period_start", "id"]
        constraints = [
            models.CheckConstraint(
                condition=(Q(kind="charge") & Q(amount__gte=0)) | (Q(kind="credit") & Q(amount__lte=0)),
                name="extra_charge_sign_matches_kind",
            ),
        ]
        indexes = [
            models.Index(
                fields=["period_start", "company"],
                condition=Q(billed_on_invoice__isnull=True),
                name="extra_charge_unbilled",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.description}: {self.amount}"


class BillingRunStatus(models.TextChoices):
    RUNNING = "running", _("Running")
    DONE = "done", _("Done")


class BillingRun(models.Model):
    """The billing of one month, with its progress in its chunks: a run whose worker died resumes from them.

    At most one run of a month is running: a second start joins it and
    takes the chunks nobody holds.
    """

    period_start = models.DateField(_("month"))
    status = models.CharField(
        _("status"), max_length=10, choices=BillingRunStatus.choices, default=BillingRunStatus.RUNNING
    )
    started_at = models.DateTimeField(_("started at"), default=timezone.now)
    finished_at = models.DateTimeField(_("finished at"), null=True, blank=True)
    chunks_total = models.PositiveIntegerField(_("chunks"), default=0)
    chunks_done = models.PositiveIntegerField(_("chunks done"), default=0)
    invoices_created = models.PositiveIntegerField(_("invoices made"), default=0)

    class Meta:
        verbose_name = _("billing run")
        verbose_name_plural = _("billing runs")
        ordering = ["-started_at", "-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["period_start"],
                condition=Q(status="running"),
                name="billing_run_one_running_per_month",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.period_start:%Y-%m} ({self.status})"


class BillingRunChunkStatus(models.TextChoices):
    PENDING = "pending", _("To do")
    DONE = "done", _("Done")


class BillingRunChunk(models.Model):
    """The companies of a run with ids in [first_company_id, last_company_id].

    A worker claims a chunk with SELECT … FOR UPDATE SKIP LOCKED and bills it
    in that one transaction, marking it done at the end: a worker that dies
    mid-chunk leaves it pending with nothing written, and its lock goes with
    its connection, so the next worker takes it.
    """

    run = models.ForeignKey(
        BillingRun, on_delete=models.CASCADE, related_name="chunks", verbose_name=_("run")
    )
    first_company_id = models.BigIntegerField(_("first company id"))
    last_company_id = models.BigIntegerField(_("last company id"))
    status = models.CharField(
        _("status"),
        max_length=10,
        choices=BillingRunChunkStatus.choices,
        default=BillingRunChunkStatus.PENDING,
    )
    invoices_created = models.PositiveIntegerField(_("invoices made"), default=0)
    finished_at = models.DateTimeField(_("finished at"), null=True, blank=True)

    class Meta:
        verbose_name = _("billing run chunk")
        verbose_name_plural = _("billing run chunks")
        ordering = ["run", "first_company_id"]

    def __str__(self) -> str:
        return f"{self.run} [{self.first_company_id}-{self.last_company_id}] {self.status}"


# ---------------------------------------------------------------------------
# Tax exemptions (DOMAIN.md, "Taxes": approved exemptions, each with a validity period)
# ---------------------------------------------------------------------------


class TaxExemptionKind(models.TextChoices):
    VAT_EXEMPT = "vat_exempt", _("VAT exempt regime")
    VAT_NON_TAXABLE = "vat_non_taxable", _("VAT non-taxable regime")
    LETTER_OF_INTENT = "letter_of_intent", _("Letter of intent (non-taxable)")
    SPLIT_PAYMENT = "split_payment", _("Split payment (public body)")
    CONCESSION_FEE = "concession_fee", _("Government concession fee exemption")
    STAMP_DUTY = "stamp_duty", _("Stamp duty exemption")


# The kinds that change what the VAT-able amounts become: one at a time for a company.
VAT_EXEMPTION_KINDS = frozenset(
    {TaxExemptionKind.VAT_EXEMPT, TaxExemptionKind.VAT_NON_TAXABLE, TaxExemptionKind.LETTER_OF_INTENT}
)


def tax_exemption_errors(
    *,
    kind: str,
    legal_reference: str,
    protocol_number: str,
    ceiling: Decimal | None,
    valid_from: date | None,
    valid_until: date | None,
) -> dict[str, str]:
    """What is wrong with an exemption's fields for its kind, by field (empty when nothing is)."""
    errors: dict[str, str] = {}
    if kind in VAT_EXEMPTION_KINDS and not legal_reference.strip():
        # An exempt or non-taxable invoice must say why (DPR 633/1972 art. 21 c. 6).
        errors["legal_reference"] = gettext(
            "An exempt or non-taxable regime needs the legal reference to print."
        )
    if kind == TaxExemptionKind.LETTER_OF_INTENT:
        if not protocol_number.strip():
            errors["protocol_number"] = gettext("A letter of intent needs its protocol number.")
        if ceiling is None or ceiling <= 0:
            errors["ceiling"] = gettext("A letter of intent needs its ceiling, more than zero.")
    else:
        if protocol_number.strip():
            errors["protocol_number"] = gettext("Only a letter of intent has a protocol number.")
        if ceiling is not None:
            errors["ceiling"] = gettext("Only a letter of intent has a ceiling.")
    if valid_from is not None and valid_until is not None and valid_until < valid_from:
        errors["valid_until"] = gettext("The end of the validity cannot come before its start.")
    return errors


class TaxExemptionQuerySet(TenantQuerySet["TaxExemption"]):
    def visible_to(self, membership: Membership) -> TaxExemptionQuerySet:
        """The company's exemptions, for those who handle billing; nobody else's."""
        if not permissions.can_manage_billing(membership):
            return self.none()
        return self.filter(company_id=membership.company_id)

    def approved(self) -> TaxExemptionQuerySet:
        return self.filter(approved_at__isnull=False)


class TaxExemption(models.Model):
    """An exemption of a company's invoices, applied by the billing run once approved and within its validity."""

    company = models.ForeignKey(
        Company, on_delete=models.PROTECT, related_name="tax_exemptions", verbose_name=_("company")
    )
    kind = models.CharField(_("kind"), max_length=20, choices=TaxExemptionKind.choices)
    legal_reference = models.CharField(
        _("legal reference"),
        max_length=200,
        blank=True,
        help_text=_('Printed on the invoice, e.g. "Esente art. 10 DPR 633/1972".'),
    )
    protocol_number = models.CharField(
        _("protocol number"), max_length=60, blank=True, help_text=_("Letter of intent only.")
    )
    ceiling = models.DecimalField(
        _("ceiling"),
        max_digits=12,
        decimal_places=2,
        null=True,
        blank=True,
        help_text=_("Letter of intent only: the amount that may be invoiced without VAT."),
    )
    valid_from = models.DateField(_("valid from"))
    valid_until = models.DateField(
        _("valid until"), null=True, blank=True, help_text=_("Empty when it has no end.")
    )
    approved_at = models.DateTimeField(_("approved at"), null=True, blank=True)
    approved_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("approved by"),
    )
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)

    objects = TaxExemptionQuerySet.as_manager()

    class Meta:
        verbose_name = _("tax exemption")
        verbose_name_plural = _("tax exemptions")
        ordering = ["company", "-valid_from", "-id"]
        indexes = [models.Index(fields=["company", "valid_from"], name="tax_exemption_company_from")]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} ({self.valid_from:%d/%m/%Y})"

    def clean(self) -> None:
        errors = tax_exemption_errors(
            kind=self.kind,
            legal_reference=self.legal_reference,
            protocol_number=self.protocol_number,
            ceiling=self.ceiling,
            valid_from=self.valid_from,
            valid_until=self.valid_until,
        )
        if not errors and self.company_id is not None and self.valid_from is not None:
            # Two VAT regimes at once would leave the run to pick one: refused here instead.
            kinds = VAT_EXEMPTION_KINDS if self.kind in VAT_EXEMPTION_KINDS else {self.kind}
            overlapping = TaxExemption.objects.filter(company_id=self.company_id, kind__in=kinds).filter(
                Q(valid_until__isnull=True) | Q(valid_until__gte=self.valid_from)
            )
            if self.valid_until is not None:
                overlapping = overlapping.filter(valid_from__lte=self.valid_until)
            if overlapping.exclude(pk=self.pk).exists():
                errors["valid_from"] = gettext(
                    "The company already has an exemption of this kind for part of this period."
                )
        if errors:
            raise ValidationError(errors)


# ---------------------------------------------------------------------------
# Payment methods (DOMAIN.md, "Payment method")
# ---------------------------------------------------------------------------


class PaymentMethodQuerySet(TenantQuerySet["PaymentMethod"]):
    def visible_to(self, membership: Membership) -> PaymentMethodQuerySet:
        """The company's payment methods, for those who handle billing; nobody else's."""
        if not permissions.can_manage_billing(membership):
            return self.none()
        return self.filter(company_id=membership.company_id)

    def current(self) -> PaymentMethodQuerySet:
        return self.filter(superseded_at__isnull=True)


class PaymentMethod(models.Model):
    """How a company pays its invoices; a change is a new row and supersedes the current one.

    The billing run copies the current method onto each invoice it issues,
    so a change takes effect from the next invoice and never rewrites an
    issued one. A card is only the provider's token and what identifies it
    to a person (brand, last four digits, expiry): never its number. The
    IBAN is personal data, kept encrypted and shown masked.
    """

    company = models.ForeignKey(
        Company, on_delete=models.PROTECT, related_name="payment_methods", verbose_name=_("company")
    )
    kind = models.CharField(_("kind"), max_length=20, choices=PaymentMethodKind.choices)
    # SEPA direct debit
    iban = EncryptedTextField(_("IBAN"), blank=True)
    iban_last4 = models.CharField(_("IBAN's last four characters"), max_length=4, blank=True)
    account_holder = models.CharField(_("account holder"), max_length=140, blank=True)
    holder_tax_id = models.CharField(_("holder's tax code or VAT number"), max_length=16, blank=True)
    mandate_reference = models.CharField(_("mandate reference"), max_length=35, blank=True)
    mandate_signed_on = models.DateField(_("mandate signed on"), null=True, blank=True)
    # Card, through the payment provider
    card_token = models.CharField(_("provider's card token"), max_length=100, blank=True)
    card_brand = models.CharField(_("card brand"), max_length=20, blank=True)
    card_last4 = models.CharField(_("card's last four digits"), max_length=4, blank=True)
    card_expiry_month = models.PositiveSmallIntegerField(_("card expiry month"), null=True, blank=True)
    card_expiry_year = models.PositiveSmallIntegerField(_("card expiry year"), null=True, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("set by"),
    )
    created_at = models.DateTimeField(_("set at"), auto_now_add=True)
    superseded_at = models.DateTimeField(_("replaced at"), null=True, blank=True)

    objects = PaymentMethodQuerySet.as_manager()

    class Meta:
        verbose_name = _("payment method")
        verbose_name_plural = _("payment methods")
        ordering = ["company", "-created_at", "-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["company"],
                condition=Q(superseded_at__isnull=True),
                name="payment_method_one_current_per_company",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} ({self.company_id})"

    @property
    def masked_iban(self) -> str:
        """The IBAN as people may see it: country and last four characters only."""
        if not self.iban_last4:
            return ""
        return f"{self.iban[:2] if self.iban else ''}** **** **** {self.iban_last4}".strip()


# ---------------------------------------------------------------------------
# Invoice documents: PDF, FatturaPA XML and duplicates, in private storage
# ---------------------------------------------------------------------------


class InvoiceDocumentKind(models.TextChoices):
    PDF = "pdf", _("PDF")
    XML = "xml", _("Electronic invoice (FatturaPA XML)")
    DUPLICATE = "duplicate", _("Copy (duplicate PDF)")


class InvoiceDocumentStatus(models.TextChoices):
    PENDING = "pending", _("Being prepared")
    READY = "ready", _("Ready")
    FAILED = "failed", _("Failed")


class InvoiceDocumentQuerySet(TenantQuerySet["InvoiceDocument"]):
    def visible_to(self, membership: Membership) -> InvoiceDocumentQuerySet:
        """The documents of the company's invoices, for those who handle billing; nobody else's."""
        if not permissions.can_manage_billing(membership):
            return self.none()
        return self.filter(invoice__company_id=membership.company_id)


class InvoiceDocument(models.Model):
    """A file of an invoice in private storage, made when first asked for, streamed after a permission check.

    The PDF and the XML are made once per invoice (an issued invoice never
    changes, so neither do they); a duplicate is made in the background on
    request, and a second request while one is being prepared joins it.
    """

    invoice = models.ForeignKey(
        Invoice, on_delete=models.PROTECT, related_name="documents", verbose_name=_("invoice")
    )
    kind = models.CharField(_("kind"), max_length=10, choices=InvoiceDocumentKind.choices)
    status = models.CharField(
        _("status"),
        max_length=10,
        choices=InvoiceDocumentStatus.choices,
        default=InvoiceDocumentStatus.PENDING,
    )
    file = models.FileField(_("file"), upload_to="invoices/%Y/%m/", blank=True)
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("requested by"),
    )
    requested_at = models.DateTimeField(_("requested at"), auto_now_add=True)
    ready_at = models.DateTimeField(_("ready at"), null=True, blank=True)

    objects = InvoiceDocumentQuerySet.as_manager()

    class Meta:
        verbose_name = _("invoice document")
        verbose_name_plural = _("invoice documents")
        ordering = ["invoice", "kind", "-requested_at"]
        constraints = [
            models.UniqueConstraint(
                fields=["invoice", "kind"],
                condition=Q(kind__in=["pdf", "xml"]),
                name="invoice_document_one_original_per_kind",
            ),
            models.UniqueConstraint(
                fields=["invoice"],
                condition=Q(kind="duplicate", status="pending"),
                name="invoice_document_one_pending_duplicate",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} {self.invoice_id} ({self.status})"
