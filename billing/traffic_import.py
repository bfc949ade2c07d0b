"""Importing the traffic feed (CONTRACTS.md): one transaction per file, set-based on PostgreSQL.

PostgreSQL: the file's data rows go with COPY, as they are, one line a row,
into a temporary staging table that numbers them; one statement then splits,
checks and types every row (the rules of `billing.traffic_feed`), matches its
line and looks its record id up, into a second temporary table; the good rows
then go into the traffic table, their ids into `TrafficRecordId` and their
sums into `TrafficDailyTotal`, each in one statement. Nothing runs per row in
Python, except rows with double quotes (rare), which the csv module splits.

Where the time goes (docs/feeds.md has the figures): the check, about a
quarter, and writing the records, their ids and the daily totals, the rest,
each about as much as the other. The totals are summed once into a temporary
table and added in the order of their unique constraint; the usual timestamp
is checked by hashed look-ups instead of string arithmetic; JIT is off.

Duplicates: a record id already in `TrafficRecordId` with the same
fingerprint is a duplicate, with another a conflict (rejected). The ids are
inserted with ON CONFLICT DO NOTHING, so that table's primary key decides
between two imports of the same records at the same time: the second waits
for the first to commit and finds its rows already there. When the insert
writes fewer ids than it was given (ids repeated within the file, or written
meanwhile by another import), it is undone and redone the careful way,
which finds for each id its first row in the file.

Partitions: one per Rome day, `billing_trafficrecord_pYYYYMMDD`, made here
before the rows go in, under an advisory lock so that two imports never
make the same one. A new partition is made with CREATE TABLE and ATTACH
PARTITION, which locks the parent table in SHARE UPDATE EXCLUSIVE mode: the
traffic pages can read it, and other imports write to it, meanwhile
(`CREATE TABLE … PARTITION OF` would lock out even readers until commit).

SQLite (the embedded mode): no COPY and no partitions; rows are checked in
Python with the same rules and written with the same statements.
"""

# ruff: noqa: S608 - every statement is built from this module's constants; values from files go as parameters

from __future__ import annotations

import logging
import time
import zlib
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any

import psycopg
from django.db import connection, transaction
from django.utils import timezone

from billing.models import TrafficRecordId
from billing.traffic_feed import (
    COUNTRY_CODES,
    DIGITS,
    EARLIEST_START,
    ERROR_ORDER,
    FEED_COLUMNS,
    MAX_DURATION_S,
    MAX_VOLUME_BYTES,
    OPERATOR_CHARACTERS,
    OTHER_NETWORKS,
    PARTY_SERVICES,
    SERVICES,
    CheckedRow,
    FeedChunks,
    TrafficFeedRefusedError,
    TrafficImportResult,
    TrafficRejection,
    not_utf8_refusal,
    rejection_text,
    split_quoted_row,
    traffic_feed_open,
    traffic_feed_unreadable,
    traffic_row_check,
)
from selfcare.models import Line

__all__ = [
    "TRAFFIC_PARTITIONS_IN_USE_LOCK",
    "TRAFFIC_PARTITION_LOCK",
    "TrafficFeedRefusedError",
    "TrafficImportBatch",
    "TrafficImportResult",
    "TrafficRejection",
    "traffic_import_file",
    "traffic_import_files",
    "traffic_partition_name",
    "traffic_partitions_add",
]

logger = logging.getLogger(__name__)

# pg_advisory_xact_lock key held by whoever makes or drops traffic partitions (this
# importer, the retention task), so that they never race on one.
TRAFFIC_PARTITION_LOCK = zlib.crc32(b"billing_trafficrecord partitions")
# Held shared by every import from its look at the partitions to its commit, and
# exclusively by the retention task before it drops one: an import never writes
# into a partition dropped after it saw it. Both take it before
# TRAFFIC_PARTITION_LOCK, always in that order, so the two never deadlock.
TRAFFIC_PARTITIONS_IN_USE_LOCK = zlib.crc32(b"billing_trafficrecord partitions in use")

# Row status in the work table: new, duplicate, rejected, conflict with an earlier
# import, conflict with an earlier row of the same file.
NEW, DUPLICATE, REJECTED, CONFLICT_EARLIER, CONFLICT_IN_FILE = "n", "d", "r", "c", "f"


def traffic_partition_name(day: date) -> str:
    return f"billing_trafficrecord_p{day:%Y%m%d}"


@dataclass
class TrafficImportBatch:
    """Several files: the sum of what the imported ones did, and the refused ones with why."""

    result: TrafficImportResult = field(default_factory=TrafficImportResult)
    refused: list[tuple[str, str]] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return {
            **self.result.as_dict(),
            "refused": [{"file": name, "error": error} for name, error in self.refused],
        }


