"""The invoice admin's corrections: issue a credit note, record a bank transfer received.

A mixin of billing.admin.InvoiceAdmin, kept apart so that the shared admin
module only names it. Both go through the services (billing.credit_notes,
billing.invoice_payments), which audit them; the admin holds no rule.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from django import forms
from django.contrib import admin, messages
from django.contrib.admin.options import IS_POPUP_VAR
from django.core.exceptions import PermissionDenied, ValidationError
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import redirect
from django.template.response import TemplateResponse
from django.urls import URLPattern, path, reverse
from django.utils.translation import gettext, ngettext
from django.utils.translation import gettext_lazy as _

from billing.credit_notes import credit_note_issue
from billing.invoice_payments import invoice_mark_paid_by_bank_transfer
from billing.models import Invoice, InvoiceKind, InvoiceStatus
from selfcare.admin_base import admin_staff_user
from selfcare.forms import form_errors_from


class CreditNoteForm(forms.Form):
    FULL = "full"
    PARTIAL = "partial"

    scope = forms.ChoiceField(
        label=_("Credit note"),
        choices=[
            (FULL, _("Full: every line of the invoice, with its taxes")),
            (PARTIAL, _("Partial: one amount subject to VAT")),
        ],
        widget=forms.RadioSelect,
        initial=FULL,
    )
    amount = forms.DecimalField(
        label=_("Amount before VAT (€)"),
        required=False,
        min_value=Decimal("0.01"),
        max_digits=12,
        decimal_places=2,
        help_text=_("Partial credit notes only: VAT is added at the invoice's rate and regime."),
    )
    reason = forms.CharField(label=_("Reason"), max_length=300, widget=forms.Textarea(attrs={"rows": 3}))

    def clean(self) -> dict[str, Any] | None:
        cleaned = super().clean() or {}
        if cleaned.get("scope") == self.PARTIAL and cleaned.get("amount") is None:
            self.add_error("amount", gettext("A partial credit note needs its amount."))
        if cleaned.get("scope") == self.FULL:
            cleaned["amount"] = None
        return cleaned


class InvoiceCorrectionsAdminMixin(admin.ModelAdmin[Invoice]):
    change_form_template = "admin/billing/invoice/change_form.html"

    def has_credit_note_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        # A credit note is an invoice of its own kind (the Billing group has it).
        return request.user.has_perm("billing.add_invoice")

    def has_record_transfer_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return request.user.has_perm("billing.change_invoice")

    def get_urls(self) -> list[URLPattern]:
        opts = self.model._meta
        return [
            path(
                "<path:object_id>/credit-note/",
                self.admin_site.admin_view(self.credit_note_view),
                name=f"{opts.app_label}_{opts.model_name}_credit_note",
            ),
            *super().get_urls(),
        ]

    def change_view(
        self,
        request: HttpRequest,
        object_id: str,
        form_url: str = "",
        extra_context: dict[str, Any] | None = None,
    ) -> HttpResponse:
        invoice = self.get_object(request, object_id)
        extra_context = {
            **(extra_context or {}),
            "can_issue_credit_note": invoice is not None
            and invoice.kind == InvoiceKind.INVOICE
            and self.has_credit_note_permission(request),
        }
        return super().change_view(request, object_id, form_url, extra_context)

    @admin.action(description=_("Issue a credit note for the selected invoice"), permissions=["credit_note"])
    def issue_credit_note(self, request: HttpRequest, queryset: QuerySet[Invoice]) -> HttpResponse | None:
        invoices = list(queryset[:2])
        if len(invoices) != 1 or invoices[0].kind != InvoiceKind.INVOICE:
            self.message_user(
                request, gettext("Select one invoice (not a credit note) to credit."), messages.WARNING
            )
            return None
        return redirect(reverse("admin:billing_invoice_credit_note", args=[invoices[0].pk]))

    @admin.action(
        description=_("Mark paid by bank transfer (the transfer has been received)"),
        permissions=["record_transfer"],
    )
    def mark_paid_by_bank_transfer(self, request: HttpRequest, queryset: QuerySet[Invoice]) -> None:
        user = admin_staff_user(request)
        unpaid = queryset.filter(
            kind=InvoiceKind.INVOICE, status__in=[InvoiceStatus.ISSUED, InvoiceStatus.EXPIRED]
        )
        marked = sum(invoice_mark_paid_by_bank_transfer(invoice=invoice, by=user) for invoice in unpaid)
        skipped = queryset.count() - marked
        self.message_user(
            request,
            ngettext("%(count)d invoice marked paid.", "%(count)d invoices marked paid.", marked)
            % {"count": marked},
            messages.SUCCESS,
        )
        if skipped:
            self.message_user(
                request,
                ngettext(
                    "%(count)d document left as it was: already paid, or a credit note.",
                    "%(count)d documents left as they were: already paid, or credit notes.",
                    skipped,
                )
                % {"count": skipped},
                messages.WARNING,
            )

    def credit_note_view(self, request: HttpRequest, object_id: str) -> HttpResponse:
        if not self.has_credit_note_permission(request):
            raise PermissionDenied
        invoice = self.get_object(request, object_id)
        if invoice is None or invoice.kind != InvoiceKind.INVOICE:
            self.message_user(request, gettext("Only an invoice can be credited."), messages.WARNING)
            return HttpResponseRedirect(reverse("admin:billing_invoice_changelist"))
        form = CreditNoteForm(request.POST or None)
        if request.method == "POST" and form.is_valid():
            try:
                note = credit_note_issue(
                    invoice=invoice,
                    by=admin_staff_user(request),
                    reason=form.cleaned_data["reason"],
                    amount=form.cleaned_data["amount"],
                )
            except ValidationError as error:
                form_errors_from(error, form)
            else:
                self.message_user(
                    request,
                    gettext("Credit note %(number)s issued for € %(total)s.")
                    % {"number": note.number, "total": note.total},
                    messages.SUCCESS,
                )
                return HttpResponseRedirect(reverse("admin:billing_invoice_change", args=[note.pk]))
        context = {
            **self.admin_site.each_context(request),
            "title": gettext("Issue a credit note on %(number)s") % {"number": invoice.number},
            "opts": self.model._meta,
            "original": invoice,
            "invoice": invoice,
            "form": form,
            "is_popup": IS_POPUP_VAR in request.GET,
            "has_view_permission": self.has_view_permission(request, invoice),
        }
        return TemplateResponse(request, "admin/billing/invoice/credit_note.html", context)
