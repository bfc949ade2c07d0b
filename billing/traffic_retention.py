"""Retention of the raw traffic records (privacy code, art. 123; docs/traffic.md, "Retention").

Raw records are kept six months plus the margin the operator sets
(`TRAFFIC_RETENTION_MARGIN_DAYS`), then dropped. The cutoff is a Rome day:
records whose `day` is before it go, the cutoff day itself stays
(`traffic_retention_cutoff` gives the reading).

PostgreSQL: whole day partitions go with DROP TABLE, one partition per
transaction, each under the advisory lock that the importer takes to make
partitions (`TRAFFIC_PARTITION_LOCK`), so that an import never makes a
partition that is being dropped. Partitions are found by their bounds in the
catalogue, not by their name, so a partition made by hand under another name
is handled too; rows before the cutoff left in a partition that also holds
later days (none the importer makes) are deleted with a plain DELETE.

SQLite (the embedded mode): a plain DELETE, in chunks.

`TrafficRecordId` and `TrafficDailyTotal` are never touched: a replay after
the purge is still a duplicate, and no figure of a period changes when its
raw records go (DOMAIN.md, "Retention").
"""

# ruff: noqa: S608 - statements are built from catalogue names checked below and this module's constants

from __future__ import annotations

import logging
import re
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Any

from django.conf import settings
from django.db import connection, transaction
from django.utils import timezone

from billing.traffic_import import TRAFFIC_PARTITION_LOCK, TRAFFIC_PARTITIONS_IN_USE_LOCK

__all__ = [
    "TrafficPartition",
    "TrafficPurge",
    "traffic_partitions",
    "traffic_purge",
    "traffic_retention_cutoff",
]

logger = logging.getLogger(__name__)

RETENTION_MONTHS = 6
# Rows deleted per statement on SQLite (and for leftovers on PostgreSQL): short
# transactions-worth of work, so the embedded database is never locked for long.
DELETE_CHUNK = 10_000
# How long a DROP may wait for the parent table: DROP TABLE of a partition takes an
# ACCESS EXCLUSIVE lock on the parent, and while it waits behind a long report
# read every new reader queues behind it. Better to give up and let the task retry.
LOCK_TIMEOUT = "5s"

_BOUNDS = re.compile(r"^FOR VALUES FROM \('(\d{4}-\d{2}-\d{2})'\) TO \('(\d{4}-\d{2}-\d{2})'\)$")
_SAFE_NAME = re.compile(r"^[a-z_][a-z0-9_]*$")


def _months_before(day: date, months: int) -> date:
    """The same day `months` calendar months before, or that month's last day when it has no such day."""
    month_index = day.year * 12 + day.month - 1 - months
    year, month = divmod(month_index, 12)
    month += 1
    next_first = date(year + (month == 12), month % 12 + 1, 1)
    return date(year, month, min(day.day, (next_first - timedelta(days=1)).day))


def traffic_retention_cutoff(*, today: date, margin_days: int | None = None) -> date:
    """The first Rome day whose raw records are kept; every earlier day is dropped.

    The reading of "six months plus a margin" (docs/traffic.md, "Retention"):
    the same day number six calendar months before today (the month's last
    day when it has none: 31 August gives 28 or 29 February), then `margin_days`
    days earlier. On 2 December 2026 with a margin of 30 days: 2 June 2026,
    then 3 May 2026; the records of 2 May and before go.
    """
    if margin_days is None:
        margin_days = settings.TRAFFIC_RETENTION_MARGIN_DAYS
    return _months_before(today, RETENTION_MONTHS) - timedelta(days=margin_days)


@dataclass(frozen=True)
class TrafficPartition:
    """One partition of the traffic table, with the days it holds: [first_day, end_day)."""

    name: str
    first_day: date
    end_day: date


@dataclass
class TrafficPurge:
    """What a purge dropped (or, in a dry run, would drop)."""

    cutoff: date
    dry_run: bool = False
    # (partition, its rows), oldest first; none on SQLite.
    dropped: list[tuple[str, int]] = field(default_factory=list)
    # Rows before the cutoff deleted one by one: on SQLite all of them; on PostgreSQL
    # those in partitions that hold later days too (none that the importer makes).
    rows_deleted: int = 0

    @property
    def rows(self) -> int:
        return sum(rows for _name, rows in self.dropped) + self.rows_deleted

    def as_dict(self) -> dict[str, Any]:
        return {
            "cutoff": self.cutoff.isoformat(),
            "dry_run": self.dry_run,
            "partitions": [{"name": name, "rows": rows} for name, rows in self.dropped],
            "rows_deleted": self.rows_deleted,
            "rows": self.rows,
        }


