"""`roaming_close_month [YYYY-MM]`: write a month's chargeable roaming as charges for its billing run.

The beat entry `roaming-charges-monthly` does it on the 1st before the
billing run; this command is for a rerun by hand (idempotent), before
`run_billing` of the same month.
"""

from __future__ import annotations

from datetime import date
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser, no_translations

from billing.tasks import previous_month
from roaming.spend import roaming_month_charges_write


class Command(BaseCommand):
    help = "Write a month's chargeable roaming spend as charges for the billing run (default: last month)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("month", nargs="?", help="YYYY-MM, Rome time; the previous month by default")

    @no_translations
    def handle(self, *args: Any, month: str | None, **options: Any) -> None:
        if month is None:
            year, number = previous_month()
        else:
            try:
                year, number = (int(part) for part in month.split("-"))
                date(year, number, 1)
            except ValueError as error:
                raise CommandError("give the month as YYYY-MM") from error
        written = roaming_month_charges_write(month=date(year, number, 1))
        self.stdout.write(f"{year:04d}-{number:02d}: {written} roaming charges written")
