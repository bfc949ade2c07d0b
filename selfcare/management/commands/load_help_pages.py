"""`load_help_pages`: add the help pages of selfcare/help_content.py that are missing (idempotent).

Pages already in the database are never overwritten: staff maintain them in the admin.
"""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand

from selfcare.help_content import HELP_PAGES
from selfcare.services.help import help_pages_load


class Command(BaseCommand):
    help = "Add the missing help pages; pages already there (maybe edited by staff) are left alone."

    def handle(self, *args: Any, **options: Any) -> None:
        added = help_pages_load(pages=HELP_PAGES)
        self.stdout.write(f"Help pages: {added} added, {len(HELP_PAGES) - added} already there.")
