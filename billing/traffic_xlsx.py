"""The 90-day traffic report as XLSX: written in the request when small, by a Celery task when large.

The rows are those of `billing.traffic_report.traffic_report_queryset`, the
one query of every format (visibility, window, filters, the other party
masked in SQL). The writer is xlsxwriter in `constant_memory` mode: each row
goes to disk as soon as the next one starts, and the rows come from the
database in chunks (a server-side cursor on PostgreSQL), so memory stays flat
whatever the size (QUALITY.md).

- Up to `settings.TRAFFIC_XLSX_DIRECT_ROWS` rows the file is built in the
  request (`traffic_xlsx_request` returns its path).
- Above it, a `TrafficExport` row is written in the request's transaction:
  it is the outbox of the work (ARCHITECTURE.md). Its commit enqueues
  `billing.tasks_traffic_export.traffic_export_build`; the periodic
  `traffic_exports_sweep` sends again the rows whose task was lost. The task
  writes to a temporary file, stores it in private storage only when
  complete and claims the row READY, then tells the requester.

Each download holding numbers in clear is audited (privacy code, art. 124),
when it happens: in the request for a small report, at each download of an
export's file for a large one.
"""

from __future__ import annotations

import logging
import os
import tempfile
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any

import xlsxwriter
from django.conf import settings
from django.core.files import File
from django.db import InterfaceError, OperationalError, transaction
from django.db.models import Q
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.translation import gettext as _

from billing.clear_numbers import ClearWindow, clear_windows_for
from billing.models import OtherNetwork, TrafficDirection, TrafficExport, TrafficExportStatus, TrafficService
from billing.traffic_csv import localized_header
from billing.traffic_report import (
    FEED_COLUMNS,
    TrafficFilters,
    clear_windows_in,
    feed_value,
    traffic_download_audit,
    traffic_in_clear_audit,
    traffic_report_queryset,
)
from selfcare.celery import outbox_enqueue
from selfcare.models import Membership, User
from selfcare.services.notifications import notify

logger = logging.getLogger(__name__)

# Excel holds 1,048,576 rows a sheet, the header included: more data rows go on a new sheet.
SHEET_ROWS = 1_048_575
# Rows fetched from the database at a time: a server-side cursor's batch.
CHUNK_ROWS = 5_000
# The task writes its progress every this many rows: one UPDATE each, a few hundred for a million rows.
PROGRESS_EVERY = 10_000
# A pending export older than this has lost its task (broker down, worker killed before it started).
PENDING_SWEEP_AFTER = timedelta(minutes=5)
# The same name the CSV download uses: staff search the audit trail by it.
XLSX_CONTENT_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
# How many of the user's exports the list page shows: the newest.
EXPORTS_SHOWN = 20

ProgressCallback = Callable[[int], None]


# A running export whose progress has not moved for this long has lost its worker:
# progress is written every PROGRESS_EVERY rows, a second or two apart, and the
# longest silence is the query's first rows (its sort), well under this.
RUNNING_SILENT_AFTER = timedelta(minutes=5)


# The writer unpacks each row in this order: a change of the feed's columns must change it too.
_WRITER_COLUMNS = (
    "record_id",
    "line",
    "started_at",
    "direction",
    "service",
    "other_party",
    "other_operator",
    "other_network",
    "duration_s",
    "volume_bytes",
    "country",
    "topup",
)
if tuple(FEED_COLUMNS) != _WRITER_COLUMNS:
    raise ImportError("billing.traffic_xlsx writes the columns of an older FEED_COLUMNS: update the writer")
_DIRECTION, _SERVICE, _OTHER_NETWORK = 3, 4, 7
_WIDTHS = {"record_id": 24, "line": 16, "started_at": 20, "other_party": 18, "other_network": 16}


# Excel counts days from here (for dates after February 1900, past its 1900 leap-year bug).
_EXCEL_EPOCH = date(1899, 12, 30)


def _excel_serial(value: object, days: dict[str, int]) -> float:
    """The start as Excel stores a datetime: days since its epoch, the time as a fraction, Rome wall clock.

    PostgreSQL hands `started_at` as "2026-11-20T09:15:00+01:00", in Rome
    time already: its first 19 characters are the wall clock. On SQLite the
    column comes back as a datetime, formatted the same way by feed_value.
    Computed here rather than by `write_datetime` from a parsed datetime:
    a dictionary of the days seen and three slices cost less, a million times.
    """
    text = value if isinstance(value, str) else str(feed_value(value))
    day = days.get(text[:10])
    if day is None:
        day = days[text[:10]] = (date.fromisoformat(text[:10]) - _EXCEL_EPOCH).days
    return day + (int(text[11:13]) * 3600 + int(text[14:16]) * 60 + int(text[17:19])) / 86_400


