"""`make bench`: run every benchmark module (or those named) and print the table.

python -m benchmarks            # all
python -m benchmarks health     # only benchmarks/bench_health.py
"""

from __future__ import annotations

import importlib
import os
import pkgutil
import sys
from pathlib import Path

import django
import psycopg
from psycopg import sql

from benchmarks.common import Result, report


def prepare_database() -> None:
    """Benchmarks run in a database of their own, created and migrated here."""
    from django.conf import settings
    from django.core.management import call_command

    db = settings.DATABASES["default"]
    if db["ENGINE"] == "django.db.backends.postgresql":
        with psycopg.connect(
            host=db["HOST"] or "127.0.0.1",
            port=db["PORT"] or 5432,
            user=db["USER"] or "postgres",
            password=db["PASSWORD"] or None,
            dbname="postgres",
            autocommit=True,
        ) as admin:
            exists = admin.execute("SELECT 1 FROM pg_database WHERE datname = %s", [db["NAME"]]).fetchone()
            if not exists:
                admin.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(db["NAME"])))
    call_command("migrate", "--noinput", verbosity=0)


def main(argv: list[str]) -> int:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "selfcare.settings")
    django.setup()
    prepare_database()
    wanted = set(argv)
    folder = Path(__file__).resolve().parent
    results: list[Result] = []
    for module_info in sorted(pkgutil.iter_modules([str(folder)]), key=lambda m: m.name):
        if not module_info.name.startswith("bench_"):
            continue
        short = module_info.name.removeprefix("bench_")
        if wanted and short not in wanted:
            continue
        module = importlib.import_module(f"benchmarks.{module_info.name}")
        print(f"== {short}", flush=True)
        results.extend(module.run())
    report(results)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
