"""Payments and their callbacks, invoices and billing runs, for staff: read-only; tax exemptions, which staff record and approve.

A payment changes only through the provider's signed callback
(billing.services); staff look, filter and search, and never edit.
"""

from __future__ import annotations

from typing import Any

from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.db.models import QuerySet
from django.http import HttpRequest
from django.utils.translation import gettext, ngettext
from django.utils.translation import gettext_lazy as _

from billing.admin_documents import InvoiceDocumentAdmin, InvoiceDocumentsAdminMixin
from billing.admin_invoice_corrections import InvoiceCorrectionsAdminMixin
from billing.forms_billing_run import BillingRunAdminMixin
from billing.models import (
    BillingRun,
    BillingRunChunk,
    Invoice,
    InvoiceDocument,
    InvoiceLine,
    Payment,
    PaymentEvent,
    PaymentMethod,
    TaxExemption,
)
from billing.services import tax_exemption_approve
from selfcare.admin_base import ReadOnlyModelAdmin
from selfcare.models import User


class PaymentEventInline(admin.TabularInline[PaymentEvent, Payment]):
    model = PaymentEvent
    extra = 0
    fields = ["provider", "event_id", "outcome", "received_at"]
    readonly_fields = ["provider", "event_id", "outcome", "received_at"]
    can_delete = False
    show_change_link = True

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


@admin.register(Payment)
class PaymentAdmin(ReadOnlyModelAdmin[Payment]):
    list_display = [
        "reference",
        "company",
        "purpose",
        "line",
        "invoice",
        "amount",
        "status",
        "provider",
        "receipt_number",
        "created_at",
    ]
    list_filter = ["status", "purpose", "provider", "created_at"]
    search_fields = [
        "=reference",
        "receipt_number",
        "provider_reference",
        "line__number",
        "=invoice__number",
        "company__name",
    ]
    list_select_related = ["company", "line", "invoice"]
    date_hierarchy = "created_at"
    inlines = [PaymentEventInline]


@admin.register(PaymentEvent)
class PaymentEventAdmin(ReadOnlyModelAdmin[PaymentEvent]):
    list_display = ["provider", "event_id", "payment", "outcome", "received_at"]
    list_filter = ["provider", "outcome", "received_at"]
    search_fields = ["=event_id", "=payment__reference", "payment__receipt_number"]
    list_select_related = ["payment"]


_INVOICE_LINE_FIELDS: tuple[str, ...] = (
    "position",
    "kind",
    "description",
    "line",
    "cost_centre",
    "days",
    "unit_amount",
    "amount",
    "vat_applicable",
)


class InvoiceLineInline(admin.TabularInline[InvoiceLine, Invoice]):
    model = InvoiceLine
    extra = 0
    fields = _INVOICE_LINE_FIELDS
    readonly_fields = _INVOICE_LINE_FIELDS
    can_delete = False

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


@admin.register(Invoice)
class InvoiceAdmin(InvoiceDocumentsAdminMixin, InvoiceCorrectionsAdminMixin, ReadOnlyModelAdmin[Invoice]):
    """An issued invoice never changes (a correction is a credit note): staff look, credit, record transfers."""

    list_display = [
        "number",
        "kind",
        "company",
        "period_start",
        "issued_on",
        "due_on",
        "taxable",
        "vat",
        "concession_fee",
        "stamp_duty",
        "total",
        "status",
        "sdi_state",
    ]
    list_filter = ["kind", "status", "sdi_state", "year", "period_start"]
    search_fields = ["=number", "company__name", "=company__vat_number"]
    list_select_related = ["company"]
    date_hierarchy = "issued_on"
    inlines = [InvoiceLineInline]
    # billing.admin_invoice_corrections: a credit note's form, a bank transfer received.
    actions = ["issue_credit_note", "mark_paid_by_bank_transfer"]
    # billing.admin_documents: a copy for the company, the exchange's receipts.
    actions += ["issue_copy", "sdi_delivered", "sdi_not_delivered", "sdi_rejected"]


_CHUNK_FIELDS: tuple[str, ...] = (
    "first_company_id",
    "last_company_id",
    "status",
    "invoices_created",
    "finished_at",
)


class BillingRunChunkInline(admin.TabularInline[BillingRunChunk, BillingRun]):
    model = BillingRunChunk
    extra = 0
    fields = _CHUNK_FIELDS
    readonly_fields = _CHUNK_FIELDS
    can_delete = False

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


@admin.register(BillingRun)
class BillingRunAdmin(BillingRunAdminMixin, ReadOnlyModelAdmin[BillingRun]):
    # billing.forms_billing_run: "Start a billing run" and the progress that follows it.
    list_display = [
        "period_start",
        "status",
        "progress",
        "started_at",
        "finished_at",
        "chunks_done",
        "chunks_total",
        "invoices_created",
    ]
    list_filter = ["status", "period_start"]
    inlines = [BillingRunChunkInline]