def traffic_import_files(*, paths: Sequence[Path]) -> TrafficImportBatch:
    """Import each file in its own transaction; a refused file leaves the others alone."""
    batch = TrafficImportBatch()
    for path in paths:
        try:
            batch.result.merge(traffic_import_file(path=path))
        except TrafficFeedRefusedError as error:
            batch.refused.append((str(path), str(error)))
    return batch


def traffic_import_file(*, path: Path) -> TrafficImportResult:
    """Import one feed file: all of its good rows or, on any failure, none.

    Raises TrafficFeedRefusedError, having written nothing, when the file
    cannot be read, is not UTF-8 or has the wrong header.
    """
    try:
        with path.open("rb") as stream:
            chunks = traffic_feed_open(path=path, stream=stream)
            if connection.vendor == "postgresql":
                result = _import_postgresql(chunks)
            else:
                result = _import_sqlite(chunks)
    except OSError as error:
        raise traffic_feed_unreadable(path=path, error=error) from error
    # The file is committed: the roaming spend of the line-months it touched
    # abroad follows (recomputed, so a replayed file changes nothing). Imported
    # here: roaming builds on billing's models, not the other way round.
    from roaming.spend import roaming_spend_after_import

    roaming_spend_after_import(touched=result.touched)
    # The Reports page's cache of the companies it touched, and their daily-data alerts (insight.hooks).
    from insight.hooks import insight_after_traffic_import

    insight_after_traffic_import(touched=result.touched)
    return result


# ---------------------------------------------------------------------------
# Statements shared by both databases (the work table is `traffic_checked`)
# ---------------------------------------------------------------------------

_RECORD_COLUMNS = (
    "record_id, company_id, line_id, started_at, day, direction, service, other_party, "
    "other_operator, other_network, duration_s, volume_bytes, country, topup"
)
_TOTAL_KEY = "company_id, line_id, day, service, direction, other_operator, other_network, country, topup"

RECORD_IDS_INSERT = f"""
INSERT INTO billing_trafficrecordid (record_id, fingerprint, day, imported_at)
SELECT record_id, fingerprint, day, %s FROM traffic_checked WHERE status = '{NEW}'
ON CONFLICT DO NOTHING
"""
RECORDS_INSERT = f"""
INSERT INTO billing_trafficrecord ({_RECORD_COLUMNS})
SELECT {_RECORD_COLUMNS} FROM traffic_checked WHERE status = '{NEW}'
"""
# SQLite: adds this file's sums to the line's day; the unique constraint is the upsert's arbiter.
DAILY_TOTALS_UPSERT = f"""
INSERT INTO billing_trafficdailytotal ({_TOTAL_KEY}, records, duration_s, volume_bytes)
SELECT {_TOTAL_KEY}, count(*), sum(duration_s), sum(volume_bytes)
FROM traffic_checked WHERE status = '{NEW}'
GROUP BY {_TOTAL_KEY}
ON CONFLICT (line_id, day, company_id, service, direction, other_operator, other_network, country, topup)
DO UPDATE SET records = billing_trafficdailytotal.records + excluded.records,
    duration_s = billing_trafficdailytotal.duration_s + excluded.duration_s,
    volume_bytes = billing_trafficdailytotal.volume_bytes + excluded.volume_bytes
RETURNING company_id, line_id, day
"""


# PostgreSQL: the file's sums, one row per total, made once into a temporary table,
# then added in the order of the unique constraint, so that the upsert walks its
# index from left to right instead of jumping around it (a tenth less time than in
# hash order); the line-days touched are read from the sums too.
_TOTALS_ORDER = "line_id, day, company_id, service, direction, other_operator, other_network, country, topup"
DAILY_TOTALS_SUMS = f"""
CREATE TEMP TABLE traffic_totals ON COMMIT DROP AS
SELECT {_TOTAL_KEY}, count(*) AS records, sum(duration_s) AS duration_s, sum(volume_bytes) AS volume_bytes
FROM traffic_checked WHERE status = '{NEW}'
GROUP BY {_TOTALS_ORDER}
"""
DAILY_TOTALS_ADD = f"""
INSERT INTO billing_trafficdailytotal ({_TOTAL_KEY}, records, duration_s, volume_bytes)
SELECT {_TOTAL_KEY}, records, duration_s, volume_bytes FROM traffic_totals
ORDER BY {_TOTALS_ORDER}
ON CONFLICT ({_TOTALS_ORDER})
DO UPDATE SET records = billing_trafficdailytotal.records + excluded.records,
    duration_s = billing_trafficdailytotal.duration_s + excluded.duration_s,
    volume_bytes = billing_trafficdailytotal.volume_bytes + excluded.volume_bytes
"""


