"""Paying an expired invoice online: the "Pay now" button of the invoice page starts the payment."""

from __future__ import annotations

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.urls import reverse
from django.utils.translation import gettext as _

from billing.invoice_payments import invoice_payment_start
from billing.models import Invoice
from billing.payments import PaymentsUnavailableError
from selfcare import permissions
from selfcare.views.base import CompanyView


class InvoicePayView(CompanyView):
    """POST: a payment of what is left to pay on the expired invoice, then the provider's page.

    Another company's invoice is 404 (loaded before the capability is
    checked); a refusal (not expired, already paid) goes back to the invoice
    page with the reason.
    """

    capability = permissions.can_manage_billing
    tenant_model = Invoice
    http_method_names = ["post"]

    def post(self, request: HttpRequest, pk: int) -> HttpResponse:
        invoice: Invoice = self.object
        detail = reverse("billing:invoice-detail", kwargs={"pk": invoice.pk})
        try:
            _payment, page = invoice_payment_start(
                invoice=invoice,
                membership=self.membership,
                return_url=lambda payment: request.build_absolute_uri(
                    reverse("billing:payment-detail", kwargs={"reference": payment.reference})
                ),
            )
        except PaymentsUnavailableError:
            messages.error(
                request, _("Online payments are not available at the moment. Please try again later.")
            )
            return redirect(detail)
        except ValidationError as error:
            messages.error(request, " ".join(error.messages))
            return redirect(detail)
        return redirect(page)
