"""The payment method page: the current method (masked) and its change; the card through the provider's page.

A card never touches the portal: "Register a card" sends the browser to the
payment provider's card page with a one-time nonce kept in the session; the
provider sends it back to `PaymentMethodCardReturnView` with a signed result
(token, brand, last four digits, expiry), which is accepted once, in the
session and company that started it. The sandbox's card page is here too.
"""

from __future__ import annotations

import hmac
import logging
import secrets
from typing import Any

from django.conf import settings
from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseBase
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.decorators import method_decorator
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache

from billing.forms_payment_methods import PaymentMethodForm, SandboxCardSetupForm
from billing.models import PaymentMethod, PaymentMethodKind
from billing.payment_methods import payment_method_current, payment_method_set
from billing.payments import (
    CardSetupRejectedError,
    CardSetupSession,
    PaymentsUnavailableError,
    SandboxProvider,
    card_provider,
)
from selfcare import permissions
from selfcare.forms import form_errors_from
from selfcare.views.base import CompanyView

logger = logging.getLogger(__name__)

# The card registration under way in this browser session: its nonce and company.
SESSION_CARD_SETUP = "billing.payment_method.card_setup"


def _changed_message(method: PaymentMethod) -> str:
    return _("The payment method is now: %(kind)s. It takes effect from the next invoice.") % {
        "kind": method.get_kind_display()
    }


# The page shows the company's payment details (masked): never kept in a cache.
@method_decorator(never_cache, name="dispatch")
class PaymentMethodView(CompanyView):
    """The company's current payment method and the form that changes it; for admins and legal representatives."""

    capability = permissions.can_manage_billing

    def _render(self, request: HttpRequest, form: PaymentMethodForm, status: int = 200) -> HttpResponse:
        current = payment_method_current(membership=self.membership)
        selected = form["kind"].value() or (current.kind if current else PaymentMethodKind.BANK_TRANSFER)
        return render(
            request,
            "billing/payment_method/page.html",
            {"current": current, "form": form, "selected": selected, "kinds": PaymentMethodKind},
            status=status,
        )

    def get(self, request: HttpRequest) -> HttpResponse:
        kind = request.GET.get("kind")
        return self._render(
            request, PaymentMethodForm(initial={"kind": kind} if kind in PaymentMethodKind.values else None)
        )

    def post(self, request: HttpRequest) -> HttpResponseBase:
        form = PaymentMethodForm(request.POST)
        if form.is_valid():
            kind = form.cleaned_data["kind"]
            if kind == PaymentMethodKind.CARD:
                # The card is typed on the provider's page, never here.
                return card_setup_redirect(request, membership_company=self.membership.company_id)
            try:
                method = payment_method_set(
                    membership=self.membership,
                    kind=kind,
                    sepa=form.sepa_mandate() if kind == PaymentMethodKind.SEPA_DIRECT_DEBIT else None,
                )
            except ValidationError as error:
                form_errors_from(error, form)
            else:
                messages.success(request, _changed_message(method))
                return redirect("billing:payment-method")
        return self._render(request, form, status=400)


def card_setup_redirect(request: HttpRequest, *, membership_company: int) -> HttpResponseBase:
    """Start a card registration: a nonce in the session, and off to the provider's card page."""
    try:
        provider = card_provider()
    except PaymentsUnavailableError:
        messages.error(request, _("Cards cannot be registered at the moment. Please try again later."))
        return redirect("billing:payment-method")
    nonce = secrets.token_urlsafe(24)
    request.session[SESSION_CARD_SETUP] = {"nonce": nonce, "company": membership_company}
    return_url = request.build_absolute_uri(reverse("billing:payment-method-card-return"))
    return redirect(provider.card_setup_start(nonce=nonce, return_url=return_url))


class PaymentMethodCardStartView(CompanyView):
    """ "Register a card": to the payment provider's card page."""

    capability = permissions.can_manage_billing

    def post(self, request: HttpRequest) -> HttpResponseBase:
        return card_setup_redirect(request, membership_company=self.membership.company_id)


class PaymentMethodCardReturnView(CompanyView):
    """Where the provider's card page sends the browser back, with the signed registration.

    Accepted once: the nonce it carries must be the one this session started
    for this company, and it is used up whatever the outcome. A result that
    is not signed, too old, started elsewhere or already used changes nothing.
    """

    capability = permissions.can_manage_billing

    def get(self, request: HttpRequest) -> HttpResponseBase:
        pending = request.session.pop(SESSION_CARD_SETUP, None)
        try:
            registration = card_provider().verify_card_setup(params=request.GET)
        except (CardSetupRejectedError, PaymentsUnavailableError) as error:
            logger.warning("card registration result refused: %s", error)
            messages.error(
                request, _("The card could not be registered: nothing has changed. Please try again.")
            )
            return redirect("billing:payment-method")
        started_here = (
            isinstance(pending, dict)
            and pending.get("company") == self.membership.company_id
            and isinstance(pending.get("nonce"), str)
            and hmac.compare_digest(pending["nonce"], registration.nonce)
        )
        if not started_here:
            logger.warning("card registration result not started in this session, or already used")
            messages.error(
                request,
                _("This card registration was not started here or was already used: nothing has changed."),
            )
            return redirect("billing:payment-method")
        try:
            method = payment_method_set(
                membership=self.membership, kind=PaymentMethodKind.CARD, card=registration
            )
        except ValidationError as error:
            messages.error(request, " ".join(error.messages))
            return redirect("billing:payment-method")
        messages.success(request, _changed_message(method))
        return redirect("billing:payment-method")


class SandboxCardPageView(CompanyView):
    """The sandbox provider's card page (billing.payments.SandboxProvider.card_setup_start).

    It stands for the provider's own site: the card is typed here, and only
    the signed token, brand, last four digits and expiry go back to the
    portal. It exists only while the sandbox is the provider.
    """

    def dispatch(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponseBase:
        if SandboxProvider.name != settings.PAYMENT_PROVIDER:
            raise Http404
        return super().dispatch(request, *args, **kwargs)

    def _session(self, request: HttpRequest) -> CardSetupSession:
        session = SandboxProvider().card_session_of(session=request.GET.get("session", ""))
        if session is None or not url_has_allowed_host_and_scheme(
            session.return_url, allowed_hosts={request.get_host()}, require_https=request.is_secure()
        ):
            raise Http404
        return session

    def _render(self, request: HttpRequest, form: SandboxCardSetupForm, status: int = 200) -> HttpResponse:
        return render(
            request,
            "billing/payment_method/sandbox_card_page.html",
            {"form": form, "session": request.GET.get("session", "")},
            status=status,
        )

    def get(self, request: HttpRequest) -> HttpResponse:
        self._session(request)
        return self._render(request, SandboxCardSetupForm())

    def post(self, request: HttpRequest) -> HttpResponseBase:
        session = self._session(request)
        form = SandboxCardSetupForm(request.POST)
        if not form.is_valid():
            return self._render(request, form, status=400)
        month, year = form.cleaned_data["expiry"]
        return redirect(
            SandboxProvider().card_setup_return_url(
                session=session,
                card_number=form.cleaned_data["card_number"],
                expiry_month=month,
                expiry_year=year,
            )
        )