def _records_write(cursor: Any) -> set[tuple[int, int, date]]:
    """Insert the new rows and add them to the daily totals; returns the (company, line, day) touched."""
    cursor.execute(RECORDS_INSERT)
    if connection.vendor == "postgresql":
        cursor.execute(DAILY_TOTALS_SUMS)
        cursor.execute(DAILY_TOTALS_ADD)
        cursor.execute("SELECT DISTINCT company_id, line_id, day FROM traffic_totals")
        touched = {(company_id, line_id, day) for company_id, line_id, day in cursor.fetchall()}
        cursor.execute("DROP TABLE traffic_totals")
        return touched
    cursor.execute(DAILY_TOTALS_UPSERT)
    return {
        (company_id, line_id, date.fromisoformat(day) if isinstance(day, str) else day)
        for company_id, line_id, day in cursor.fetchall()
    }


def _rejection(
    file: str, row_no: int, codes: Iterable[str], fields: Sequence[str] | None, first_row: int | None
) -> TrafficRejection:
    ordered = sorted(codes, key=_ERROR_RANK.__getitem__)
    return TrafficRejection(
        file=file,
        row=row_no,
        error="; ".join(rejection_text(code, fields, first_row) for code in ordered),
        code=ordered[0],
    )


_ERROR_RANK = {code: rank for rank, code in enumerate((*ERROR_ORDER, "conflict_in_file", "conflict_earlier"))}


# ---------------------------------------------------------------------------
# PostgreSQL
# ---------------------------------------------------------------------------


def _sql_text(values: Iterable[str]) -> str:
    return ", ".join("'" + value.replace("'", "''") + "'" for value in values)


def _e164(column: str) -> str:
    return (
        f"(left({column}, 1) = '+' AND length({column}) BETWEEN 8 AND 16 AND substr({column}, 2, 1) <> '0' "
        f"AND ltrim(substr({column}, 2), '{DIGITS}') = '')"
    )


def _digits(column: str, longest: int) -> str:
    return f"({column} <> '' AND length({column}) <= {longest} AND ltrim({column}, '{DIGITS}') = '')"


def _negative(column: str) -> str:
    return (
        f"(left({column}, 1) = '-' AND length({column}) > 1 AND ltrim(substr({column}, 2), '{DIGITS}') = '')"
    )


def _timestamp_shapes() -> str:
    base = "0000-00-00T00:00:00"
    fractions = ["", *("." + "0" * n for n in range(1, 7))]
    return _sql_text(
        base + fraction + offset for fraction in fractions for offset in ("Z", "+00:00", "-00:00")
    )


# The feed's timestamp, checked so that the cast after it cannot fail. The usual
# form (no fraction of a second) is looked up in four small sets of valid parts
# (`_TIMESTAMP_PARTS`: calendar days of 2000-2099, hours and minutes, seconds,
# offsets), each a hashed lookup; anything else takes the full check: digits
# mapped to 0 and compared with the accepted shapes, then each part's range. The
# lookups only ever accept what the full check accepts. CASE, not AND: only CASE
# fixes the order of evaluation.
def _timestamp_valid(t: str) -> str:
    return f"""CASE WHEN substr({t}, 1, 10) IN (SELECT part FROM traffic_ts_days)
        AND substr({t}, 11, 6) IN (SELECT part FROM traffic_ts_minutes)
        AND substr({t}, 17, 3) IN (SELECT part FROM traffic_ts_seconds)
        AND substr({t}, 20) IN (SELECT part FROM traffic_ts_offsets) THEN true
    ELSE {_timestamp_valid_slowly(t)} END"""


_TIMESTAMP_PARTS = {
    "traffic_ts_days": "SELECT to_char(d, 'YYYY-MM-DD') FROM generate_series('2000-01-01'::date, '2099-12-31', '1 day') d",
    "traffic_ts_minutes": "SELECT 'T' || to_char(m, 'HH24:MI') FROM generate_series('2000-01-01'::timestamp, "
    "'2000-01-01 23:59', '1 minute') m",
    "traffic_ts_seconds": "SELECT ':' || lpad(s::text, 2, '0') FROM generate_series(0, 59) s",
    "traffic_ts_offsets": "SELECT 'Z' UNION ALL SELECT sign || lpad(h::text, 2, '0') || ':' || lpad(m::text, 2, '0') "
    "FROM unnest(ARRAY['+', '-']) sign, generate_series(0, 14) h, generate_series(0, 59) m",
}


