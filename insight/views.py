"""Insight pages: the charts with their tables, and each table as CSV or XLSX (docs/insight.md).

Every member may open them: a line user's charts cover the lines assigned to
them and show no company total (insight.selectors). The filters live in the
query string, so the address of a view can be bookmarked or sent to a
colleague of the same company, who sees it through their own role.
"""

from __future__ import annotations

import html
from typing import Any, ClassVar, cast

from django import forms
from django.contrib import messages
from django.core.exceptions import ValidationError
from django.core.paginator import Paginator
from django.db.models import Max
from django.forms import BoundField
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone
from django.utils.html import escape
from django.utils.safestring import SafeString, mark_safe
from django.utils.translation import gettext as _

from insight.alerts import insight_alert_cost_centres, insight_alert_delete, insight_alert_save
from insight.cache import insight_page_cached
from insight.charts import chart_svg
from insight.exports import XLSX_CONTENT_TYPE, table_csv, table_xlsx
from insight.forms import InsightAlertForm, InsightFilterForm
from insight.models import InsightAlert
from insight.reports import CHARTS_BY_SLUG, PAGE_ROWS, display, insight_table, insight_tables
from insight.selectors import InsightScope, insight_filter_choices
from selfcare import permissions
from selfcare.forms import form_errors_from
from selfcare.views.base import CompanyView


def _filter_form(
    request: HttpRequest, view: CompanyView, lines: list[tuple[int, str, str, int, str]] | None = None
) -> InsightFilterForm:
    if lines is None:
        lines = insight_filter_choices(membership=view.membership)
    return InsightFilterForm(request.GET or None, lines=lines)


# Where the chart's <style> takes the response's CSP nonce, in the cached HTML.
NONCE_PLACEHOLDER = "insight-csp-nonce-placeholder"


def _options(field: BoundField) -> SafeString:
    """A filter's <option>s, made here: a company's 2,000 lines cost ~20 ms through the template loop
    or format_html, ~1 ms with the standard library's escape."""
    current = "" if field.value() is None else str(field.value())
    choices: list[tuple[Any, Any]] = list(cast(forms.ChoiceField, field.field).choices)  # type: ignore[arg-type]
    return mark_safe(  # noqa: S308 - every value and label escaped here  # nosec B308 B703
        "".join(
            f'<option value="{html.escape(str(value))}"{" selected" if str(value) == current else ""}>'
            f"{html.escape(str(label))}</option>"
            for value, label in choices
        )
    )


class InsightView(CompanyView):
    """Every chart, each with its text alternative, its table one click away and its downloads."""

    def get(self, request: HttpRequest) -> HttpResponse:
        lines = insight_filter_choices(membership=self.membership)
        form = _filter_form(request, self, lines)
        filters = form.filters()
        scope = InsightScope(membership=self.membership, filters=filters)
        nonce = str(getattr(request, "csp_nonce", ""))
        query = form.query()

        def build() -> str:
            charts = [
                {
                    "table": table,
                    "svg": None if table.empty else chart_svg(table, nonce=NONCE_PLACEHOLDER),
                    "cells": [
                        [
                            display(value, column.unit)
                            for value, column in zip(row, table.columns, strict=True)
                        ]
                        for row in table.rows[:PAGE_ROWS]
                    ],
                    "more_rows": max(len(table.rows) - PAGE_ROWS, 0),
                    "downloads": {
                        file_format: reverse(f"insight:export-{table.slug}-{file_format}")
                        + (f"?{query}" if query else "")
                        for file_format in ("csv", "xlsx")
                    },
                }
                for table in insight_tables(scope=scope)
            ]
            return render_to_string("insight/_charts.html", {"charts": charts})

        # Drawn once per company, filters and language until its figures change (insight.cache);
        # the nonce is this response's.
        charts_html = insight_page_cached(scope=scope, lines=lines, build=build).replace(
            NONCE_PLACEHOLDER, escape(nonce)
        )
        charts = mark_safe(charts_html)  # noqa: S308 - rendered by our template, escaped there  # nosec B308 B703
        return render(
            request,
            "insight/dashboard.html",
            {
                "form": form,
                "filter_fields": [(field, _options(field)) for field in form],
                "filters": filters,
                "query": query,
                "charts_html": charts,
                "whole_company": scope.whole_company,
            },
        )


