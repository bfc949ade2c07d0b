"""The 90-day traffic report: the page (filters, totals, the records a page at a time) and its CSV download.

Every role sees the page: a line user sees the lines assigned to them only
(`billing.traffic_report.traffic_report_queryset` decides). The rules live
in billing.traffic_report and billing.traffic_csv; this module only reads the
request and lays the page out.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import ROUND_HALF_UP, Decimal
from functools import cached_property
from typing import Any

from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse, HttpResponseBadRequest, StreamingHttpResponse
from django.shortcuts import render
from django.urls import reverse
from django.utils import timezone
from django.utils.formats import number_format

from billing.clear_numbers import clear_windows_for, may_see_numbers_in_clear
from billing.forms_traffic import TrafficFilterForm
from billing.models import OtherNetwork, TrafficDirection, TrafficService
from billing.traffic_csv import traffic_csv_response
from billing.traffic_report import (
    ROME,
    TrafficTotals,
    clear_windows_in,
    feed_value,
    traffic_download_audit,
    traffic_report_queryset,
    traffic_report_totals,
)
from selfcare.models import User
from selfcare.views.base import CompanyView

RECORDS_PER_PAGE = 50
# Up to this many lines the filter is a list of checkboxes; beyond, a multiple select.
LINE_CHECKBOXES_UP_TO = 12


class _CountedPaginator(Paginator[tuple[Any, ...]]):
    """A paginator told its count: the totals already hold it, so no COUNT(*) over millions of records."""

    def __init__(self, object_list: Any, per_page: int, *, count: int) -> None:
        super().__init__(object_list, per_page)
        self._known_count = count

    @cached_property
    def count(self) -> int:
        return self._known_count


@dataclass(frozen=True)
class TrafficRow:
    """What a row of the table shows, worked out once in Python rather than by template lookups."""

    record_id: str
    line: str
    started_at: datetime | None
    direction: str
    service: str
    other_party: str
    other_network: str
    amount: str


@dataclass(frozen=True)
class TotalsShown:
    records: int
    voice_minutes: Decimal
    sms: int
    mms: int
    data_amount: Decimal
    data_unit: str


def _started_at(value: object) -> datetime | None:
    """The record's time, aware, from the feed's ISO 8601 text (PostgreSQL) or the column (SQLite)."""
    shown = feed_value(value)
    if isinstance(shown, str):
        return datetime.fromisoformat(shown)
    if isinstance(shown, datetime):
        return shown if timezone.is_aware(shown) else shown.replace(tzinfo=UTC)
    return None


def _amount(service: str, duration_s: int, volume_bytes: int) -> str:
    if service == TrafficService.VOICE:
        minutes, seconds = divmod(duration_s, 60)
        return f"{minutes}:{seconds:02d}"
    if service == TrafficService.DATA:
        megabytes = (Decimal(volume_bytes) / Decimal(1_000_000)).quantize(Decimal("0.01"), ROUND_HALF_UP)
        # In the active language's number format (140,34 MB in Italian).
        return f"{number_format(megabytes, decimal_pos=2)} MB"
    return ""


def _rows(records: Iterable[tuple[Any, ...]]) -> list[TrafficRow]:
    services = {value: str(label) for value, label in TrafficService.choices}
    directions = {value: str(label) for value, label in TrafficDirection.choices}
    networks = {value: str(label) for value, label in OtherNetwork.choices}
    rows = []
    for record in records:
        record_id, line, started, direction, service, other_party, _op, network, duration, volume = record[
            :10
        ]
        started_at = _started_at(started)
        rows.append(
            TrafficRow(
                record_id=record_id,
                line=line,
                started_at=timezone.localtime(started_at, ROME) if started_at else None,
                direction=directions.get(direction, direction),
                service=services.get(service, service),
                other_party=other_party,
                other_network=networks.get(network, network),
                amount=_amount(service, duration, volume),
            )
        )
    return rows


def _totals_shown(totals: TrafficTotals) -> TotalsShown:
    # Decimal units (1 GB = 1,000 MB = 10⁹ bytes), as operators count traffic.
    gigabyte = Decimal(1_000_000_000)
    in_gb = totals.data_bytes >= gigabyte
    data = Decimal(totals.data_bytes) / (gigabyte if in_gb else Decimal(1_000_000))
    return TotalsShown(
        records=totals.records,
        voice_minutes=(Decimal(totals.voice_seconds) / 60).quantize(Decimal("0.1"), ROUND_HALF_UP),
        sms=totals.sms,
        mms=totals.mms,
        data_amount=data.quantize(Decimal("0.01"), ROUND_HALF_UP),
        data_unit="GB" if in_gb else "MB",
    )


class TrafficReportView(CompanyView):
    """The page: filters in the query string, totals of the filtered set, the records 50 at a time."""

    def get(self, request: HttpRequest) -> HttpResponse:
        form = TrafficFilterForm(request.GET, membership=self.membership)
        filters = form.filters()
        windows = clear_windows_for(self.membership)
        totals = traffic_report_totals(membership=self.membership, filters=filters)
        records = traffic_report_queryset(membership=self.membership, filters=filters, clear_windows=windows)
        page = _CountedPaginator(records, RECORDS_PER_PAGE, count=totals.records).get_page(
            request.GET.get("page")
        )
        query = form.query()
        line_field = form["line"]
        return render(
            request,
            "billing/traffic/report.html",
            {
                "form": form,
                "filters": filters,
                "narrowed": bool(filters.line_ids or filters.service or filters.direction)
                or bool(request.GET.get("from") or request.GET.get("to")),
                "line_field": line_field,
                "line_checkboxes": len(line_field.field.choices) <= LINE_CHECKBOXES_UP_TO,  # type: ignore[attr-defined]
                "chosen_lines": set(form.cleaned_data.get("line") or [])
                if hasattr(form, "cleaned_data")
                else set(),
                "totals": _totals_shown(totals),
                "page": page,
                "rows": _rows(page),
                "query": query,
                "window_first": form.window[0],
                "window_last": form.window[1],
                "first_day": filters.first_day,
                "last_day": filters.last_day,
                "may_see_in_clear": may_see_numbers_in_clear(self.membership),
                "in_clear_here": bool(clear_windows_in(clear_windows=windows, filters=filters)),
                "has_clear_windows": bool(windows),
                "csv_url": reverse("billing:traffic-export-csv") + (f"?{query}" if query else ""),
            },
        )


class TrafficExportCsvView(CompanyView):
    """The page's download: every record the filters select, header and dates in the user's language.

    Bad filters answer 400 rather than a download of something else than
    was asked for (a line user naming another's line gets no data).
    """

    def get(self, request: HttpRequest) -> HttpResponse | StreamingHttpResponse:
        form = TrafficFilterForm(request.GET, membership=self.membership)
        if not form.is_valid():
            message = "\n".join(
                f"{field}: {' '.join(str(error) for error in errors)}"
                for field, errors in form.errors.items()
            )
            return HttpResponseBadRequest(message, content_type="text/plain; charset=utf-8")
        filters = form.filters()
        windows = clear_windows_for(self.membership)
        traffic_download_audit(
            membership=self.membership,
            actor=request.user if isinstance(request.user, User) else None,
            filters=filters,
            clear_windows=windows,
            file_format="csv",
        )
        return traffic_csv_response(
            membership=self.membership, filters=filters, clear_windows=windows, localized=True
        )
