"""`rotate_secrets`: encrypt every secret at rest again with the newest FIELD_ENCRYPTION_KEYS key."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand

from selfcare.services.secrets import secrets_rotate


class Command(BaseCommand):
    help = "Re-encrypt PINs, PUKs, eSIM codes and two-factor secrets with the newest encryption key."

    def handle(self, *args: Any, **options: Any) -> None:
        report = secrets_rotate()
        for label, count in report.rows.items():
            self.stdout.write(f"{label}: {count} rows re-encrypted")
        self.stdout.write(
            f"Done: {report.total} rows. The older keys can now be removed from FIELD_ENCRYPTION_KEYS."
        )
