"""What every benchmark shares: timing, the ratio, and where results go.

Machines here are shared and noisy, so a benchmark never compares with a
number from another day: it measures its baseline (the physical limit, or the
simplest thing that does the same job) in the same run, and reports the ratio
with the absolute figures for context.
"""

from __future__ import annotations

import json
import os
import statistics
import subprocess
import sys
import time
import urllib.request
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

RESULTS_DIR = Path(__file__).resolve().parent / "results"
BASE_DIR = Path(__file__).resolve().parent.parent


def start_gunicorn(
    *,
    port: int,
    workers: int = 1,
    threads: int = 4,
    env: dict[str, str] | None = None,
    ready_within: float = 30,
) -> subprocess.Popen[bytes]:
    """The portal under gunicorn with threaded workers, as deployed; returns once /healthz answers.

    `ready_within` seconds at most: a busy machine needs more for the first request's imports.
    """
    server = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "gunicorn",
            "selfcare.wsgi:application",
            "--bind",
            f"127.0.0.1:{port}",
            "--worker-class",
            "gthread",
            "--workers",
            str(workers),
            "--threads",
            str(threads),
        ],
        cwd=BASE_DIR,
        env={**os.environ, **(env or {})},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    deadline = time.monotonic() + ready_within
    while True:
        try:
            urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=2).read()
            return server
        except OSError:
            if time.monotonic() > deadline:
                server.terminate()
                raise
            time.sleep(0.2)


@dataclass
class Result:
    name: str
    size: str
    portal_s: float
    baseline_s: float
    target_ratio: float | None
    notes: dict[str, object] = field(default_factory=dict)

    @property
    def ratio(self) -> float:
        return self.portal_s / self.baseline_s if self.baseline_s else float("inf")

    @property
    def verdict(self) -> str:
        if self.target_ratio is None:
            return "-"
        return "ok" if self.ratio <= self.target_ratio else "OVER TARGET"


def best_of(repeat: int, action: Callable[[], object]) -> float:
    """The median wall time of `repeat` runs: steadier than the mean on a shared machine."""
    timings = []
    for _ in range(repeat):
        started = time.perf_counter()
        action()
        timings.append(time.perf_counter() - started)
    return statistics.median(timings)


def report(results: list[Result]) -> None:
    RESULTS_DIR.mkdir(exist_ok=True)
    stamp = datetime.now(tz=UTC).strftime("%Y%m%dT%H%M%SZ")
    for result in results:
        path = RESULTS_DIR / f"{result.name}-{stamp}.json"
        path.write_text(
            json.dumps({**asdict(result), "ratio": result.ratio, "verdict": result.verdict}, indent=2)
        )
    print()
    print(
        f"{'benchmark':<40} {'size':<28} {'portal s':>10} {'baseline s':>11} {'ratio':>7} {'target':>7}  verdict"
    )
    for r in results:
        target = f"{r.target_ratio:.2f}" if r.target_ratio else "-"
        print(
            f"{r.name:<40} {r.size:<28} {r.portal_s:>10.4f} {r.baseline_s:>11.4f} "
            f"{r.ratio:>7.2f} {target:>7}  {r.verdict}"
        )


def psql_run(statement: str) -> None:
    """Run one psql command (a `\\copy` baseline, say) against the benchmark's database; its output is dropped."""
    from django.conf import settings

    db = settings.DATABASES["default"]
    command = [
        "psql",
        "-X",
        "-q",
        "-v",
        "ON_ERROR_STOP=1",
        "-h",
        db["HOST"] or "127.0.0.1",
        "-p",
        str(db["PORT"] or 5432),
        "-U",
        db["USER"] or "postgres",
        "-d",
        db["NAME"],
        "-c",
        statement,
    ]
    with open(os.devnull, "wb") as sink:
        subprocess.run(
            command, env={**os.environ, "PGPASSWORD": db["PASSWORD"] or ""}, check=True, stdout=sink
        )


def bench_company_admin(*, vat: str, email: str, company_name: str, user_name: str, office: str) -> Any:
    """A benchmark's own company and its administrator (with TOTP, as the role needs); made once.

    Returns the administrator's membership (its company is `.company`).
    """
    from allauth.mfa.models import Authenticator
    from allauth.mfa.totp.internal.auth import TOTP, generate_totp_secret

    from selfcare.models import Company, Membership, Role, User

    company, _created = Company.objects.get_or_create(
        vat_number=f"IT{vat}",
        defaults={
            "name": company_name,
            "tax_code": vat,
            "pec": f"{email.split('@')[0]}@pec.example.it",
            "recipient_code": "M5UXCR1",
            "registered_office": office,
        },
    )
    user = User.objects.filter(email=email).first() or User.objects.create_user(
        email=email, password=None, name=user_name
    )
    if not Authenticator.objects.filter(user=user, type=Authenticator.Type.TOTP).exists():
        TOTP.activate(user, generate_totp_secret())
    membership, _created = Membership.objects.get_or_create(
        user=user, company=company, defaults={"role": Role.ADMIN}
    )
    return membership
