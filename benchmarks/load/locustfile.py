"""The load scenario: each client is one member of one company, walking the portal as its role does.

Run by benchmarks/load/__main__.py (`make bench-load`), which seeds the data
and writes the clients' logins to the JSON file named by
BENCH_LOAD_CREDENTIALS: a logged-in session (two-factor already settled,
as a login with a second factor leaves it) for the pages and an API token.
Each client takes the next login, so 200 clients are about 200 members of
20 companies; every second it opens one page, API list or download, picked
by the weights below:

- administrators and legal representatives: dashboard, lines and a line,
  invoices and an invoice, the traffic report, requests and a request,
  insight, abroad; the API's lines, invoices, requests, traffic and an
  insight chart; a traffic CSV of one line (90 days), an insight CSV; and
  now and then a copy of an invoice (the invoice page, then its form's POST
  with the CSRF token, which queues the copy for the Celery worker);
- line users: what their role reaches (their lines, their traffic,
  requests, insight, abroad, the API's lines and traffic);
- everybody: /healthz now and then, the run's floor (database, cache and
  broker checked, no page).

Every answer but the expected status (a redirect to the login page
included) counts as an error.
"""

from __future__ import annotations

import itertools
import json
import os
import random
import re
from collections.abc import Callable
from http.cookiejar import Cookie
from typing import Any
from urllib.parse import urlsplit

from locust import FastHttpUser, constant, task

_CREDENTIALS: list[dict[str, Any]] = json.loads(
    open(os.environ["BENCH_LOAD_CREDENTIALS"], encoding="utf-8").read()  # noqa: SIM115
)
_NEXT = itertools.count()
_CSRF = re.compile(r'name="csrfmiddlewaretoken" value="([^"]+)"')
_INSIGHT_CHART = "monthly-spend"


def _cookie(name: str, value: str, host: str) -> Cookie:
    return Cookie(
        version=0, name=name, value=value, port=None, port_specified=False, domain=host,
        domain_specified=False, domain_initial_dot=False, path="/", path_specified=True, secure=False,
        expires=None, discard=False, comment=None, comment_url=None, rest={},
    )  # fmt: skip


class PortalMember(FastHttpUser):
    wait_time = constant(1)

    def on_start(self) -> None:
        self.login = _CREDENTIALS[next(_NEXT) % len(_CREDENTIALS)]
        host = str(urlsplit(self.host).hostname or "127.0.0.1")
        self.client.cookiejar.set_cookie(_cookie(self.login["cookie_name"], self.login["session"], host))
        self.api = {"Authorization": f"Token {self.login['token']}"}
        manager = self.login["role"] in ("admin", "legal_rep")
        walk: list[tuple[Callable[[], None], int]] = [
            (lambda: self._page("dashboard", "/"), 3),
            (lambda: self._page("lines", "/lines/"), 3),
            (lambda: self._page("line", f"/lines/{self._pick('lines')}/"), 3),
            (lambda: self._page("traffic report", "/traffic/"), 2),
            (lambda: self._page("requests", "/requests/"), 1),
            (lambda: self._page("insight", "/insight/"), 1),
            (lambda: self._page("abroad", "/abroad/"), 1),
            (lambda: self._api("lines", "/api/v1/lines/"), 2),
            (lambda: self._api("traffic", f"/api/v1/traffic/?line={self._number()}"), 1),
            (lambda: self._download("traffic csv (1 line, 90 days)", f"/traffic/export.csv?line={self._number()}"), 1),
            # The floor: database, cache and broker checked, no page (the run's baseline).
            (lambda: self._get("floor healthz", "/healthz"), 1),
        ]  # fmt: skip
        if manager:
            walk += [
                (lambda: self._page("invoices", "/invoices/"), 2),
                (lambda: self._page("invoice", f"/invoices/{self._pick('invoices')}/"), 2),
                (lambda: self._page("request", f"/requests/{self._pick('requests')}/"), 1),
                (lambda: self._api("invoices", "/api/v1/invoices/"), 1),
                (lambda: self._api("requests", "/api/v1/requests/"), 1),
                (lambda: self._api("insight chart", f"/api/v1/insight/{_INSIGHT_CHART}/"), 1),
                (lambda: self._download("insight csv", f"/insight/{_INSIGHT_CHART}.csv"), 1),
                (self._invoice_copy, 1),
            ]
        self.steps = [step for step, _weight in walk]
        self.weights = [weight for _step, weight in walk]

    def _pick(self, kind: str) -> int:
        return int(random.choice(self.login[kind]))

    def _number(self) -> str:
        # "+" must travel as %2B in a query string.
        return str(random.choice(self.login["numbers"])).replace("+", "%2B")

    def _get(self, name: str, path: str, headers: dict[str, str] | None = None) -> Any:
        with self.client.get(
            path, name=name, headers=headers, allow_redirects=False, catch_response=True
        ) as response:
            if response.status_code != 200:
                response.failure(f"{response.status_code} {response.headers.get('Location', '')}")
            return response

    def _page(self, name: str, path: str) -> None:
        self._get(f"page {name}", path)

    def _api(self, name: str, path: str) -> None:
        self._get(f"api {name}", path, headers=self.api)

    def _download(self, name: str, path: str) -> None:
        self._get(f"download {name}", path)

    def _invoice_copy(self) -> None:
        """The invoice page, then "Ask for a copy" as its htmx form posts it."""
        invoice = self._pick("invoices")
        page = self._get("page invoice", f"/invoices/{invoice}/")
        found = _CSRF.search(page.text or "")
        if found is None:
            return
        with self.client.post(
            f"/invoices/{invoice}/copies/",
            name="post invoice copy",
            data={"csrfmiddlewaretoken": found.group(1)},
            headers={"HX-Request": "true", "Referer": f"{self.host}/invoices/{invoice}/"},
            allow_redirects=False,
            catch_response=True,
        ) as response:
            if response.status_code != 200:
                response.failure(f"{response.status_code}")

    @task
    def walk(self) -> None:
        random.choices(self.steps, weights=self.weights)[0]()
