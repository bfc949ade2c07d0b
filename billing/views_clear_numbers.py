"""The numbers-in-clear page: the company's grants, and the way to ask for a new one.

Admins and legal representatives see the requests and their decisions (they
both see the numbers in clear once approved). Asking is a request of the
procedures (procedures.kinds.clear_numbers): the page links its form for
the legal representative, and each grant links the request it came from.
"""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.urls import reverse

from billing.clear_numbers import (
    clear_numbers_earliest_day,
    clear_numbers_last_invoiced_day,
    clear_numbers_requests,
)
from procedures.kinds.clear_numbers import clear_numbers_procedures
from procedures.models import RequestKind
from selfcare import permissions
from selfcare.views.base import CompanyView


class ClearNumbersView(CompanyView):
    """The company's requests for numbers in clear and, for its legal representative, the link to ask."""

    capability = permissions.can_manage_billing

    def get(self, request: HttpRequest) -> HttpResponse:
        grants = list(clear_numbers_requests(membership=self.membership))
        procedures = clear_numbers_procedures(company_id=self.membership.company_id)
        return render(
            request,
            "billing/clear_numbers/page.html",
            {
                "requests": [(grant, procedures.get(grant.pk)) for grant in grants],
                "may_ask": permissions.can_sign_legal_forms(self.membership),
                "ask_url": reverse(
                    "procedures:request-create", kwargs={"kind": RequestKind.CLEAR_NUMBERS.value}
                ),
                "earliest_day": clear_numbers_earliest_day(),
                "last_invoiced_day": clear_numbers_last_invoiced_day(company_id=self.membership.company_id),
            },
        )
