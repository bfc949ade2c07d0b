"""Security headers and cookies on real responses of the portal in production mode.

The portal runs under gunicorn as deployed (PRODUCTION=true, freshly generated
SECRET_KEY and FIELD_ENCRYPTION_KEYS, DEBUG off) on this test's database, and
is spoken to over plain HTTP as the load balancer forwards requests: with
`X-Forwarded-Proto: https` for what the browser sent over HTTPS, without it for
plain HTTP. Proves: HSTS for two years with subdomains and preload; a CSP that
allows nothing from another origin and no framing; nosniff, Referrer-Policy
and COOP; Secure, HttpOnly and SameSite cookies; `no-store` on the pages that
show a secret (PUK, a new API token's key, TOTP recovery codes, a new TOTP secret); plain HTTP
redirected to HTTPS; no server version given away.
"""

from __future__ import annotations

import http.client
import re
import secrets
import shutil
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.cookies import Morsel, SimpleCookie
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import pytest
from allauth.mfa.recovery_codes.internal.auth import RecoveryCodes
from cryptography.fernet import Fernet
from django.conf import settings
from django.contrib.auth.hashers import PBKDF2PasswordHasher

from selfcare.models import User
from selfcare.services.tokens import api_token_key_hash
from tests.cast import Cast, make_cast
from tests.conftest import totp_code
from tests.faults.services import PortalServer
from tests.worker import database_url_of_test_database

BASE_DIR = Path(settings.BASE_DIR)
HOST = "business.example.it"
# Production verifies passwords with Django's default hasher; the suite's MD5 is not among them.
PASSWORD = "Password-di-produzione-1"
TWO_YEARS = 2 * 365 * 24 * 3600
ONE_YEAR = 365 * 24 * 3600

# What a CSP source may be here: the page's own origin, nothing, or the response's nonce.
OWN_SOURCES = re.compile(r"^('self'|'none'|'nonce-[A-Za-z0-9+/_=-]+')$")
# data: images are the documented exception (the eSIM QR code, ARCHITECTURE.md; selfcare/views/sim.py).
DATA_ALLOWED_IN = {"img-src"}


@dataclass
class Answer:
    status: int
    headers: list[tuple[str, str]]
    body: str

    def header(self, name: str) -> str:
        values = [value for key, value in self.headers if key.lower() == name.lower()]
        assert len(values) == 1, f"{name}: {values}"
        return values[0]

    def cookies(self) -> dict[str, Morsel[str]]:
        cookies: dict[str, Morsel[str]] = {}
        for key, value in self.headers:
            if key.lower() == "set-cookie":
                jar: SimpleCookie = SimpleCookie()
                jar.load(value)
                cookies.update(jar)
        return cookies

    def csrf_token(self) -> str:
        found = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', self.body)
        assert found, "the page has no form with a CSRF token"
        return found.group(1)


@dataclass
class Visitor:
    """One browser: its cookies, its requests as the load balancer passes them on."""

    port: int
    cookies: dict[str, str] = field(default_factory=dict)

    def request(
        self, method: str, path: str, *, form: dict[str, str] | None = None, https: bool = True
    ) -> Answer:
        headers = {"Host": HOST, "Accept-Language": "en"}
        if https:
            headers["X-Forwarded-Proto"] = "https"
        if self.cookies:
            headers["Cookie"] = "; ".join(f"{name}={value}" for name, value in self.cookies.items())
        body = None
        if form is not None:
            body = urlencode(form)
            headers["Content-Type"] = "application/x-www-form-urlencoded"
            headers["Origin"] = f"https://{HOST}"
            headers["Referer"] = f"https://{HOST}{path}"
        connection = http.client.HTTPConnection("127.0.0.1", self.port, timeout=30)
        try:
            connection.request(method, path, body=body, headers=headers)
            response = connection.getresponse()
            answer = Answer(response.status, response.getheaders(), response.read().decode(errors="replace"))
        finally:
            connection.close()
        for name, morsel in answer.cookies().items():
            self.cookies[name] = morsel.value
        return answer

    def get(self, path: str, *, https: bool = True) -> Answer:
        return self.request("GET", path, https=https)

    def submit(self, path: str, form: dict[str, str]) -> Answer:
        """The form of the page at `path`, filled in and posted as a browser does."""
        token = self.get(path).csrf_token()
        return self.request("POST", path, form={"csrfmiddlewaretoken": token, **form})

    def get_sensitive(self, path: str) -> Answer:
        """A page that shows a secret: the portal asks for the password again first, and then shows it."""
        asked = self.get(path)
        confirm = f"/accounts/reauthenticate/?{urlencode({'next': path})}"
        assert (asked.status, asked.header("Location")) == (302, confirm)
        confirmed = self.submit(confirm, {"password": PASSWORD})
        assert (confirmed.status, confirmed.header("Location")) == (302, path)
        return self.get(path)

    def log_in(self, email: str, *, totp_secret: str | None = None) -> Answer:
        answer = self.submit("/accounts/login/", {"login": email, "password": PASSWORD})
        if totp_secret is not None:
            assert (answer.status, answer.header("Location")) == (302, "/accounts/2fa/authenticate/")
            answer = self.submit("/accounts/2fa/authenticate/", {"code": totp_code(totp_secret)})
        assert (answer.status, answer.header("Location")) == (302, "/"), answer.body[:500]
        return answer