class _ApprovalFilter(admin.SimpleListFilter):
    title = _("approval")
    parameter_name = "approved"

    def lookups(self, request: HttpRequest, model_admin: Any) -> list[tuple[str, str]]:
        return [("yes", gettext("Approved")), ("no", gettext("To approve"))]

    def queryset(self, request: HttpRequest, queryset: QuerySet[Any]) -> QuerySet[Any]:
        if self.value() == "yes":
            return queryset.filter(approved_at__isnull=False)
        if self.value() == "no":
            return queryset.filter(approved_at__isnull=True)
        return queryset


@admin.register(TaxExemption)
class TaxExemptionAdmin(admin.ModelAdmin[TaxExemption]):
    """Staff record a company's exemptions and approve them; the billing run applies the approved ones.

    The form validates the fields per kind (TaxExemption.clean); approval
    is an action, so who approved and when is never typed by hand.
    """

    list_display = [
        "company",
        "kind",
        "legal_reference",
        "protocol_number",
        "ceiling",
        "valid_from",
        "valid_until",
        "approved_at",
        "approved_by",
    ]
    list_filter = ["kind", _ApprovalFilter, "valid_from"]
    search_fields = ["company__name", "=company__vat_number", "legal_reference", "=protocol_number"]
    list_select_related = ["company", "approved_by"]
    autocomplete_fields = ["company"]
    readonly_fields = ["approved_at", "approved_by", "created_at"]
    actions = ["approve"]

    @admin.action(description=_("Approve the selected exemptions"), permissions=["change"])
    def approve(self, request: HttpRequest, queryset: QuerySet[TaxExemption]) -> None:
        user = request.user
        if not isinstance(user, User):  # the admin site lets only signed-in staff here
            raise PermissionDenied
        approved = sum(
            tax_exemption_approve(exemption=exemption, by=user)
            for exemption in queryset.filter(approved_at__isnull=True)
        )
        self.message_user(
            request,
            ngettext("%(count)d exemption approved.", "%(count)d exemptions approved.", approved)
            % {"count": approved},
            messages.SUCCESS,
        )


_PAYMENT_METHOD_FIELDS = (
    "company",
    "kind",
    "masked_iban_display",
    "account_holder",
    "holder_tax_id",
    "mandate_reference",
    "mandate_signed_on",
    "card_display",
    "created_by",
    "created_at",
    "superseded_at",
)


@admin.register(PaymentMethod)
class PaymentMethodAdmin(ReadOnlyModelAdmin[PaymentMethod]):
    """Companies' payment methods, current and superseded: read-only, and masked.

    A change is made by the company's admins or legal representatives in the
    portal (billing.payment_methods.payment_method_set), which audits it. The
    IBAN and the provider's card token are never shown here: only the masked
    IBAN and the card's brand and last four digits.
    """

    list_display = [
        "company",
        "kind",
        "masked_iban_display",
        "card_display",
        "created_at",
        "created_by",
        "superseded_at",
    ]
    list_filter = ["kind"]
    search_fields = ["company__name", "=company__vat_number"]
    list_select_related = ["company", "created_by"]
    # An explicit list: whatever is added to the model, the IBAN and the token stay out.
    fields = _PAYMENT_METHOD_FIELDS
    readonly_fields = _PAYMENT_METHOD_FIELDS

    @admin.display(description=_("IBAN"))
    def masked_iban_display(self, method: PaymentMethod) -> str:
        return method.masked_iban

    @admin.display(description=_("card"))
    def card_display(self, method: PaymentMethod) -> str:
        if not method.card_last4:
            return ""
        expiry = f"{method.card_expiry_month or 0:02d}/{method.card_expiry_year or 0}"
        return f"{method.card_brand} **** {method.card_last4} ({expiry})"


# The invoices' files (billing.admin_documents): read-only.
admin.site.register(InvoiceDocument, InvoiceDocumentAdmin)

# The legal representatives' requests for numbers in clear (billing.admin_clear_numbers): decided by actions.
from billing.admin_clear_numbers import ClearNumbersRequestAdmin  # noqa: E402  (kept with its registration)
from billing.models import ClearNumbersRequest  # noqa: E402

admin.site.register(ClearNumbersRequest, ClearNumbersRequestAdmin)

# Fair use (billing.admin_fair_use): the policy's rules with their limits, the runs, the findings
# decided by actions (each with its form page), and the measures, read-only.
from billing.admin_fair_use import (  # noqa: E402  (kept with its registration)
    FairUseFindingAdmin,
    FairUseMeasureAdmin,
    FairUseRuleAdmin,
    FairUseRunAdmin,
)
from billing.models import FairUseFinding, FairUseMeasure, FairUseRule, FairUseRun  # noqa: E402

admin.site.register(FairUseRule, FairUseRuleAdmin)
admin.site.register(FairUseRun, FairUseRunAdmin)
admin.site.register(FairUseFinding, FairUseFindingAdmin)
admin.site.register(FairUseMeasure, FairUseMeasureAdmin)
