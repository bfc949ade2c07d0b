"""`seed_demo`: realistic demo data for `make run`; running it twice adds nothing."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand
from django.db import transaction

from selfcare.models import User

DEMO_PASSWORD = "demo-Portale-2026"  # noqa: S105 - a published demo login, never in production data

STAFF_EMAIL = "staff@operatore.example.it"


class Command(BaseCommand):
    help = "Load the demo data (idempotent) and print the demo logins."

    @transaction.atomic
    def handle(self, *args: Any, **options: Any) -> None:
        staff, created = User.objects.get_or_create(
            email=STAFF_EMAIL,
            defaults={"name": "Operatore Demo", "is_staff": True, "is_superuser": True},
        )
        if created:
            staff.set_password(DEMO_PASSWORD)
            staff.save(update_fields=["password"])

        self.stdout.write(f"Demo logins (password for all: {DEMO_PASSWORD}):")
        self.stdout.write(f"  operator staff, at /admin/: {STAFF_EMAIL}")