@pytest.fixture(scope="module")
def portal(django_db_setup: Any, django_db_blocker: Any) -> Iterator[int]:
    """The portal under gunicorn in production mode, on this test run's database; yields its port."""
    static_root = tempfile.mkdtemp(prefix="security-static-")
    env = {
        "DJANGO_SETTINGS_MODULE": "tests.security.production_site",
        "PRODUCTION": "true",
        "SECRET_KEY": secrets.token_urlsafe(64),
        # A new key encrypts; the suite's key still decrypts what the test wrote (a rotation, as deployed).
        "FIELD_ENCRYPTION_KEYS": ",".join([Fernet.generate_key().decode(), *settings.FIELD_ENCRYPTION_KEYS]),
        "ALLOWED_HOSTS": HOST,
        "DATABASE_URL": database_url_of_test_database(),
        "REDIS_URL": settings.REDIS_URL,
        "CACHE_KEY_PREFIX": settings.CACHES["default"].get("KEY_PREFIX", ""),
        "CELERY_TASK_DEFAULT_QUEUE": settings.CELERY_TASK_DEFAULT_QUEUE,
        "STATIC_ROOT": static_root,
    }
    try:
        # The test run's own switch is not production's.
        with PortalServer(env=env, unset=frozenset({"DJANGO_ALLOW_ASYNC_UNSAFE"})) as server:
            yield server.port
    finally:
        shutil.rmtree(static_root, ignore_errors=True)


@pytest.fixture
def people(transactional_db: None) -> Cast:
    """Company Rossi and its people, committed for the server to read, with passwords it can check."""
    cast = make_cast()
    hasher = PBKDF2PasswordHasher()
    for membership in (cast.rossi_line_user, cast.rossi_legal_rep):
        user: User = membership.user
        user.password = hasher.encode(PASSWORD, hasher.salt())
        user.save(update_fields=["password"])
    line = cast.rossi_assigned_line
    line.pin, line.puk = "1234", "87654321"
    line.save(update_fields=["pin", "puk"])
    return cast


def csp_directives(answer: Answer) -> dict[str, list[str]]:
    directives: dict[str, list[str]] = {}
    for part in answer.header("Content-Security-Policy").split(";"):
        name, *sources = part.split()
        directives[name] = sources
    return directives


def assert_secure_headers(answer: Answer) -> None:
    """The headers every page of the portal carries in production."""
    hsts = {
        name.lower(): value
        for name, _sep, value in (
            item.strip().partition("=") for item in answer.header("Strict-Transport-Security").split(";")
        )
    }
    assert int(hsts["max-age"]) >= ONE_YEAR
    assert "includesubdomains" in hsts
    assert "preload" in hsts

    directives = csp_directives(answer)
    assert directives["default-src"] == ["'self'"]
    assert directives["frame-ancestors"] == ["'none'"]
    assert directives["object-src"] == ["'none'"]
    for name, sources in directives.items():
        for source in sources:
            allowed = OWN_SOURCES.match(source) or (source == "data:" and name in DATA_ALLOWED_IN)
            assert allowed, f"CSP {name} allows {source}"

    assert answer.header("X-Content-Type-Options") == "nosniff"
    assert answer.header("Referrer-Policy") == "same-origin"
    assert answer.header("Cross-Origin-Opener-Policy") == "same-origin"
    assert answer.header("X-Frame-Options") == "DENY"
    server = [value for key, value in answer.headers if key.lower() == "server"]
    assert not any(re.search(r"\d", value) for value in server), f"Server: {server}"


