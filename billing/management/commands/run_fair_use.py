"""`run_fair_use --day YYYY-MM-DD | --month YYYY-MM [--json]` (CONTRACTS.md, "Commands").

Runs the daily or the monthly fair-use rules for that period now, in this
process, with the code the Celery tasks run: it joins the period's run if
one is running (a run whose worker died is resumed here), else starts one.
With --json the last line is `{"findings": [...]}`: every finding of the
period, so a rerun reports the same findings and creates none twice.
"""

from __future__ import annotations

import json
import re
from datetime import date
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from billing.fair_use import fair_use_result, fair_use_run_period
from billing.models import FairUsePeriod, period_label

MONTH = re.compile(r"^(\d{4})-(0[1-9]|1[0-2])$")


class Command(BaseCommand):
    help = "Run the daily or the monthly fair-use rules for a period now."

    def add_arguments(self, parser: CommandParser) -> None:
        which = parser.add_mutually_exclusive_group(required=True)
        which.add_argument("--day", help="The Rome day whose daily rules to check, as YYYY-MM-DD.")
        which.add_argument("--month", help="The month whose monthly rules to check, as YYYY-MM.")
        parser.add_argument(
            "--json", action="store_true", help="Print the period's findings as one JSON object, last."
        )

    def handle(self, *args: Any, day: str | None, month: str | None, **options: Any) -> None:
        period, period_start = _period(day=day, month=month)
        run = fair_use_run_period(period=period, period_start=period_start)
        result = fair_use_result(period=period, period_start=period_start)
        self.stdout.write(
            f"Fair use of {period_label(period, period_start)}: {run.findings_new} new findings, "
            f"{len(result.findings)} findings for the period in all."
        )
        if options["json"]:
            self.stdout.write(json.dumps(result.as_dict()))
        else:
            for finding in result.findings:
                self.stdout.write(
                    f"{finding['line']}  rule {finding['rule']}  {finding['measured']} > {finding['limit']}"
                )


def _period(*, day: str | None, month: str | None) -> tuple[str, date]:
    if day is not None:
        try:
            return FairUsePeriod.DAY, date.fromisoformat(day.strip())
        except ValueError:
            raise CommandError(f"--day must be YYYY-MM-DD, like 2026-11-20: not {day!r}.") from None
    match = MONTH.match((month or "").strip())
    if match is None:
        raise CommandError(f"--month must be YYYY-MM, like 2026-10: not {month!r}.")
    return FairUsePeriod.MONTH, date(int(match.group(1)), int(match.group(2)), 1)