def _timestamp_valid_slowly(t: str) -> str:
    return f"""CASE WHEN translate({t}, '123456789', '000000000') IN ({_timestamp_shapes()}) THEN
        substr({t}, 6, 2)::int BETWEEN 1 AND 12
        AND substr({t}, 9, 2)::int BETWEEN 1 AND (CASE
            WHEN substr({t}, 6, 2)::int IN (4, 6, 9, 11) THEN 30
            WHEN substr({t}, 6, 2)::int <> 2 THEN 31
            WHEN substr({t}, 1, 4)::int % 4 = 0 AND (substr({t}, 1, 4)::int % 100 <> 0 OR substr({t}, 1, 4)::int % 400 = 0)
                THEN 29
            ELSE 28 END)
        AND substr({t}, 12, 2)::int <= 23 AND substr({t}, 15, 2)::int <= 59 AND substr({t}, 18, 2)::int <= 59
        AND (right({t}, 1) = 'Z' OR (left(right({t}, 5), 2)::int <= 14 AND right({t}, 2)::int <= 59))
    ELSE false END"""


def _rules(*, control_characters: bool) -> list[tuple[str, str]]:
    """(error code, condition that is true for a bad row), for rows with their 12 columns."""
    party = _sql_text(PARTY_SERVICES)
    record_id = "length(record_id) NOT BETWEEN 1 AND 64"
    if control_characters:
        record_id += " OR record_id ~ '[[:cntrl:]]'"
    return [
        ("record_id", record_id),
        ("line_format", f"line_id IS NULL AND NOT {_e164('line')}"),
        ("line_unknown", f"line_id IS NULL AND {_e164('line')}"),
        ("started_at_format", "started_at IS NULL"),
        (
            "started_at_range",
            f"coalesce(started_at < '{EARLIEST_START.isoformat()}' OR started_at > now() + interval '1 day', false)",
        ),
        ("direction", "direction NOT IN ('out', 'in')"),
        ("service", f"service NOT IN ({_sql_text(SERVICES)})"),
        (
            "data_other_party",
            "service = 'data' AND (other_party <> '' OR other_operator <> '' OR other_network <> '')",
        ),
        (
            "other_party",
            f"service IN ({party}) AND NOT ((other_party = '' AND direction = 'in') "
            f"OR {_e164('other_party')} OR {_digits('other_party', 15)})",
        ),
        (
            "other_operator",
            f"service IN ({party}) AND (length(other_operator) NOT BETWEEN 1 AND 20 "
            f"OR ltrim(other_operator, '{OPERATOR_CHARACTERS}') <> '')",
        ),
        ("other_network", f"service IN ({party}) AND other_network NOT IN ({_sql_text(OTHER_NETWORKS)})"),
        ("duration_format", f"duration_s IS NULL AND NOT {_negative('duration_text')}"),
        ("duration_negative", _negative("duration_text")),
        ("duration_absurd", f"coalesce(duration_s > {MAX_DURATION_S}, false)"),
        ("duration_not_voice", "service IN ('sms', 'mms', 'data') AND coalesce(duration_s <> 0, false)"),
        ("volume_format", f"volume_bytes IS NULL AND NOT {_negative('volume_text')}"),
        ("volume_negative", _negative("volume_text")),
        ("volume_absurd", f"coalesce(volume_bytes > {MAX_VOLUME_BYTES}, false)"),
        ("volume_not_data", f"service IN ({party}) AND coalesce(volume_bytes <> 0, false)"),
        ("country", "country NOT IN (SELECT code FROM traffic_countries)"),
        ("topup", "topup_text NOT IN ('0', '1')"),
    ]


