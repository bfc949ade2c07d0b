"""The customer's activation pages: the orders, and an order's timeline with "Keep me updated".

Every member sees them: admins and legal representatives all the company's
orders, a line user those of the lines assigned to them
(ActivationOrder.visible_to). Another company's order, or one of a line not
assigned to a line user, is 404.
"""

from __future__ import annotations

from typing import cast

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext

from procedures.activation import activation_updates_set
from procedures.forms_activation import ActivationFilterForm, ActivationUpdatesForm
from procedures.models import ActivationOrder
from procedures.selectors_activation import activation_orders, activation_rows, activation_timeline
from selfcare.forms import form_errors_from
from selfcare.views.base import CompanyView

ORDERS_PER_PAGE = 20


class ActivationListView(CompanyView):
    """The orders the member sees, newest first; the status filter kept in the query string."""

    def get(self, request: HttpRequest) -> HttpResponse:
        form = ActivationFilterForm(request.GET or None)
        status = form.status_value()
        orders = activation_orders(membership=self.membership, status=status)
        page = Paginator(orders, ORDERS_PER_PAGE).get_page(request.GET.get("page"))
        return render(
            request,
            "procedures/activation/list.html",
            {
                "form": form,
                "status": status,
                "page": page,
                "rows": activation_rows(list(page)),
                "query": form.query(),
            },
        )


class ActivationDetailView(CompanyView):
    """One order: its timeline, promised date, delay and compensation, and the "Keep me updated" form."""

    tenant_model = ActivationOrder

    def get(self, request: HttpRequest, pk: int) -> HttpResponse:
        order = cast(ActivationOrder, self.object)
        return self._render(request, order, ActivationUpdatesForm(initial=self._initial(order)))

    def _initial(self, order: ActivationOrder) -> dict[str, object]:
        mine = order.keep_me_updated and order.updates_to_id == self.membership.user_id
        return {"keep_me_updated": mine, "sms_to": order.updates_sms_to if mine else ""}

    def _render(
        self, request: HttpRequest, order: ActivationOrder, form: ActivationUpdatesForm, status: int = 200
    ) -> HttpResponse:
        events = list(order.steps.order_by("reached_at", "id"))
        (row,) = activation_rows([order])
        return render(
            request,
            "procedures/activation/detail.html",
            {
                "order": order,
                "row": row,
                "timeline": activation_timeline(order=order, events=events),
                "form": form,
                # Someone else of the company asked to be kept updated: the page says so.
                "updates_to_other": order.keep_me_updated
                and order.updates_to_id not in (None, self.membership.user_id),
            },
            status=status,
        )


class ActivationUpdatesView(ActivationDetailView):
    """POST of the "Keep me updated" form: saved with a confirmation, or the page again with its errors."""

    http_method_names = ["post"]

    def post(self, request: HttpRequest, pk: int) -> HttpResponse:
        order = cast(ActivationOrder, self.object)
        form = ActivationUpdatesForm(request.POST)
        if form.is_valid():
            enabled = bool(form.cleaned_data["keep_me_updated"])
            try:
                activation_updates_set(
                    order=order,
                    membership=self.membership,
                    enabled=enabled,
                    sms_to=form.cleaned_data["sms_to"],
                )
            except ValidationError as error:
                form_errors_from(error, form)
            else:
                if enabled and order.updates_sms_to:
                    message = gettext(
                        "Done: we will tell you of every new step of the order by e-mail and by SMS to %(number)s."
                    ) % {"number": order.updates_sms_to}
                elif enabled:
                    message = gettext("Done: we will tell you of every new step of the order by e-mail.")
                else:
                    message = gettext("Done: you will no longer be told of the order's steps.")
                messages.success(request, message)
                return redirect("procedures:activation-detail", pk=order.pk)
        return self._render(request, order, form, status=400)
