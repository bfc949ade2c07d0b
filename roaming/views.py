"""Abroad: the lines' roaming status and switches, and the public rates page and trip calculator.

The rates page and the calculator are public (CONTRACTS.md, "HTTP": the
public roaming rates); the rest is a company page. The calculator works as
a plain GET form; with htmx it swaps in only the result.
"""

from __future__ import annotations

from typing import ClassVar

from django.contrib import messages
from django.contrib.auth.decorators import login_not_required
from django.core.exceptions import ValidationError
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET

from roaming.forms import RatesSearchForm, RoamingSwitchForm, SpendingCapForm, TripForm
from roaming.selectors import (
    abroad_help_pages,
    roaming_lines,
    roaming_price_list,
    roaming_status_of,
    roaming_statuses,
    roaming_trip_estimate,
)
from roaming.services import (
    line_data_roaming_set,
    line_roaming_month_continue,
    line_roaming_set,
    line_spending_cap_set,
)
from selfcare.models import Line, LineService, LineServiceChange, Membership
from selfcare.permissions import can_manage_spending_cap
from selfcare.views.base import CompanyView

LINES_PER_PAGE = 50
HISTORY_LENGTH = 10


class AbroadView(CompanyView):
    """The lines the membership may see, each with whether it works abroad, data, and the cap used."""

    def get(self, request: HttpRequest) -> HttpResponse:
        page = Paginator(roaming_lines(membership=self.membership), LINES_PER_PAGE).get_page(
            request.GET.get("page")
        )
        return render(
            request,
            "roaming/abroad.html",
            {
                "page": page,
                "statuses": roaming_statuses(lines=page.object_list),
                "help_pages": abroad_help_pages(),
            },
        )


def _line_context(line: Line, membership: Membership | None) -> dict[str, object]:
    return {
        "line": line,
        "status": roaming_status_of(line=line),
        "may_manage_cap": can_manage_spending_cap(membership),
        "history": LineServiceChange.objects.filter(
            line=line, service__in=[LineService.ROAMING, LineService.DATA_ROAMING]
        )
        .select_related("changed_by")
        .order_by("-changed_at", "-pk")[:HISTORY_LENGTH],
    }


class LineAbroadView(CompanyView):
    """One line abroad: its status, its roaming and data switches, and their history."""

    tenant_model = Line
    object: Line

    def get(self, request: HttpRequest, pk: int) -> HttpResponse:
        return render(
            request,
            "roaming/line.html",
            {**_line_context(self.object, self.membership), "help_pages": abroad_help_pages()},
        )


class _LineSwitchView(CompanyView):
    tenant_model = Line
    object: Line
    switch: ClassVar[str]

    def post(self, request: HttpRequest, pk: int) -> HttpResponse:
        form = RoamingSwitchForm(request.POST)
        if not form.is_valid():
            return self._outcome(request, message=_("Choose on or off."), ok=False)
        enabled: bool = form.cleaned_data["enabled"]
        service = line_roaming_set if self.switch == "roaming" else line_data_roaming_set
        try:
            service(line=self.object, enabled=enabled, actor=self.membership)
        except ValidationError as error:
            return self._outcome(request, message=" ".join(error.messages), ok=False)
        return self._outcome(request, message=self._done(enabled), ok=True)

    def _done(self, enabled: bool) -> str:
        number = {"number": self.object.number}
        if self.switch == "roaming":
            return (
                _("Roaming is now on for %(number)s.") if enabled else _("Roaming is now off for %(number)s.")
            ) % number
        return (
            _("Data abroad is now on for %(number)s.")
            if enabled
            else _("Data abroad is now off for %(number)s.")
        ) % number

    def _outcome(self, request: HttpRequest, *, message: str, ok: bool) -> HttpResponse:
        if getattr(request, "htmx", False):
            # htmx swaps only a 2xx answer in by default: a refusal is a 200 showing the error.
            self.object.refresh_from_db()
            return render(
                request,
                "roaming/_line_controls.html",
                {
                    **_line_context(self.object, self.membership),
                    "message": message,
                    "message_level": "success" if ok else "danger",
                },
            )
        (messages.success if ok else messages.error)(request, message)
        return redirect(reverse("roaming:line", args=[self.object.pk]))


class LineSpendingCapView(_LineSwitchView):
    """The company sets the line's monthly cap, up to the one staff granted; its managers only (else 403)."""

    capability = can_manage_spending_cap

    def post(self, request: HttpRequest, pk: int) -> HttpResponse:
        form = SpendingCapForm(request.POST)
        if not form.is_valid():
            return self._outcome(
                request,
                message=" ".join(str(error) for error in form.errors.get("spending_cap", [])),
                ok=False,
            )
        try:
            settings = line_spending_cap_set(
                line=self.object, cap=form.cleaned_data["spending_cap"], actor=self.membership
            )
        except ValidationError as error:
            return self._outcome(request, message=" ".join(error.messages), ok=False)
        message = _("The spending cap of %(number)s is now € %(cap)s a month.") % {
            "number": self.object.number,
            "cap": settings.spending_cap,
        }
        return self._outcome(request, message=message, ok=True)


class LineContinueView(_LineSwitchView):
    """The customer consents to go on using data abroad this month after the cap stopped it; managers only."""

    capability = can_manage_spending_cap

    def post(self, request: HttpRequest, pk: int) -> HttpResponse:
        try:
            line_roaming_month_continue(line=self.object, actor=self.membership)
        except ValidationError as error:
            return self._outcome(request, message=" ".join(error.messages), ok=False)
        message = _("Data abroad is on again for %(number)s until the end of the month.") % {
            "number": self.object.number
        }
        return self._outcome(request, message=message, ok=True)


class LineRoamingView(_LineSwitchView):
    switch = "roaming"


class LineDataRoamingView(_LineSwitchView):
    switch = "data"


@login_not_required
@require_GET
def rates(request: HttpRequest) -> HttpResponse:
    """The public price list by zone, searchable by country name in Italian or English."""
    form = RatesSearchForm(request.GET)
    query = form.query()
    return render(
        request,
        "roaming/rates.html",
        {"form": form, "query": query, "zones": roaming_price_list(query=query)},
    )


@login_not_required
@require_GET
def calculator(request: HttpRequest) -> HttpResponse:
    """The public trip calculator: a GET form, so its result has an address and needs no JavaScript."""
    form = TripForm(request.GET if "country" in request.GET else None)
    estimate = None
    if form.is_bound and form.is_valid():
        try:
            estimate = roaming_trip_estimate(country=form.cleaned_data["country"], usage=form.usage())
        except ValidationError as error:
            form.add_error("country", error)
    template = "roaming/_estimate.html" if getattr(request, "htmx", False) else "roaming/calculator.html"
    return render(request, template, {"form": form, "estimate": estimate})
