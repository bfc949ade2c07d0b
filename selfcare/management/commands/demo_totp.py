"""`demo_totp`: the current two-factor code of the demo logins, for those without an authenticator app."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand

from selfcare.demo import demo_totp_code


class Command(BaseCommand):
    help = "Print the current 6-digit two-factor code of the demo logins (their published TOTP secret)."

    def handle(self, *args: Any, **options: Any) -> None:
        self.stdout.write(demo_totp_code())
