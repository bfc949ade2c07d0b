"""`import_customers FILE.json [--json]`: the provisioning feed of CONTRACTS.md.

Exit status 0 when the file was read, even if some items were rejected (they
are listed with their path and reason); non-zero, with the reason on stderr
and nothing written, when the file itself is refused.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser, no_translations

from selfcare.services.provisioning import FeedRefusedError, customers_feed_read, customers_import


class Command(BaseCommand):
    help = "Import offers, companies, their users and their lines from a provisioning feed (JSON)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("file", type=Path, help="the provisioning document, UTF-8 JSON")
        parser.add_argument(
            "--json",
            action="store_true",
            dest="as_json",
            help='print the summary as one JSON object on the last line: {"inserted", "updated", '
            '"duplicates", "rejected"}',
        )

    # Operators script against this output: it stays in English whatever the portal's language.
    @no_translations
    def handle(self, *args: Any, file: Path, as_json: bool, **options: Any) -> None:
        try:
            document = customers_feed_read(path=file)
            summary = customers_import(document=document)
        except FeedRefusedError as error:
            raise CommandError(str(error)) from error

        if as_json:
            self.stdout.write(json.dumps(summary.as_dict()))
            return
        self.stdout.write(
            f"Inserted {summary.inserted}, updated {summary.updated}, duplicates {summary.duplicates}, "
            f"rejected {len(summary.rejected)}."
        )
        for rejection in summary.rejected:
            self.stdout.write(f"  {rejection.path}: {rejection.error}")