def _check_statement(*, control_characters: bool) -> str:
    """Split, check and type every staged row into `traffic_checked`, in one pass.

    OFFSET 0 keeps each level a level of its own, so that an expression
    (the timestamp cast, say) is computed once per row, not once per use.
    """
    rules = _rules(control_characters=control_characters)
    bad = " OR ".join(f"({condition})" for _code, condition in rules)
    errors = ", ".join(f"CASE WHEN {condition} THEN '{code}' END" for code, condition in rules)
    return f"""
CREATE TEMP TABLE traffic_checked ON COMMIT DROP AS
SELECT v.row_no, v.record_id, v.line_id, v.company_id, v.started_at, v.day, v.direction, v.service,
    v.other_party, v.other_operator, v.other_network, v.duration_s, v.volume_bytes, v.country,
    v.topup_text = '1' AS topup, v.fingerprint,
    CASE WHEN NOT v.ok THEN '{REJECTED}' WHEN known.fingerprint IS NULL THEN '{NEW}'
        WHEN known.fingerprint = v.fingerprint THEN '{DUPLICATE}' ELSE '{CONFLICT_EARLIER}' END AS status,
    v.errors,
    CASE WHEN NOT v.ok THEN v.f END AS rejected_fields,
    NULL::bigint AS first_row
FROM (
    SELECT c.*,
        CASE WHEN c.ok THEN md5(concat_ws('|', c.line, c.started_at::text, c.direction, c.service, c.other_party,
            c.other_operator, c.other_network, c.duration_s::text, c.volume_bytes::text, c.country, c.topup_text))
        END AS fingerprint,
        CASE WHEN c.ok THEN NULL WHEN c.quoting_error THEN ARRAY['quoting'] WHEN NOT c.columns_ok
            THEN ARRAY['columns'] ELSE array_remove(ARRAY[{errors}], NULL) END AS errors
    FROM (
        SELECT d.*, d.columns_ok AND NOT ({bad}) AS ok
        FROM (
            SELECT b.*, l.line_id, l.company_id
            FROM (
                SELECT a.*, (a.started_at AT TIME ZONE 'Europe/Rome')::date AS day
                FROM (
                    SELECT s.row_no, s.f, s.quoting_error, s.columns_ok,
                        s.record_id, s.line, s.direction, s.service,
                        s.other_party, s.other_operator, s.other_network,
                        s.duration_text, s.volume_text, s.country, s.topup_text,
                        CASE WHEN {_timestamp_valid("s.started_text")}
                            THEN s.started_text::timestamptz END AS started_at,
                        CASE WHEN {_digits("s.duration_text", 18)} THEN s.duration_text::bigint END AS duration_s,
                        CASE WHEN {_digits("s.volume_text", 18)} THEN s.volume_text::bigint END AS volume_bytes
                    FROM (
                        SELECT r.row_no, r.f, r.quoting_error, cardinality(r.f) = 12 AND NOT r.quoting_error AS columns_ok,
                            r.f[1] AS record_id, r.f[2] AS line, r.f[3] AS started_text, r.f[4] AS direction,
                            r.f[5] AS service, r.f[6] AS other_party, r.f[7] AS other_operator,
                            r.f[8] AS other_network, r.f[9] AS duration_text, r.f[10] AS volume_text,
                            r.f[11] AS country, r.f[12] AS topup_text
                        FROM (
                            SELECT row_no, quoting_error, coalesce(fields, string_to_array(raw, ',')) AS f
                            FROM traffic_staging WHERE raw <> ''
                            OFFSET 0
                        ) r
                        OFFSET 0
                    ) s
                    OFFSET 0
                ) a
                OFFSET 0
            ) b
            LEFT JOIN traffic_lines l
                ON l.number = b.line AND coalesce(b.day, current_date) >= l.valid_from
                AND coalesce(b.day, current_date) < l.valid_to
            OFFSET 0
        ) d
        OFFSET 0
    ) c
    OFFSET 0
) v
LEFT JOIN billing_trafficrecordid known ON known.record_id = v.record_id
"""


# Each number's lines over time: a line takes the number from its activation until the
# next line of the same number (after a takeover) is activated; the first one from
# ever, so that every record of a known number finds exactly one line and company.
_LINES_TIMELINE = """
CREATE TEMP TABLE traffic_lines ON COMMIT DROP AS
SELECT number, line_id, company_id,
    CASE WHEN row_number() OVER w = 1 THEN '-infinity'::date ELSE since END AS valid_from,
    coalesce(lead(since) OVER w, 'infinity'::date) AS valid_to
FROM (
    SELECT number, id AS line_id, company_id, coalesce(activated_on, '-infinity'::date) AS since FROM selfcare_line
) lines
WINDOW w AS (PARTITION BY number ORDER BY since, line_id)
"""