def traffic_xlsx_write(
    *,
    rows: Iterable[Sequence[Any]],
    path: Path,
    language: str,
    progress: ProgressCallback | None = None,
    progress_every: int | None = None,
) -> int:
    """Write `rows` (in the order of FEED_COLUMNS) to an XLSX file at `path`; how many rows were written.

    A header row per sheet in `language`; starts as real Excel datetimes
    (Rome time), durations, volumes and the top-up flag as numbers; a new
    sheet every SHEET_ROWS rows. `progress` is called with the rows written
    so far every `progress_every` rows (PROGRESS_EVERY by default), and once at the end.
    """
    every = progress_every or PROGRESS_EVERY
    with translation.override(language):
        # The same column names as the CSV and the page: the fields' translated names.
        titles = localized_header()
        labels: dict[int, dict[str, str]] = {
            _DIRECTION: {value: str(label) for value, label in TrafficDirection.choices},
            _SERVICE: {value: str(label) for value, label in TrafficService.choices},
            _OTHER_NETWORK: {value: str(label) for value, label in OtherNetwork.choices},
        }
        sheet_title = _("Traffic")
    # tmpdir: constant_memory keeps each sheet's rows in a temporary file next to the output, not in memory.
    workbook = xlsxwriter.Workbook(
        str(path), {"constant_memory": True, "tmpdir": str(path.parent), "use_zip64": True}
    )
    try:
        bold = workbook.add_format({"bold": True})
        started = workbook.add_format({"num_format": "yyyy-mm-dd hh:mm:ss"})
        directions, services, networks = labels[_DIRECTION], labels[_SERVICE], labels[_OTHER_NETWORK]
        days: dict[str, int] = {}
        written = 0
        sheet_row = SHEET_ROWS  # no sheet yet: the first row opens one
        sheets = 0
        worksheet: Any = None
        write_string: Any = None
        write_number: Any = None
        for row in rows:
            if sheet_row >= SHEET_ROWS:
                sheets += 1
                worksheet = workbook.add_worksheet(sheet_title if sheets == 1 else f"{sheet_title} {sheets}")
                _start_sheet(worksheet, titles, bold)
                write_string, write_number = worksheet.write_string, worksheet.write_number
                sheet_row = 0
            sheet_row += 1
            # Unpacked in the order of FEED_COLUMNS (checked at import) and written with the typed
            # write_* calls, not write_row: no guessing of each value's type, no loop over columns.
            (
                record_id,
                line,
                started_at,
                direction,
                service,
                other_party,
                other_operator,
                other_network,
                duration_s,
                volume_bytes,
                country,
                topup,
            ) = row
            write_string(sheet_row, 0, record_id)
            write_string(sheet_row, 1, line)
            write_number(sheet_row, 2, _excel_serial(started_at, days), started)
            write_string(sheet_row, 3, directions.get(direction, direction))
            write_string(sheet_row, 4, services.get(service, service))
            # Data sessions have no other party, operator or network: empty cells, not empty strings.
            if other_party:
                write_string(sheet_row, 5, other_party)
            if other_operator:
                write_string(sheet_row, 6, other_operator)
            if other_network:
                write_string(sheet_row, 7, networks.get(other_network, other_network))
            write_number(sheet_row, 8, duration_s)
            write_number(sheet_row, 9, volume_bytes)
            write_string(sheet_row, 10, country)
            write_number(sheet_row, 11, topup)
            written += 1
            if progress is not None and written % every == 0:
                progress(written)
        if worksheet is None:
            # No rows: still a file with its header, so that "nothing found" opens in Excel like any report.
            worksheet = workbook.add_worksheet(sheet_title)
            _start_sheet(worksheet, titles, bold)
    finally:
        workbook.close()
    if progress is not None:
        progress(written)
    return written


def _start_sheet(worksheet: Any, titles: list[str], bold: Any) -> None:
    for column, name in enumerate(FEED_COLUMNS):
        worksheet.set_column(column, column, _WIDTHS.get(name, 12))
    worksheet.write_row(0, 0, titles, bold)
    worksheet.freeze_panes(1, 0)


def traffic_xlsx_rows(queryset: Iterable[Sequence[Any]]) -> Iterator[Sequence[Any]]:
    """The report's rows from the database in chunks: a server-side cursor on PostgreSQL, never the whole list."""
    iterator = getattr(queryset, "iterator", None)
    if iterator is None:
        return iter(queryset)
    rows: Iterator[Sequence[Any]] = iterator(chunk_size=CHUNK_ROWS)
    return rows


