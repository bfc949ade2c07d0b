"""`run_billing --month YYYY-MM [--json]` (CONTRACTS.md, "Commands").

Makes that month's invoices now, with the code the monthly Celery task runs;
a month already billed is not billed twice, and its invoices are reported
again. With --json the last line is
`{"invoices": [{"company": "IT…", "number": "…", "taxable": "…", …}]}`.
"""

from __future__ import annotations

import json
import re
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from billing.selectors import invoices_of_month
from billing.services import billing_run_month

MONTH = re.compile(r"^(\d{4})-(0[1-9]|1[0-2])$")


class Command(BaseCommand):
    help = "Make the invoices of a month now (a month already billed is not billed twice)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--month", required=True, help="The month to bill, as YYYY-MM.")
        parser.add_argument(
            "--json", action="store_true", help="Print the month's invoices as one JSON object, last."
        )

    def handle(self, *args: Any, month: str, **options: Any) -> None:
        match = MONTH.match(month.strip())
        if match is None:
            raise CommandError(f"--month must be YYYY-MM, like 2026-10: not {month!r}.")
        year, month_number = int(match.group(1)), int(match.group(2))
        run = billing_run_month(year=year, month=month_number)
        invoices = list(invoices_of_month(year=year, month=month_number))
        self.stdout.write(
            f"Billing of {year}-{month_number:02d}: {run.invoices_created} new invoices, "
            f"{len(invoices)} invoices for the month in all."
        )
        if options["json"]:
            self.stdout.write(_as_json(invoices))
        else:
            for invoice in invoices:
                self.stdout.write(
                    f"{invoice.number}  {invoice.company.vat_number}  {invoice.company.name}  total {invoice.total}"
                )


def _as_json(invoices: list[Any]) -> str:
    return json.dumps(
        {
            "invoices": [
                {
                    "company": invoice.company.vat_number,
                    "number": invoice.number,
                    "taxable": f"{invoice.taxable:.2f}",
                    "vat": f"{invoice.vat:.2f}",
                    "concession_fee": f"{invoice.concession_fee:.2f}",
                    "stamp_duty": f"{invoice.stamp_duty:.2f}",
                    "total": f"{invoice.total:.2f}",
                }
                for invoice in invoices
            ]
        }
    )
