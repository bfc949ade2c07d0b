"""Residual credit of prepaid lines: movements, the low-credit threshold, recharge through the payment provider."""

from __future__ import annotations

from decimal import Decimal

from django import forms
from django.contrib import messages
from django.core.exceptions import ValidationError
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from billing.payments import PaymentsUnavailableError
from billing.services import payment_start
from selfcare.forms import form_errors_from
from selfcare.models import CreditMovement, Line
from selfcare.services.credit import (
    RECHARGE_CUTS,
    RECHARGE_MAXIMUM,
    RECHARGE_MINIMUM,
    line_credit_is_low,
    line_is_prepaid,
    low_credit_threshold_set,
    recharge_start,
)
from selfcare.views.base import CompanyView

MOVEMENTS_PER_PAGE = 25


class ThresholdForm(forms.Form):
    threshold = forms.DecimalField(
        label=gettext_lazy("Alert me when the credit falls below (€)"),
        required=False,
        min_value=Decimal("0"),
        max_digits=8,
        decimal_places=2,
        help_text=gettext_lazy("Leave it empty for no alert."),
    )


def threshold_form_for(line: Line) -> ThresholdForm:
    # A string: a Decimal would be rendered localised ("5,00"), which a number input refuses.
    threshold = line.low_credit_threshold
    return ThresholdForm(initial={"threshold": "" if threshold is None else str(threshold)})


class RechargeForm(forms.Form):
    amount = forms.DecimalField(
        label=gettext_lazy("Amount (€)"),
        max_digits=8,
        decimal_places=2,
        error_messages={"required": gettext_lazy("Choose or type the amount of the recharge.")},
    )

    def __init__(self, *args: object, **kwargs: object) -> None:
        super().__init__(*args, **kwargs)  # type: ignore[arg-type]
        self.fields["amount"].help_text = _("From €%(minimum)s to €%(maximum)s.") % {
            "minimum": RECHARGE_MINIMUM,
            "maximum": RECHARGE_MAXIMUM,
        }


class _LineCreditView(CompanyView):
    """A line named in the URL, through the tenancy scope: a foreign line, or a line user's unassigned one, is 404."""

    tenant_model = Line
    object: Line


class LineCreditView(_LineCreditView):
    """All the movements of a prepaid line's credit."""

    def get(self, request: HttpRequest, pk: int) -> HttpResponse:
        line = self.object
        prepaid = line_is_prepaid(line)
        page = None
        if prepaid:
            page = Paginator(
                CreditMovement.objects.filter(line=line).order_by("-created_at", "-id"), MOVEMENTS_PER_PAGE
            ).get_page(request.GET.get("page"))
        return render(
            request,
            "selfcare/credit/movements.html",
            {
                "line": line,
                "prepaid": prepaid,
                "low": line_credit_is_low(line),
                "page": page,
                "threshold_form": threshold_form_for(line),
            },
        )


class LineCreditThresholdView(_LineCreditView):
    """Set the low-credit threshold; back to the page it was set from."""

    def post(self, request: HttpRequest, pk: int) -> HttpResponse:
        line = self.object
        form = ThresholdForm(request.POST)
        if form.is_valid():
            try:
                low_credit_threshold_set(
                    line=line, threshold=form.cleaned_data["threshold"], actor=self.membership
                )
            except ValidationError as error:
                form_errors_from(error, form)
        if form.errors:
            return render(
                request,
                "selfcare/credit/threshold.html",
                {"line": line, "threshold_form": form},
                status=400,
            )
        if line.low_credit_threshold is None:
            messages.success(request, _("The low-credit alert is off."))
        else:
            messages.success(
                request,
                _("We will alert you when the credit falls below €%(threshold)s.")
                % {"threshold": line.low_credit_threshold},
            )
        back = "selfcare:line-credit" if request.POST.get("back") == "credit" else "selfcare:line-detail"
        return redirect(back, pk=line.pk)


class LineRechargeView(_LineCreditView):
    """The amount of a recharge, then the payment provider's page."""

    def _render(self, request: HttpRequest, form: RechargeForm, status: int = 200) -> HttpResponse:
        return render(
            request,
            "selfcare/credit/recharge.html",
            {
                "line": self.object,
                "prepaid": line_is_prepaid(self.object),
                "form": form,
                "cuts": RECHARGE_CUTS,
            },
            status=status,
        )

    def get(self, request: HttpRequest, pk: int) -> HttpResponse:
        # A string: a Decimal would be rendered localised ("20,00"), which a number input refuses.
        return self._render(request, RechargeForm(initial={"amount": str(RECHARGE_CUTS[1])}))

    def post(self, request: HttpRequest, pk: int) -> HttpResponse:
        data = request.POST.copy()
        # A button of the usual amounts sends `cut`, which wins over the typed amount.
        cut = request.POST.get("cut", "")
        if cut:
            data["amount"] = cut
        form = RechargeForm(data)
        if form.is_valid():
            try:
                payment = recharge_start(
                    line=self.object, amount=form.cleaned_data["amount"], actor=self.membership
                )
                return_url = request.build_absolute_uri(
                    reverse("billing:payment-detail", kwargs={"reference": payment.reference})
                )
                return redirect(payment_start(payment=payment, return_url=return_url))
            except PaymentsUnavailableError:
                form.add_error(
                    None, _("Online payments are not available at the moment. Please try again later.")
                )
            except ValidationError as error:
                form_errors_from(error, form)
        return self._render(request, form, status=400)