def _import_postgresql(chunks: FeedChunks) -> TrafficImportResult:
    result = TrafficImportResult()
    with transaction.atomic():
        connection.ensure_connection()
        with TimedCursor(connection.connection) as cursor:
            cursor.execute(
                "DROP TABLE IF EXISTS pg_temp.traffic_staging, pg_temp.traffic_checked, pg_temp.traffic_lines, "
                "pg_temp.traffic_countries, pg_temp.traffic_new_ids, pg_temp.traffic_totals, "
                + ", ".join(f"pg_temp.{table}" for table in _TIMESTAMP_PARTS)
            )
            # The fingerprint holds started_at as text: the same in every session.
            cursor.execute("SET LOCAL TIME ZONE 'UTC'")
            cursor.execute("SET LOCAL DateStyle = 'ISO, YMD'")
            # The daily sums and the duplicate search hash a few hundred thousand keys.
            cursor.execute("SET LOCAL work_mem = '128MB'")
            # JIT compiling the check (a few hundred expressions) cost more than it saved:
            # 19 s instead of 11 s for a million rows.
            cursor.execute("SET LOCAL jit = off")
            cursor.execute(
                "CREATE TEMP TABLE traffic_staging (row_no bigint GENERATED ALWAYS AS IDENTITY, raw text NOT NULL, "
                "fields text[], quoting_error boolean NOT NULL DEFAULT false) ON COMMIT DROP"
            )
            # Text format with a delimiter that cannot occur (FeedChunks maps it away):
            # each line arrives whole, so a row with the wrong number of columns is
            # rejected as that row instead of failing the whole COPY.
            started = time.perf_counter()
            with cursor.copy(
                "COPY traffic_staging (raw) FROM STDIN (FORMAT text, DELIMITER E'\\x01')"
            ) as copy:
                for chunk in chunks:
                    copy.write(chunk)
            logger.debug("%.3f s: COPY of %s", time.perf_counter() - started, chunks.name)
            if chunks.has_quotes:
                _quoted_rows_split(cursor)
            cursor.execute("CREATE TEMP TABLE traffic_countries (code text PRIMARY KEY) ON COMMIT DROP")
            cursor.execute(
                f"INSERT INTO traffic_countries VALUES {', '.join(f'({_sql_text([c])})' for c in sorted(COUNTRY_CODES))}"
            )
            for table, rows in _TIMESTAMP_PARTS.items():
                cursor.execute(
                    f"CREATE TEMP TABLE {table} ON COMMIT DROP AS SELECT part FROM ({rows}) p (part)"
                )
            cursor.execute(_LINES_TIMELINE)
            cursor.execute("ANALYZE traffic_lines")
            cursor.execute(_check_statement(control_characters=chunks.has_control))
            cursor.execute("SELECT status, count(*) FROM traffic_checked GROUP BY status")
            counts: dict[str, int] = dict(cursor.fetchall())
            if counts.get(NEW):
                _partitions_ensure(cursor)
                now = timezone.now()
                cursor.execute("SAVEPOINT traffic_record_ids")
                cursor.execute(RECORD_IDS_INSERT, [now])
                if cursor.rowcount == counts[NEW]:
                    cursor.execute("RELEASE SAVEPOINT traffic_record_ids")
                else:
                    cursor.execute("ROLLBACK TO SAVEPOINT traffic_record_ids")
                    _repeats_settle(cursor, now=now)
                    cursor.execute("SELECT status, count(*) FROM traffic_checked GROUP BY status")
                    counts = dict(cursor.fetchall())
                if counts.get(NEW):
                    result.touched = _records_write(cursor)
            result.inserted = counts.get(NEW, 0)
            result.duplicates = counts.get(DUPLICATE, 0)
            cursor.execute(
                f"SELECT row_no, status, errors, rejected_fields, record_id, first_row FROM traffic_checked "
                f"WHERE status IN ('{REJECTED}', '{CONFLICT_EARLIER}', '{CONFLICT_IN_FILE}') ORDER BY row_no"
            )
            for row_no, status, errors, fields, record_id, first_row in cursor:
                if status == CONFLICT_EARLIER:
                    errors, fields = ["conflict_earlier"], [record_id]
                elif status == CONFLICT_IN_FILE:
                    errors, fields = ["conflict_in_file"], [record_id]
                result.rejected.append(_rejection(chunks.name, row_no, errors, fields, first_row))
            cursor.execute(
                "DROP TABLE traffic_staging, traffic_checked, traffic_lines, traffic_countries, "
                + ", ".join(_TIMESTAMP_PARTS)
            )
            started = time.perf_counter()
    logger.debug("%.3f s: commit", time.perf_counter() - started)
    return result


class TimedCursor(psycopg.ClientCursor[Any]):
    """Logs each statement's time at DEBUG level: where an import spends its time."""

    def execute(self, query: Any, params: Any = None, **options: Any) -> TimedCursor:
        started = time.perf_counter()
        super().execute(query, params, **options)
        logger.debug("%.3f s: %s", time.perf_counter() - started, " ".join(str(query).split())[:100])
        return self


def _quoted_rows_split(cursor: Any) -> None:
    """Rows with double quotes are CSV-quoted: split them with the csv module (few rows, so Python)."""
    cursor.execute("SELECT row_no, raw FROM traffic_staging WHERE strpos(raw, '\"') > 0")
    split = [(row_no, split_quoted_row(raw)) for row_no, raw in cursor.fetchall()]
    cursor.executemany(
        "UPDATE traffic_staging SET fields = %s, quoting_error = %s WHERE row_no = %s",
        [(fields or [], fields is None, row_no) for row_no, fields in split],
    )


