"""`import_traffic FILE [FILE …] [--json]`: the traffic feed of CONTRACTS.md.

Each file is imported in a transaction of its own. A refused file (unreadable,
not UTF-8, wrong header) is reported on stderr with nothing of it written,
and the other files still go in; the command then exits with status 1 after
printing the summary of the rest. Rejected rows do not change the exit status:
they are listed with their file, data row and reason.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser, no_translations

from billing.traffic_import import traffic_import_files


class Command(BaseCommand):
    help = "Import traffic records from traffic feed files (CSV)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "files", nargs="+", type=Path, metavar="FILE", help="traffic feed files, UTF-8 CSV"
        )
        parser.add_argument(
            "--json",
            action="store_true",
            dest="as_json",
            help='print the summary as one JSON object on the last line: {"inserted", "updated", '
            '"duplicates", "rejected", "refused"}',
        )

    # Operators script against this output: it stays in English whatever the portal's language.
    @no_translations
    def handle(self, *args: Any, files: list[Path], as_json: bool, **options: Any) -> None:
        batch = traffic_import_files(paths=files)
        for _name, error in batch.refused:
            self.stderr.write(error)
        summary = batch.result
        if as_json:
            self.stdout.write(json.dumps(batch.as_dict()))
        else:
            self.stdout.write(
                f"Inserted {summary.inserted}, updated {summary.updated}, duplicates {summary.duplicates}, "
                f"rejected {len(summary.rejected)}, files refused {len(batch.refused)}."
            )
            for rejection in summary.rejected:
                self.stdout.write(f"  {rejection.file} row {rejection.row}: {rejection.error}")
        if batch.refused:
            raise CommandError(
                f"{len(batch.refused)} of {len(files)} files refused; nothing of them was imported."
            )
