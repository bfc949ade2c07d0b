"""`purge_traffic [--dry-run] [--json]`: the retention task, run by hand (docs/traffic.md, "Retention").

It drops the raw traffic records before the cutoff (six months plus
TRAFFIC_RETENTION_MARGIN_DAYS, in Rome days): on PostgreSQL the whole day
partitions before it, on SQLite the rows. Record ids and daily totals stay.
With --dry-run it says what it would drop and drops nothing.
"""

from __future__ import annotations

import json
from typing import Any

from django.core.management.base import BaseCommand, CommandParser, no_translations

from billing.traffic_retention import traffic_purge


class Command(BaseCommand):
    help = "Drop the raw traffic records older than the retention window (six months plus the margin)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--dry-run", action="store_true", help="say what would be dropped; drop nothing")
        parser.add_argument(
            "--json",
            action="store_true",
            dest="as_json",
            help='print the summary as one JSON object on the last line: {"cutoff", "dry_run", '
            '"partitions": [{"name", "rows"}], "rows_deleted", "rows"}',
        )

    # Operators script against this output: it stays in English whatever the portal's language.
    @no_translations
    def handle(self, *args: Any, dry_run: bool, as_json: bool, **options: Any) -> None:
        purge = traffic_purge(dry_run=dry_run)
        if as_json:
            self.stdout.write(json.dumps(purge.as_dict()))
            return
        verb = "Would drop" if dry_run else "Dropped"
        self.stdout.write(
            f"{verb} the traffic records before {purge.cutoff.isoformat()}: {purge.rows} rows, "
            f"{len(purge.dropped)} partitions."
        )
        for name, rows in purge.dropped:
            self.stdout.write(f"  {name}: {rows} rows")
        if purge.rows_deleted:
            self.stdout.write(f"  deleted row by row: {purge.rows_deleted} rows")
