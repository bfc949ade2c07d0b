"""Payment pages: the outcome and the receipt, the provider's callback, and the sandbox's hosted page."""

from __future__ import annotations

import logging
import re
from typing import Any

from django import forms
from django.conf import settings
from django.contrib.auth.decorators import login_not_required
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views import View
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST

from billing.models import Payment, PaymentStatus
from billing.payments import (
    SANDBOX_CARDS,
    SANDBOX_DECLINED_CARD,
    SANDBOX_PAYING_CARD,
    CallbackRejectedError,
    PaymentOutcome,
    PaymentsUnavailableError,
    SandboxProvider,
    payment_provider,
)
from billing.services import PaymentNotFoundError, payment_callback_receive
from selfcare.models import Membership
from selfcare.tenancy import get_visible_or_404
from selfcare.views.base import CompanyView

logger = logging.getLogger(__name__)


def failure_message(reason: str) -> str:
    """What a customer reads for the provider's failure reason."""
    messages = {
        "card_declined": _("Your bank declined the card. Nothing has been charged: try another card."),
        "insufficient_funds": _("The card has insufficient funds. Nothing has been charged."),
        "cancelled": _("The payment was cancelled on the payment page. Nothing has been charged."),
        # billing.invoice_payments.ALREADY_PAID: the one failure where money was taken.
        "invoice_already_paid": _(
            "This invoice had already been paid when this payment arrived: "
            "the amount charged will be refunded to your card."
        ),
    }
    return messages.get(reason, _("The payment did not go through. Nothing has been charged."))


class _LoadPayment(View):
    """Loads the payment the URL names before any handler runs, so that every method answers 404 for a foreign one.

    It runs after CompanyView's checks (login, a company), which set
    `self.membership`: a 405 for a method the view does not serve would
    otherwise tell that the payment exists.
    """

    membership: Membership
    payment: Payment

    def dispatch(self, request: HttpRequest, *args: Any, **kwargs: Any) -> Any:
        self.payment = get_visible_or_404(
            Payment, membership=self.membership, reference=kwargs.get("reference")
        )
        return super().dispatch(request, *args, **kwargs)


class _PaymentView(CompanyView, _LoadPayment):
    """A payment named by its reference, through the tenancy scope (another company's: 404)."""

    def load_payment(self) -> Payment:
        return self.payment


class PaymentDetailView(_PaymentView):
    """Where the provider sends the browser back: paid, failed, or waiting for the provider's callback."""

    def get(self, request: HttpRequest, reference: str) -> HttpResponse:
        payment = self.load_payment()
        line = payment.line
        return render(
            request,
            "billing/payment_detail.html",
            {
                "payment": payment,
                "line": line,
                "failure": failure_message(payment.failure_reason)
                if payment.status == PaymentStatus.FAILED
                else "",
            },
        )


class PaymentReceiptView(_PaymentView):
    """The receipt of a paid payment, printable; `?format=pdf` for a PDF."""

    def get(self, request: HttpRequest, reference: str) -> HttpResponse:
        payment = self.load_payment()
        if payment.status != PaymentStatus.PAID or not payment.receipt_number:
            raise Http404
        context = {"payment": payment, "line": payment.line, "company": payment.company}
        if request.GET.get("format") == "pdf":
            from billing.pdf import receipt_pdf

            response = HttpResponse(
                receipt_pdf(request=request, context=context), content_type="application/pdf"
            )
            response["Content-Disposition"] = f'attachment; filename="{payment.receipt_number}.pdf"'
            return response
        return render(request, "billing/receipt.html", context)