class InsightExportView(CompanyView):
    """One chart's table, as the page shows it with the same filters, in a file."""

    # Set per route (insight.urls).
    chart: ClassVar[str] = ""
    file_format: ClassVar[str] = "csv"

    def get(self, request: HttpRequest) -> HttpResponse:
        if self.chart not in CHARTS_BY_SLUG:
            raise Http404
        form = _filter_form(request, self)
        table = insight_table(
            scope=InsightScope(membership=self.membership, filters=form.filters()), slug=self.chart
        )
        stamp = timezone.localdate().isoformat()
        name = f"{table.slug}-{stamp}.{self.file_format}"
        if self.file_format == "csv":
            response = HttpResponse(table_csv(table), content_type="text/csv; charset=utf-8")
        else:
            response = HttpResponse(table_xlsx(table), content_type=XLSX_CONTENT_TYPE)
        response["Content-Disposition"] = f'attachment; filename="{name}"'
        # The figures of a company: never kept by a shared cache.
        response["Cache-Control"] = "private, no-store"
        response["Content-Language"] = request.LANGUAGE_CODE
        return response


# ---------------------------------------------------------------------------
# Alerts
# ---------------------------------------------------------------------------

ALERTS_PER_PAGE = 50


class InsightAlertListView(CompanyView):
    """The company's alerts with their last crossing; a line user is told who sets them."""

    def get(self, request: HttpRequest) -> HttpResponse:
        may_manage = permissions.can_manage_billing(self.membership)
        alerts = (
            InsightAlert.objects.visible_to(self.membership)
            .select_related("line", "created_by")
            .annotate(last_crossing=Max("hits__period"))
            .order_by("kind", "cost_centre", "line__number", "pk")
        )
        page = Paginator(alerts, ALERTS_PER_PAGE).get_page(request.GET.get("page"))
        return render(
            request, "insight/alerts/list.html", {"page": page, "may_manage": may_manage}, status=200
        )


def _alert_form(
    view: CompanyView, data: Any = None, initial: dict[str, Any] | None = None
) -> InsightAlertForm:
    return InsightAlertForm(
        data,
        initial=initial,
        cost_centres=insight_alert_cost_centres(membership=view.membership),
        lines=[
            (pk, number)
            for pk, number, _centre, _offer, _name in insight_filter_choices(membership=view.membership)
        ],
    )


class _InsightAlertFormView(CompanyView):
    capability = permissions.can_manage_billing
    object: InsightAlert | None = None

    def _render(self, request: HttpRequest, form: InsightAlertForm, status: int = 200) -> HttpResponse:
        return render(
            request, "insight/alerts/form.html", {"form": form, "alert": self.object}, status=status
        )

    def post(self, request: HttpRequest, pk: int | None = None) -> HttpResponse:
        form = _alert_form(self, request.POST)
        if form.is_valid():
            data = form.cleaned_data
            try:
                alert = insight_alert_save(
                    membership=self.membership,
                    alert=self.object,
                    kind=data["kind"],
                    cost_centre=data["cost_centre"] or "",
                    line_id=data["line"],
                    amount=data["amount"],
                    percent=data["percent"],
                    gigabytes=data["gigabytes"],
                    enabled=data["enabled"],
                )
            except ValidationError as error:
                form_errors_from(error, form)
            else:
                messages.success(
                    request,
                    (
                        _("The alert on %(target)s is saved.")
                        if self.object
                        else _("The alert on %(target)s is set.")
                    )
                    % {"target": alert.target},
                )
                return redirect("insight:alerts")
        # Bad input: the page again with the errors and everything typed.
        return self._render(request, form, status=400)


class InsightAlertCreateView(_InsightAlertFormView):
    """A new alert: what it watches, the threshold, enabled."""

    def get(self, request: HttpRequest) -> HttpResponse:
        initial: dict[str, Any] = {"enabled": True}
        if request.GET.get("line"):
            initial["line"] = request.GET["line"]
        return self._render(request, _alert_form(self, initial=initial))


class InsightAlertEditView(_InsightAlertFormView):
    """Change an alert of the company (another company's is 404)."""

    tenant_model = InsightAlert
    object: InsightAlert

    def get(self, request: HttpRequest, pk: int) -> HttpResponse:
        alert = self.object
        initial = {
            "kind": alert.kind,
            "cost_centre": alert.cost_centre,
            "line": alert.line_id,
            "amount": alert.amount,
            "percent": alert.percent,
            "gigabytes": alert.gigabytes,
            "enabled": alert.enabled,
        }
        return self._render(request, _alert_form(self, initial=initial))


class InsightAlertDeleteView(CompanyView):
    """Delete an alert, after a confirmation page."""

    capability = permissions.can_manage_billing
    tenant_model = InsightAlert
    object: InsightAlert

    def get(self, request: HttpRequest, pk: int) -> HttpResponse:
        return render(request, "insight/alerts/delete.html", {"alert": self.object})

    def post(self, request: HttpRequest, pk: int) -> HttpResponse:
        target = self.object.target
        insight_alert_delete(membership=self.membership, alert=self.object)
        messages.success(request, _("The alert on %(target)s is deleted.") % {"target": target})
        return redirect("insight:alerts")