def _partitions_ensure(cursor: Any) -> None:
    """Make the day partitions the new rows need, serialised with every other maker of partitions."""
    cursor.execute("SELECT pg_advisory_xact_lock_shared(%s)", [TRAFFIC_PARTITIONS_IN_USE_LOCK])
    cursor.execute(f"SELECT DISTINCT day FROM traffic_checked WHERE status = '{NEW}'")
    days = {day for (day,) in cursor.fetchall()}
    if not (missing := days - _partition_days(cursor)):
        return
    traffic_partitions_add(cursor=cursor, days=missing)


def traffic_partitions_add(*, cursor: Any, days: Iterable[date]) -> None:
    """Make the day partitions among `days` that are still missing (PostgreSQL), in the caller's transaction.

    Also what the benchmarks and tests use to make room for rows they write
    straight into the table, so that every partition is made the same way.
    """
    # Held until commit: another import that needs the same days waits here, then
    # sees them made (READ COMMITTED: the next statement sees what was committed).
    cursor.execute("SELECT pg_advisory_xact_lock(%s)", [TRAFFIC_PARTITION_LOCK])
    for day in sorted(set(days) - _partition_days(cursor)):
        name = traffic_partition_name(day)
        cursor.execute(f"CREATE TABLE {name} (LIKE billing_trafficrecord)")
        cursor.execute(
            f"ALTER TABLE billing_trafficrecord ATTACH PARTITION {name} "
            f"FOR VALUES FROM ('{day.isoformat()}') TO ('{(day + timedelta(days=1)).isoformat()}')"
        )


def _partition_days(cursor: Any) -> set[date]:
    cursor.execute(
        "SELECT c.relname FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid "
        "WHERE i.inhparent = 'billing_trafficrecord'::regclass"
    )
    prefix = "billing_trafficrecord_p"
    return {
        datetime.strptime(name.removeprefix(prefix), "%Y%m%d").date()  # noqa: DTZ007 (a date, not a time)
        for (name,) in cursor.fetchall()
        if name.startswith(prefix)
    }


def _repeats_settle(cursor: Any, *, now: datetime) -> None:
    """The careful way: ids repeated within the file, or written meanwhile by another import.

    A later row of an id is a duplicate of its first row in the file when the
    content is the same and a conflict when not; then the first rows' ids are
    inserted, and those another import wrote in the meantime (committed by
    now: the insert waited for it) are duplicates or conflicts of that import.
    """
    cursor.execute(
        f"""
        UPDATE traffic_checked later
        SET status = CASE WHEN later.fingerprint = first.fingerprint THEN '{DUPLICATE}' ELSE '{CONFLICT_IN_FILE}' END,
            first_row = first.row_no
        FROM (
            SELECT DISTINCT ON (record_id) record_id, row_no, fingerprint
            FROM traffic_checked WHERE status = '{NEW}' ORDER BY record_id, row_no
        ) first
        WHERE later.status = '{NEW}' AND later.record_id = first.record_id AND later.row_no > first.row_no
        """
    )
    cursor.execute("CREATE TEMP TABLE traffic_new_ids (record_id text PRIMARY KEY) ON COMMIT DROP")
    cursor.execute(
        f"WITH written AS ({RECORD_IDS_INSERT} RETURNING record_id) INSERT INTO traffic_new_ids SELECT record_id FROM written",
        [now],
    )
    cursor.execute(
        f"""
        UPDATE traffic_checked c
        SET status = CASE WHEN known.fingerprint = c.fingerprint THEN '{DUPLICATE}' ELSE '{CONFLICT_EARLIER}' END
        FROM billing_trafficrecordid known
        WHERE c.status = '{NEW}' AND known.record_id = c.record_id
            AND NOT EXISTS (SELECT 1 FROM traffic_new_ids n WHERE n.record_id = c.record_id)
        """
    )
    cursor.execute("DROP TABLE traffic_new_ids")


# ---------------------------------------------------------------------------
# SQLite (the embedded mode): the same rules row by row, the same statements
# ---------------------------------------------------------------------------

_SQLITE_WORK_TABLE = """
CREATE TEMP TABLE traffic_checked (
    row_no integer, record_id text, company_id integer, line_id integer, started_at text, day text,
    direction text, service text, other_party text, other_operator text, other_network text,
    duration_s integer, volume_bytes integer, country text, topup integer, fingerprint text, status text
)
"""