def traffic_partitions(cursor: Any) -> list[TrafficPartition]:
    """The traffic table's range partitions with their bounds, read from the catalogue, oldest first."""
    cursor.execute(
        "SELECT c.relname, pg_get_expr(c.relpartbound, c.oid) FROM pg_inherits i "
        "JOIN pg_class c ON c.oid = i.inhrelid WHERE i.inhparent = 'billing_trafficrecord'::regclass"
    )
    partitions = []
    for name, bound in cursor.fetchall():
        match = _BOUNDS.match(bound or "")
        # A default partition, or bounds of another shape (MINVALUE…): not a whole
        # span of days, so its old rows are left to the DELETE below.
        if match and _SAFE_NAME.match(name):
            first, end = (date.fromisoformat(value) for value in match.groups())
            partitions.append(TrafficPartition(name=name, first_day=first, end_day=end))
    return sorted(partitions, key=lambda partition: (partition.first_day, partition.name))


def traffic_purge(*, today: date | None = None, dry_run: bool = False) -> TrafficPurge:
    """Drop the raw traffic records before the retention cutoff; idempotent (a second run finds nothing).

    A record older than the cutoff that an import brings in late (the feed
    accepts any age) is dropped by the next run.
    """
    purge = TrafficPurge(
        cutoff=traffic_retention_cutoff(today=today or timezone.localdate()), dry_run=dry_run
    )
    if connection.vendor == "postgresql":
        _purge_postgresql(purge)
    else:
        _purge_sqlite(purge)
    logger.info(
        "Traffic retention%s: records before %s, %d rows, partitions %s, %d rows deleted from others",
        " (dry run)" if dry_run else "",
        purge.cutoff.isoformat(),
        purge.rows,
        ", ".join(f"{name} ({rows} rows)" for name, rows in purge.dropped) or "none",
        purge.rows_deleted,
    )
    return purge


def _purge_postgresql(purge: TrafficPurge) -> None:
    with connection.cursor() as cursor:
        candidates = [p for p in traffic_partitions(cursor) if p.end_day <= purge.cutoff]
    for candidate in candidates:
        # One transaction per partition: the parent's lock is held for one DROP only.
        with transaction.atomic(), connection.cursor() as cursor:
            cursor.execute(f"SET LOCAL lock_timeout = '{LOCK_TIMEOUT}'")
            # Waits for the imports under way: none writes into the partition once it is gone.
            cursor.execute("SELECT pg_advisory_xact_lock(%s)", [TRAFFIC_PARTITIONS_IN_USE_LOCK])
            cursor.execute("SELECT pg_advisory_xact_lock(%s)", [TRAFFIC_PARTITION_LOCK])
            # Read again under the lock: another run may have dropped it meanwhile.
            if candidate not in traffic_partitions(cursor):
                continue
            cursor.execute(f"SELECT count(*) FROM {candidate.name}")
            (rows,) = cursor.fetchone()
            if not purge.dry_run:
                cursor.execute(f"DROP TABLE {candidate.name}")
            purge.dropped.append((candidate.name, rows))
    # Old rows in partitions that also hold later days (partition pruning keeps this
    # to those partitions; with the importer's day partitions it finds nothing).
    # A dry run dropped nothing, so its count holds the candidates' rows: take them off.
    leftovers = _rows_before_delete(purge)
    if purge.dry_run:
        leftovers -= sum(rows for _name, rows in purge.dropped)
    purge.rows_deleted = leftovers


def _purge_sqlite(purge: TrafficPurge) -> None:
    purge.rows_deleted = _rows_before_delete(purge)


def _rows_before_delete(purge: TrafficPurge) -> int:
    """DELETE the rows before the cutoff in chunks, each its own transaction; the count in a dry run."""
    cutoff = connection.ops.adapt_datefield_value(purge.cutoff)
    with connection.cursor() as cursor:
        if purge.dry_run:
            cursor.execute("SELECT count(*) FROM billing_trafficrecord WHERE day < %s", [cutoff])
            (rows,) = cursor.fetchone()
            return int(rows)
    deleted = 0
    while True:
        with transaction.atomic(), connection.cursor() as cursor:
            cursor.execute(
                "DELETE FROM billing_trafficrecord WHERE id IN "
                "(SELECT id FROM billing_trafficrecord WHERE day < %s LIMIT %s)",
                [cutoff, DELETE_CHUNK],
            )
            chunk: int = cursor.rowcount
            deleted += chunk
            if chunk < DELETE_CHUNK:
                return deleted