@csrf_exempt
@login_not_required
@require_POST
def payment_callback(request: HttpRequest, provider: str) -> HttpResponse:
    """The provider's signed callback: public, verified, idempotent.

    400 for anything not signed by the provider (nothing is recorded), 404
    for a payment the portal does not know, 200 otherwise, also for an event
    already received, so the provider stops retrying.
    """
    try:
        configured = payment_provider()
    except PaymentsUnavailableError as error:
        raise Http404 from error
    if provider != configured.name:
        raise Http404
    try:
        event = configured.verify_callback(request=request)
        payment = payment_callback_receive(event=event)
    except CallbackRejectedError as error:
        logger.warning("payment callback of %s refused: %s", provider, error)
        return JsonResponse({"error": str(error)}, status=400)
    except PaymentNotFoundError:
        logger.warning("payment callback of %s for an unknown payment", provider)
        return JsonResponse({"error": "unknown payment"}, status=404)
    return JsonResponse({"received": True, "status": payment.status})


class SandboxCardForm(forms.Form):
    card_number = forms.CharField(
        label=gettext_lazy("Card number"),
        max_length=23,
        help_text=gettext_lazy("Test cards: 4242 4242 4242 4242 pays, 4000 0000 0000 0002 is declined."),
    )
    expiry = forms.RegexField(
        label=gettext_lazy("Expiry (MM/YY)"),
        regex=r"^(0[1-9]|1[0-2])/\d{2}$",
        error_messages={"invalid": gettext_lazy("Write the expiry as MM/YY, for example 12/30.")},
    )
    cvc = forms.RegexField(
        label=gettext_lazy("Security code (CVC)"),
        regex=r"^\d{3,4}$",
        error_messages={"invalid": gettext_lazy("The security code is 3 or 4 digits.")},
    )

    def clean_card_number(self) -> str:
        number = re.sub(r"[\s-]", "", self.cleaned_data["card_number"])
        if number not in SANDBOX_CARDS:
            raise forms.ValidationError(
                _("This is the sandbox: use a test card, such as %(paying)s or %(declined)s.")
                % {"paying": SANDBOX_PAYING_CARD, "declined": SANDBOX_DECLINED_CARD}
            )
        return number


class SandboxPageView(_PaymentView):
    """The sandbox provider's hosted payment page (billing.payments.SandboxProvider).

    It needs a login like every page of the portal, and shows only payments
    the user may see; it exists only while the sandbox is the provider.
    """

    def dispatch(self, request: HttpRequest, *args: Any, **kwargs: Any) -> Any:
        if SandboxProvider.name != settings.PAYMENT_PROVIDER:
            raise Http404
        return super().dispatch(request, *args, **kwargs)

    def _render(
        self, request: HttpRequest, payment: Payment, form: SandboxCardForm, status: int = 200
    ) -> HttpResponse:
        return render(
            request,
            "billing/sandbox_page.html",
            {"payment": payment, "form": form, "session": request.GET.get("session", "")},
            status=status,
        )

    def get(self, request: HttpRequest, reference: str) -> HttpResponse:
        return self._render(request, self.load_payment(), SandboxCardForm())

    def post(self, request: HttpRequest, reference: str) -> HttpResponse:
        payment = self.load_payment()
        provider = SandboxProvider()
        if payment.status != PaymentStatus.PENDING:
            return redirect(self._return_url(request, provider, payment))
        if request.POST.get("action") == "decline":
            outcome, reason = PaymentOutcome.FAILED, "cancelled"
        else:
            form = SandboxCardForm(request.POST)
            if not form.is_valid():
                return self._render(request, payment, form, status=400)
            outcome, reason = SANDBOX_CARDS[form.cleaned_data["card_number"]]
        # What the provider's server would do: sign the callback and deliver
        # it, through the same verification as /payments/callback/sandbox/.
        body = provider.callback_body(payment=payment, outcome=outcome, failure_reason=reason)
        event = provider.verify_signed(body=body, signature=provider.sign(body=body))
        payment_callback_receive(event=event)
        return redirect(self._return_url(request, provider, payment))

    def _return_url(self, request: HttpRequest, provider: SandboxProvider, payment: Payment) -> str:
        return_url = provider.return_url_of(session=request.GET.get("session", ""), payment=payment)
        if return_url and url_has_allowed_host_and_scheme(
            return_url, allowed_hosts={request.get_host()}, require_https=request.is_secure()
        ):
            return return_url
        return reverse("billing:payment-detail", kwargs={"reference": payment.reference})
