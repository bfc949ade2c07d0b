"""/healthz over HTTP through gunicorn, against the same three checks called directly.

The ratio is what the web stack (gunicorn, middleware, JSON) adds to the work
of a request; it is the floor under every page benchmark that follows.
"""

from __future__ import annotations

import os
import urllib.request
from pathlib import Path

from benchmarks.common import Result, best_of, start_gunicorn
from selfcare import health

BASE_DIR = Path(__file__).resolve().parent.parent
PORT = int(os.environ.get("BENCH_PORT", "8765"))
REQUESTS = int(os.environ.get("BENCH_HEALTH_REQUESTS", "200"))


def run() -> list[Result]:
    server = start_gunicorn(port=PORT)
    url = f"http://127.0.0.1:{PORT}/healthz"
    try:

        def over_http() -> None:
            for _ in range(REQUESTS):
                urllib.request.urlopen(url, timeout=5).read()

        def direct() -> None:
            for _ in range(REQUESTS):
                health.run_checks()

        portal = best_of(3, over_http)
        baseline = best_of(3, direct)
    finally:
        server.terminate()
        server.wait(timeout=30)
    return [
        Result(
            name="healthz-http",
            size=f"{REQUESTS} requests",
            portal_s=portal,
            baseline_s=baseline,
            target_ratio=None,
            notes={"per_request_ms": round(portal / REQUESTS * 1000, 2)},
        )
    ]
