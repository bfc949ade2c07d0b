"""The admin of the invoices' files: the documents (read-only), and the Invoice admin's actions on them.

`InvoiceDocumentsAdminMixin` gives billing.admin.InvoiceAdmin its actions:
issue a copy (the notification then goes to the company's billing managers),
and record the exchange's receipts (delivered, not delivered, rejected).
Both go through the services (billing.documents, billing.sdi), which hold
the rules; the admin only reports what they did.
"""

from __future__ import annotations

from typing import Any

from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import HttpRequest
from django.utils.translation import gettext, ngettext
from django.utils.translation import gettext_lazy as _

from billing.documents import invoice_copy_request
from billing.models import Invoice, InvoiceDocument, SdiState
from billing.sdi import SdiTransitionError, sdi_state_record
from selfcare.admin_base import ReadOnlyModelAdmin, admin_staff_user


class InvoiceDocumentsAdminMixin(admin.ModelAdmin[Invoice]):
    def has_issue_copy_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return request.user.has_perm("billing.add_invoicedocument")

    def has_sdi_receipt_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return request.user.has_perm("billing.change_invoice")

    @admin.action(description=_("Issue a copy of the selected invoices"), permissions=["issue_copy"])
    def issue_copy(self, request: HttpRequest, queryset: QuerySet[Invoice]) -> None:
        user = admin_staff_user(request)
        asked = joined = 0
        for invoice in queryset.select_related("company"):
            _document, created = invoice_copy_request(invoice=invoice, by=user)
            asked += created
            joined += not created
        if asked:
            self.message_user(
                request,
                ngettext(
                    "%(count)d copy is being prepared: the company's billing managers will be told when it is ready.",
                    "%(count)d copies are being prepared: the companies' billing managers will be told when ready.",
                    asked,
                )
                % {"count": asked},
                messages.SUCCESS,
            )
        if joined:
            self.message_user(
                request,
                ngettext(
                    "%(count)d invoice already had a copy being prepared: no new one was made.",
                    "%(count)d invoices already had a copy being prepared: no new ones were made.",
                    joined,
                )
                % {"count": joined},
                messages.WARNING,
            )

    def _record(self, request: HttpRequest, queryset: QuerySet[Invoice], state: SdiState) -> None:
        user = admin_staff_user(request)
        moved = 0
        refused: list[str] = []
        for invoice in queryset:
            try:
                moved += sdi_state_record(invoice=invoice, state=state, identifier="", by=user)
            except SdiTransitionError:
                refused.append(invoice.number)
        if moved:
            self.message_user(
                request,
                ngettext(
                    "%(count)d invoice is now: %(state)s.", "%(count)d invoices are now: %(state)s.", moved
                )
                % {"count": moved, "state": state.label},
                messages.SUCCESS,
            )
        if refused:
            self.message_user(
                request,
                gettext("Only an invoice sent to the exchange can get its receipt; not changed: %(numbers)s")
                % {"numbers": ", ".join(refused)},
                messages.ERROR,
            )

    @admin.action(description=_("Record the exchange's receipt: delivered"), permissions=["sdi_receipt"])
    def sdi_delivered(self, request: HttpRequest, queryset: QuerySet[Invoice]) -> None:
        self._record(request, queryset, SdiState.DELIVERED)

    @admin.action(description=_("Record the exchange's receipt: not delivered"), permissions=["sdi_receipt"])
    def sdi_not_delivered(self, request: HttpRequest, queryset: QuerySet[Invoice]) -> None:
        self._record(request, queryset, SdiState.NOT_DELIVERED)

    @admin.action(description=_("Record the exchange's receipt: rejected"), permissions=["sdi_receipt"])
    def sdi_rejected(self, request: HttpRequest, queryset: QuerySet[Invoice]) -> None:
        self._record(request, queryset, SdiState.REJECTED)


_DOCUMENT_FIELDS = ("invoice", "kind", "status", "stored_file", "requested_by", "requested_at", "ready_at")


class InvoiceDocumentAdmin(ReadOnlyModelAdmin[InvoiceDocument]):
    """The invoices' files as made: staff look; copies are issued from the invoice, files never edited."""

    list_display = [
        "invoice",
        "invoice_company",
        "kind",
        "status",
        "requested_by",
        "requested_at",
        "ready_at",
    ]
    list_filter = ["kind", "status", "requested_at"]
    search_fields = ["=invoice__number", "invoice__company__name", "=invoice__company__vat_number"]
    list_select_related = ["invoice__company", "requested_by"]
    fields = _DOCUMENT_FIELDS
    readonly_fields = _DOCUMENT_FIELDS
    date_hierarchy = "requested_at"

    @admin.display(description=_("file in private storage"))
    def stored_file(self, document: InvoiceDocument) -> str:
        # Its name only: private storage has no URL, and a file leaves it only through the portal's checks.
        return document.file.name or "-"

    @admin.display(description=_("company"), ordering="invoice__company__name")
    def invoice_company(self, document: InvoiceDocument) -> str:
        return document.invoice.company.name