def _sqlite_timeline() -> dict[str, list[tuple[date | None, int, int]]]:
    """Each number's lines as (from, line id, company id), in the order of `_LINES_TIMELINE`."""
    timeline: dict[str, list[tuple[date | None, int, int]]] = {}
    lines = Line.objects.order_by("number").values_list("number", "activated_on", "id", "company_id")
    for number, activated_on, line_id, company_id in lines:
        timeline.setdefault(number, []).append((activated_on, line_id, company_id))
    for entries in timeline.values():
        entries.sort(key=lambda entry: (entry[0] or date.min, entry[1]))
    return timeline


def _sqlite_line_of(entries: list[tuple[date | None, int, int]], day: date | None) -> tuple[int, int]:
    chosen = entries[0]
    for entry in entries[1:]:
        if day is None or (entry[0] or date.min) <= day:
            chosen = entry
    return chosen[1], chosen[2]


def _import_sqlite(chunks: FeedChunks) -> TrafficImportResult:
    result = TrafficImportResult()
    content = chunks.stream.read()
    try:
        text = content.decode("utf-8")
    except UnicodeDecodeError as error:
        raise not_utf8_refusal(chunks.name, chunks.offset + error.start) from error
    now = timezone.now()
    lines = text.split("\n")
    if lines and lines[-1] == "":
        lines.pop()
    with transaction.atomic():
        timeline = _sqlite_timeline()
        good: list[tuple[CheckedRow, int, int]] = []
        for row_no, raw in enumerate(lines, start=1):
            raw = raw.removesuffix("\r")
            if raw == "":
                continue
            fields = split_quoted_row(raw) if '"' in raw else raw.split(",")
            row = traffic_row_check(row_no=row_no, fields=fields, now=now)
            errors = list(row.errors)
            line_id = company_id = 0
            if fields is not None and len(fields) == len(FEED_COLUMNS) and "line_format" not in errors:
                if fields[1] in timeline:
                    line_id, company_id = _sqlite_line_of(timeline[fields[1]], row.day)
                else:
                    errors.append("line_unknown")
            if errors:
                result.rejected.append(_rejection(chunks.name, row_no, errors, row.fields, None))
            else:
                good.append((row, line_id, company_id))
        first_in_file: dict[str, CheckedRow] = {}
        known: dict[str, str] = {}
        ids = list({row.fields[0] for row, _line, _company in good})
        for start in range(0, len(ids), 500):
            known.update(
                TrafficRecordId.objects.filter(record_id__in=ids[start : start + 500]).values_list(
                    "record_id", "fingerprint"
                )
            )
        new_rows: list[tuple[CheckedRow, int, int]] = []
        for row, line_id, company_id in good:
            record_id = row.fields[0]
            if record_id in known:
                # Known from an earlier import: every row of that id is compared with it, as on PostgreSQL.
                if known[record_id] == row.fingerprint:
                    result.duplicates += 1
                else:
                    result.rejected.append(
                        _rejection(chunks.name, row.row_no, ["conflict_earlier"], [record_id], None)
                    )
                continue
            first = first_in_file.setdefault(record_id, row)
            if first is not row:
                if first.fingerprint == row.fingerprint:
                    result.duplicates += 1
                else:
                    result.rejected.append(
                        _rejection(chunks.name, row.row_no, ["conflict_in_file"], [record_id], first.row_no)
                    )
            else:
                new_rows.append((row, line_id, company_id))
        result.rejected.sort(key=lambda rejection: rejection.row)
        result.inserted = len(new_rows)
        if new_rows:
            ops = connection.ops
            with connection.cursor() as cursor:
                cursor.execute("DROP TABLE IF EXISTS temp.traffic_checked")
                cursor.execute(_SQLITE_WORK_TABLE)
                cursor.executemany(
                    "INSERT INTO traffic_checked VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s)",
                    [
                        (
                            row.row_no,
                            row.fields[0],
                            company_id,
                            line_id,
                            ops.adapt_datetimefield_value(row.started_at),
                            ops.adapt_datefield_value(row.day),
                            row.fields[3],
                            row.fields[4],
                            row.fields[5],
                            row.fields[6],
                            row.fields[7],
                            row.duration_s,
                            row.volume_bytes,
                            row.fields[10],
                            row.fields[11] == "1",
                            row.fingerprint,
                            NEW,
                        )
                        for row, line_id, company_id in new_rows
                    ],
                )
                cursor.execute(RECORD_IDS_INSERT, [ops.adapt_datetimefield_value(now)])
                result.touched = _records_write(cursor)
                cursor.execute("DROP TABLE temp.traffic_checked")
    return result
