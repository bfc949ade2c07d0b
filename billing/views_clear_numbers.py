"""The numbers-in-clear page: the company's requests, and the legal representative's form to ask.

Admins and legal representatives see the requests (they both see the
numbers in clear once approved); only the legal representative asks
(billing.clear_numbers holds every rule).
"""

from __future__ import annotations

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse, HttpResponseBase
from django.shortcuts import redirect, render
from django.utils.formats import date_format
from django.utils.translation import gettext as _

from billing.clear_numbers import (
    ClearNumbersNotAllowedError,
    clear_numbers_check_may_ask,
    clear_numbers_earliest_day,
    clear_numbers_last_invoiced_day,
    clear_numbers_request,
    clear_numbers_requests,
)
from billing.forms_clear_numbers import ClearNumbersRequestForm
from selfcare import permissions
from selfcare.views.base import CompanyView


class ClearNumbersView(CompanyView):
    """The company's requests for numbers in clear and, for its legal representative, the form to ask."""

    capability = permissions.can_manage_billing

    def _render(self, request: HttpRequest, form: ClearNumbersRequestForm, status: int = 200) -> HttpResponse:
        return render(
            request,
            "billing/clear_numbers/page.html",
            {
                "requests": clear_numbers_requests(membership=self.membership),
                "form": form,
                "may_ask": permissions.can_sign_legal_forms(self.membership),
                "earliest_day": clear_numbers_earliest_day(),
                "last_invoiced_day": clear_numbers_last_invoiced_day(company_id=self.membership.company_id),
            },
            status=status,
        )

    def get(self, request: HttpRequest) -> HttpResponse:
        return self._render(request, ClearNumbersRequestForm(membership=self.membership))

    def post(self, request: HttpRequest) -> HttpResponseBase:
        form = ClearNumbersRequestForm(request.POST, membership=self.membership)
        try:
            clear_numbers_check_may_ask(self.membership)
        except ClearNumbersNotAllowedError as error:
            messages.error(request, str(error))
            return self._render(request, form, status=403)
        if form.is_valid():
            data = form.cleaned_data
            try:
                asked = clear_numbers_request(
                    membership=self.membership,
                    line_ids=[line.pk for line in data["lines"]],
                    period_start=data["period_start"],
                    period_end=data["period_end"],
                    users_informed=data["users_informed"],
                )
            except ValidationError as error:
                for field, field_errors in error.message_dict.items():
                    form.add_error(field if field in form.fields else None, field_errors)
            else:
                messages.success(
                    request,
                    _(
                        "Your request for numbers in clear from %(start)s to %(end)s has been received. "
                        "We will tell you by e-mail and in your messages when it is decided."
                    )
                    % {
                        "start": date_format(asked.period_start, "SHORT_DATE_FORMAT"),
                        "end": date_format(asked.period_end, "SHORT_DATE_FORMAT"),
                    },
                )
                return redirect("billing:clear-numbers")
        return self._render(request, form, status=400)