# ---------------------------------------------------------------------------
# Filters, windows in clear
# ---------------------------------------------------------------------------


def filters_as_json(filters: TrafficFilters) -> dict[str, Any]:
    return {
        "first_day": filters.first_day.isoformat(),
        "last_day": filters.last_day.isoformat(),
        "line_ids": list(filters.line_ids),
        "service": filters.service,
        "direction": filters.direction,
    }


def filters_from_json(data: dict[str, Any]) -> TrafficFilters:
    return TrafficFilters(
        first_day=date.fromisoformat(data["first_day"]),
        last_day=date.fromisoformat(data["last_day"]),
        line_ids=tuple(int(pk) for pk in data.get("line_ids") or ()),
        service=data.get("service") or "",
        direction=data.get("direction") or "",
    )


def traffic_xlsx_file_name(filters: TrafficFilters) -> str:
    return f"traffico_{filters.first_day:%Y%m%d}_{filters.last_day:%Y%m%d}.xlsx"


# ---------------------------------------------------------------------------
# Building the file
# ---------------------------------------------------------------------------


def traffic_xlsx_build(
    *,
    membership: Membership,
    filters: TrafficFilters,
    language: str,
    clear_windows: list[ClearWindow],
    progress: ProgressCallback | None = None,
) -> tuple[Path, int]:
    """The report as `membership` sees it, written to a new temporary file: (its path, rows written).

    The caller removes the file once it has stored or sent it.
    """
    queryset = traffic_report_queryset(membership=membership, filters=filters, clear_windows=clear_windows)
    handle, name = tempfile.mkstemp(prefix="traffic-", suffix=".xlsx")
    os.close(handle)
    path = Path(name)
    try:
        written = traffic_xlsx_write(
            rows=traffic_xlsx_rows(queryset), path=path, language=language, progress=progress
        )
    except BaseException:
        path.unlink(missing_ok=True)
        raise
    return path, written


@dataclass(frozen=True)
class TrafficXlsxOutcome:
    """What a request for the XLSX got: the file at once (`path`), or an export in the background."""

    rows: int
    path: Path | None = None
    export: TrafficExport | None = None
    in_clear: bool = False


def traffic_xlsx_request(
    *, membership: Membership, filters: TrafficFilters, language: str, by: User | None
) -> TrafficXlsxOutcome:
    """Build the report now if small, else queue an export: one COUNT over the same query decides.

    A file built now that holds numbers in clear is audited here, since it
    is downloaded at once; a background export is audited at each download
    of its file.
    """
    windows = clear_windows_in(clear_windows=clear_windows_for(membership), filters=filters)
    rows = traffic_report_queryset(membership=membership, filters=filters, clear_windows=windows).count()
    if rows <= settings.TRAFFIC_XLSX_DIRECT_ROWS:
        path, written = traffic_xlsx_build(
            membership=membership, filters=filters, language=language, clear_windows=windows
        )
        # Sent at once: audited now, as the CSV is (the record is written only if a window meets the filters).
        traffic_download_audit(
            membership=membership, actor=by, filters=filters, clear_windows=windows, file_format="xlsx"
        )
        return TrafficXlsxOutcome(rows=written, path=path, in_clear=bool(windows))
    # The same report asked for again (a reload, a second click) while it is built joins that one.
    same = (
        TrafficExport.objects.visible_to(membership)
        .filter(
            status__in=[TrafficExportStatus.PENDING, TrafficExportStatus.RUNNING],
            filters=filters_as_json(filters),
            language=language,
        )
        .first()
    )
    if same is not None:
        return TrafficXlsxOutcome(rows=same.rows_total, export=same, in_clear=same.in_clear)
    with transaction.atomic():
        export = TrafficExport.objects.create(
            company_id=membership.company_id,
            membership=membership,
            filters=filters_as_json(filters),
            language=language,
            rows_total=rows,
            in_clear=bool(windows),
        )
        export_id = export.pk
        # After the commit: the worker must find the row; a rolled-back request queues nothing.
        transaction.on_commit(lambda: traffic_exports_enqueue(export_ids=[export_id]))
    return TrafficXlsxOutcome(rows=rows, export=export, in_clear=bool(windows))


def traffic_export_download(*, export: TrafficExport, by: User | None) -> TrafficExport:
    """A ready export being downloaded: audited when it holds numbers in clear. The caller checked tenancy.

    Each download is a disclosure (privacy code, art. 124), so each one is
    recorded, not the build; with the same event and details as the CSV's,
    plus the export's id.
    """
    if export.in_clear:
        filters = filters_from_json(export.filters)
        windows = clear_windows_in(clear_windows=clear_windows_for(export.membership), filters=filters)
        # The windows as approved now; the file itself was built with those of its day (flagged in_clear).
        traffic_in_clear_audit(
            membership=export.membership,
            actor=by,
            filters=filters,
            windows=windows,
            file_format="xlsx",
            export_id=export.pk,
        )
    return export


