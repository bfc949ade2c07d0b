"""The traffic report as CSV, streamed: the page's download (in the user's language) and the API's (the feed's columns).

On PostgreSQL the rows never pass through Python: the report's query
(`billing.traffic_report.traffic_report_queryset`) runs inside
`COPY (…) TO STDOUT WITH (FORMAT csv)` and the bytes PostgreSQL sends are
handed to the web server in chunks of about 64 KB, so memory stays flat
whatever the size. Django's psycopg 3 cursors bind parameters on the client
(`psycopg.ClientCursor`, unless `server_side_binding` is set), which is what
lets a parametrised query be the body of a COPY: COPY itself takes no bind
parameters. On the embedded SQLite the queryset is iterated in chunks and
written with the csv module.

Serve it with gunicorn (WSGI): under ASGI a sync streaming response is
buffered whole (LIBRARIES.md, "CSV").
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator, Sequence
from datetime import UTC, datetime
from typing import Any, cast

import psycopg
from django.core.exceptions import ImproperlyConfigured
from django.db import connection
from django.db.models import Case, CharField, F, Field, Func, QuerySet, Value, When
from django.http import StreamingHttpResponse
from django.utils import timezone, translation
from django.utils.text import capfirst
from django.utils.translation import gettext

from billing.clear_numbers import ClearWindow
from billing.models import OtherNetwork, TrafficDirection, TrafficRecord, TrafficService
from billing.traffic_report import (
    FEED_COLUMNS,
    ROME,
    TrafficFilters,
    feed_value,
    traffic_report_queryset,
)
from selfcare.models import Membership

# Bytes handed to the web server at a time: COPY sends one message per row,
# and a write per row would cost more than the query.
CHUNK_BYTES = 64 * 1024
# Rows fetched at a time on SQLite.
SQLITE_CHUNK_ROWS = 2000

# `started_at` in the local convention of each language, for the page's
# download (the API keeps the feed's ISO 8601): PostgreSQL's to_char pattern
# and the same in strftime, for SQLite. English gets the unambiguous
# year-month-day order: the portal's English readers are not only American.
LOCAL_TIMESTAMP_FORMATS: dict[str, tuple[str, str]] = {
    "it": ("DD/MM/YYYY HH24:MI:SS", "%d/%m/%Y %H:%M:%S"),
    "en": ("YYYY-MM-DD HH24:MI:SS", "%Y-%m-%d %H:%M:%S"),
}


def _local_formats() -> tuple[str, str]:
    language = (translation.get_language() or "it").split("-")[0]
    return LOCAL_TIMESTAMP_FORMATS.get(language, LOCAL_TIMESTAMP_FORMATS["it"])


class RomeLocalTimestamp(Func):
    """`started_at` as Rome wall-clock time in a to_char pattern, computed by PostgreSQL.

    On SQLite the column comes back as a datetime, formatted in Python by
    `_sqlite_rows`.
    """

    output_field = CharField()

    def __init__(self, expression: Any, *, pattern: str) -> None:
        super().__init__(expression)
        self.pattern = pattern

    def as_postgresql(self, compiler: Any, connection: Any, **extra: Any) -> tuple[str, list[Any]]:
        column, params = compiler.compile(self.source_expressions[0])
        return f"to_char(({column} AT TIME ZONE 'Europe/Rome'), %s)", [*params, self.pattern]

    def as_sql(self, compiler: Any, connection: Any, **extra: Any) -> tuple[str, list[Any]]:  # type: ignore[override]
        sql, params = compiler.compile(self.source_expressions[0])
        return sql, list(params)


def localized_header() -> list[str]:
    """The feed's columns named in the active language, in the feed's order.

    Each column is a field of TrafficRecord with the same name: its
    translated verbose name is the column's name, so the page, the admin and
    the download call a column the same.
    """
    fields = TrafficRecord._meta
    return [
        str(capfirst(cast(Field[Any, Any], fields.get_field(column)).verbose_name)) for column in FEED_COLUMNS
    ]


def _header_bytes(header: Sequence[str]) -> bytes:
    buffer = io.StringIO()
    # "\n", as COPY ends its rows.
    csv.writer(buffer, lineterminator="\n").writerow(header)
    return buffer.getvalue().encode()


def _copy_chunks(sql: str, params: Sequence[Any]) -> Iterator[bytes]:
    """The rows of `sql` as CSV bytes straight from PostgreSQL.

    Runs inside the response's generator, after the view has returned: the
    cursor is opened here, on this thread's connection, and closed by the
    `with` blocks when the last row is sent, or when the client goes away
    (the generator is closed: psycopg cancels the COPY and drains it, so the
    connection is clean for the next request).
    """
    with connection.cursor() as cursor:
        raw = cursor.cursor
        # Parameters merged into the statement by the client: COPY takes none.
        if not isinstance(raw, psycopg.ClientCursor):
            raise ImproperlyConfigured(
                "The traffic CSV needs client-side binding: unset server_side_binding."
            )
        statement = f"COPY ({sql}) TO STDOUT WITH (FORMAT csv, HEADER false)"
        with raw.copy(statement, params) as copy:
            buffer = bytearray()
            for data in copy:
                buffer += data
                if len(buffer) >= CHUNK_BYTES:
                    yield bytes(buffer)
                    buffer.clear()
            if buffer:
                yield bytes(buffer)


def _sqlite_rows(rows: Iterator[tuple[Any, ...]], *, started_at_format: str | None) -> Iterator[bytes]:
    """The embedded mode: rows formatted in Python, written in chunks."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    for written, row in enumerate(rows, start=1):
        values = list(row)
        if started_at_format is not None and isinstance(values[2], datetime):
            started = values[2] if timezone.is_aware(values[2]) else values[2].replace(tzinfo=UTC)
            values[2] = timezone.localtime(started, ROME).strftime(started_at_format)
        writer.writerow([feed_value(value) for value in values])
        if written % SQLITE_CHUNK_ROWS == 0:
            yield buffer.getvalue().encode()
            buffer.seek(0)
            buffer.truncate()
    if buffer.tell():
        yield buffer.getvalue().encode()