def assert_not_stored(answer: Answer) -> None:
    directives = {part.strip().lower() for part in answer.header("Cache-Control").split(",")}
    assert "no-store" in directives


# ---------------------------------------------------------------------------
# Every page
# ---------------------------------------------------------------------------
def test_the_login_page_carries_the_security_headers_and_a_secure_csrf_cookie(portal: int) -> None:
    answer = Visitor(portal).get("/accounts/login/")

    assert answer.status == 200
    assert_secure_headers(answer)
    csrf = answer.cookies()["csrftoken"]
    assert csrf["secure"]
    assert csrf["samesite"] == "Lax"


def test_a_page_that_does_not_exist_and_the_api_carry_them_too(portal: int) -> None:
    missing = Visitor(portal).get("/no-such-page/")
    api = Visitor(portal).get("/api/v1/lines/")

    assert missing.status in (302, 404)
    assert_secure_headers(missing)
    assert api.status == 401
    assert api.header("Strict-Transport-Security").startswith(f"max-age={TWO_YEARS}")
    assert api.header("X-Content-Type-Options") == "nosniff"


def test_a_nonce_is_new_on_every_response(portal: int) -> None:
    first = csp_directives(Visitor(portal).get("/accounts/login/"))["script-src"]
    second = csp_directives(Visitor(portal).get("/accounts/login/"))["script-src"]

    assert any(source.startswith("'nonce-") for source in first)
    assert first != second


def test_plain_http_is_redirected_to_https(portal: int) -> None:
    answer = Visitor(portal).get("/accounts/login/?next=%2F", https=False)

    assert answer.status == 301
    assert answer.header("Location") == f"https://{HOST}/accounts/login/?next=%2F"


def test_the_load_balancers_health_probe_answers_over_plain_http(portal: int) -> None:
    assert Visitor(portal).get("/healthz", https=False).status == 200


# ---------------------------------------------------------------------------
# A logged-in user
# ---------------------------------------------------------------------------
def test_the_session_cookie_is_secure_http_only_and_same_site(portal: int, people: Cast) -> None:
    visitor = Visitor(portal)

    answer = visitor.log_in(people.rossi_line_user.user.email)

    session = answer.cookies()["sessionid"]
    assert session["secure"]
    assert session["httponly"]
    assert session["samesite"] == "Lax"
    # Gone when the browser closes (ACCOUNT_SESSION_REMEMBER off); the idle timeout is the server's.
    assert not session["max-age"]
    assert not session["expires"]
    dashboard = visitor.get("/")
    assert dashboard.status == 200
    assert_secure_headers(dashboard)


def test_the_puk_is_shown_with_no_store(portal: int, people: Cast) -> None:
    visitor = Visitor(portal)
    visitor.log_in(people.rossi_line_user.user.email)

    answer = visitor.get_sensitive(f"/lines/{people.rossi_assigned_line.pk}/sim/secrets/")

    assert answer.status == 200
    assert "87654321" in answer.body
    assert_not_stored(answer)
    assert_secure_headers(answer)


def test_a_new_api_tokens_key_is_shown_with_no_store(portal: int, people: Cast) -> None:
    visitor = Visitor(portal)
    visitor.log_in(people.rossi_line_user.user.email)

    answer = visitor.submit("/settings/api-tokens/", {"name": "Contabilità"})

    assert answer.status == 200
    token = people.rossi_line_user.api_tokens.get()
    shown = re.findall(re.escape(token.prefix) + r"[A-Za-z0-9_-]+", answer.body)
    assert token.key_hash in {api_token_key_hash(key) for key in shown}, "the page shows the new key"
    assert_not_stored(answer)


def test_the_recovery_codes_are_shown_with_no_store(portal: int, people: Cast) -> None:
    user: Any = people.rossi_legal_rep.user
    codes = RecoveryCodes.activate(user).get_unused_codes()
    visitor = Visitor(portal)
    visitor.log_in(user.email, totp_secret=user.totp_secret)

    answer = visitor.get_sensitive("/accounts/2fa/recovery-codes/")

    assert answer.status == 200
    assert codes[0] in answer.body
    assert_not_stored(answer)


def test_a_new_totp_secret_is_shown_with_no_store(portal: int, people: Cast) -> None:
    visitor = Visitor(portal)
    visitor.log_in(people.rossi_line_user.user.email)

    answer = visitor.get("/accounts/2fa/totp/activate/")

    assert answer.status == 200
    assert 'name="code"' in answer.body, "the enrolment form, with its secret"
    assert_not_stored(answer)