def traffic_exports_of(*, membership: Membership, limit: int = EXPORTS_SHOWN) -> list[TrafficExport]:
    """The user's newest exports, newest first: one query."""
    return list(TrafficExport.objects.visible_to(membership).order_by("-requested_at", "-pk")[:limit])


# ---------------------------------------------------------------------------
# The background work
# ---------------------------------------------------------------------------


def traffic_exports_enqueue(*, export_ids: list[int]) -> int:
    """Queue the building of each export; a broker that is down is left to the sweep. How many were queued."""
    from billing.tasks_traffic_export import traffic_export_build

    return outbox_enqueue(traffic_export_build, export_ids, what="traffic exports")


def traffic_exports_sweep(*, now: datetime | None = None) -> int:
    """Queue again the exports whose task was lost: pending for minutes, or running with no progress for minutes.

    Should the first worker be alive after all, both build the file and only
    one marks it ready (traffic_export_build), so the requester is told once.
    """
    now = now or timezone.now()
    stale = list(
        TrafficExport.objects.filter(
            Q(status=TrafficExportStatus.PENDING, requested_at__lt=now - PENDING_SWEEP_AFTER)
            | Q(status=TrafficExportStatus.RUNNING, heartbeat_at__lt=now - RUNNING_SILENT_AFTER)
        )
        .order_by("pk")
        .values_list("pk", flat=True)[:500]
    )
    return traffic_exports_enqueue(export_ids=stale) if stale else 0


def traffic_export_build(*, export_id: int) -> bool:
    """Build an export's file, store it, mark it ready and tell the requester; whether this call did it.

    Idempotent: an export ready, failed or gone is left alone. Two workers
    on the same export (a redelivery, the sweep) both write a temporary file;
    only the one whose READY claim succeeds keeps its stored file and
    notifies, so the requester is told once.
    """
    claimed = TrafficExport.objects.filter(
        pk=export_id, status__in=[TrafficExportStatus.PENDING, TrafficExportStatus.RUNNING]
    ).update(status=TrafficExportStatus.RUNNING, rows_done=0, heartbeat_at=timezone.now())
    if claimed != 1:
        return False
    export = TrafficExport.objects.select_related("membership__user", "membership__company").get(pk=export_id)
    membership = export.membership
    filters = filters_from_json(export.filters)
    # The windows as approved now: a request revoked since the click no longer shows numbers in clear.
    windows = clear_windows_in(clear_windows=clear_windows_for(membership), filters=filters)

    def progress(rows_done: int) -> None:
        TrafficExport.objects.filter(pk=export_id, status=TrafficExportStatus.RUNNING).update(
            rows_done=rows_done, heartbeat_at=timezone.now()
        )

    try:
        path, written = traffic_xlsx_build(
            membership=membership,
            filters=filters,
            language=export.language,
            clear_windows=windows,
            progress=progress,
        )
    except (OperationalError, InterfaceError):
        raise  # the database gone for a moment: the task's retry builds the file again
    except Exception:
        # A report that cannot be built now will not be built by retrying: failed, and the user asks again.
        logger.exception("traffic export %s could not be built", export_id)
        TrafficExport.objects.filter(pk=export_id, status=TrafficExportStatus.RUNNING).update(
            status=TrafficExportStatus.FAILED, finished_at=timezone.now()
        )
        return False
    try:
        with path.open("rb") as content:
            name = export.file.storage.save(
                export.file.field.generate_filename(export, traffic_xlsx_file_name(filters)), File(content)
            )
    finally:
        path.unlink(missing_ok=True)
    with transaction.atomic():
        done = TrafficExport.objects.filter(pk=export_id, status=TrafficExportStatus.RUNNING).update(
            status=TrafficExportStatus.READY,
            file=name,
            rows_done=written,
            rows_total=written,
            in_clear=bool(windows),
            finished_at=timezone.now(),
        )
        if done != 1:
            transaction.on_commit(lambda: export.file.storage.delete(name))
            return False
        notify(
            company=membership.company,
            event="traffic_export_ready",
            key=f"traffic-export-{export_id}",
            recipients=[membership.user],
            context={"rows": written, "first_day": filters.first_day, "last_day": filters.last_day},
            link=reverse("billing:traffic-export", kwargs={"pk": export_id}),
        )
    return True