def _label(column: str, choices: Sequence[tuple[str, Any]]) -> Case:
    """A coded column as its label in the active language, computed by the database (the stream stays SQL)."""
    whens = [When(**{column: value}, then=Value(str(label))) for value, label in choices]
    return Case(*whens, default=F(column), output_field=CharField())


def _localized(
    queryset: QuerySet[TrafficRecord, tuple[Any, ...]], pattern: str
) -> QuerySet[TrafficRecord, tuple[Any, ...]]:
    """The same rows for a person: `started_at` in the local convention, codes as words, in the active language."""
    fields = list(getattr(queryset, "_fields", ()))
    replaced = {
        "started_at_feed": "started_at_local",
        "direction": "direction_label",
        "service": "service_label",
        "other_network": "other_network_label",
    }
    fields = [replaced.get(name, name) for name in fields]
    return queryset.annotate(
        started_at_local=RomeLocalTimestamp("started_at", pattern=pattern),
        direction_label=_label("direction", TrafficDirection.choices),
        service_label=_label("service", TrafficService.choices),
        other_network_label=_label("other_network", OtherNetwork.choices),
    ).values_list(*fields)


def traffic_csv_chunks(
    *,
    membership: Membership,
    filters: TrafficFilters,
    clear_windows: list[ClearWindow],
    localized: bool,
) -> Iterator[bytes]:
    """The report as CSV bytes: the header row, then the rows in chunks.

    `localized`: the page's download, header and date in the active
    language; otherwise the API's, with the feed's column names and ISO 8601
    dates (CONTRACTS.md). The header and the query are made now, in the
    request's language; the query runs when the response is read.
    """
    queryset = traffic_report_queryset(membership=membership, filters=filters, clear_windows=clear_windows)
    header = list(FEED_COLUMNS)
    sqlite_format: str | None = None
    if localized:
        header = localized_header()
        pattern, sqlite_format = _local_formats()
        queryset = _localized(queryset, pattern)
    if connection.vendor == "postgresql":
        sql, params = queryset.query.sql_with_params()
        return _chained(_header_bytes(header), _copy_chunks(sql, params))
    return _chained(
        _header_bytes(header),
        _sqlite_rows(queryset.iterator(chunk_size=SQLITE_CHUNK_ROWS), started_at_format=sqlite_format),
    )


def _chained(first: bytes, rest: Iterator[bytes]) -> Iterator[bytes]:
    yield first
    yield from rest


def traffic_csv_response(
    *,
    membership: Membership,
    filters: TrafficFilters,
    clear_windows: list[ClearWindow],
    localized: bool,
) -> StreamingHttpResponse:
    """The streamed download; the caller has checked the filters and written the audit record."""
    chunks = traffic_csv_chunks(
        membership=membership, filters=filters, clear_windows=clear_windows, localized=localized
    )
    response = StreamingHttpResponse(chunks, content_type="text/csv; charset=utf-8")
    name = gettext("traffic") if localized else "traffic"
    response["Content-Disposition"] = (
        f'attachment; filename="{name}-{filters.first_day:%Y-%m-%d}-{filters.last_day:%Y-%m-%d}.csv"'
    )
    # A company's traffic: never in a shared cache.
    response["Cache-Control"] = "private, no-store"
    return response
