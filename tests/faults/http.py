"""Requests to a portal server process over real HTTP, as a logged-in user's browser makes them."""

from __future__ import annotations

import re
import urllib.error
import urllib.parse
import urllib.request
from dataclasses import dataclass
from email.message import Message

from django.conf import settings
from django.test import Client

from selfcare.models import Membership
from tests.conftest import log_in


@dataclass(frozen=True)
class Answer:
    status: int
    headers: Message
    body: str


class _NoRedirects(urllib.request.HTTPRedirectHandler):
    """A redirect is an answer of its own: to the login page, it would mean the session was lost."""

    def redirect_request(self, *args: object, **kwargs: object) -> None:
        return None


_opener = urllib.request.build_opener(_NoRedirects)


def session_cookie_of(membership: Membership) -> str:
    """A session of the membership's user in the portal's database, as a `Cookie` header.

    The session is written by the test process (in the database the server
    reads), skipping the login form and its second factor, as `client_as` does.
    """
    client = log_in(Client(), membership)
    return f"{settings.SESSION_COOKIE_NAME}={client.cookies[settings.SESSION_COOKIE_NAME].value}"


def _send(request: urllib.request.Request, timeout: float) -> Answer:
    try:
        with _opener.open(request, timeout=timeout) as response:
            return Answer(response.status, response.headers, response.read().decode(errors="replace"))
    except urllib.error.HTTPError as error:
        return Answer(error.code, error.headers, error.read().decode(errors="replace"))


def get(url: str, *, cookie: str = "", headers: dict[str, str] | None = None, timeout: float = 30) -> Answer:
    sent = {"Accept-Language": "en", **(headers or {})}
    if cookie:
        sent["Cookie"] = cookie
    return _send(urllib.request.Request(url, headers=sent), timeout)  # noqa: S310


def log_in_through_the_form(base_url: str, *, email: str, password: str) -> Answer:
    """The login form as a browser posts it (its CSRF cookie and token); the answer is not followed."""
    form = get(f"{base_url}/accounts/login/")
    cookies = "; ".join(value.split(";")[0] for value in form.headers.get_all("Set-Cookie", []))
    match = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', form.body)
    assert match, "the login page has no CSRF token"
    data = urllib.parse.urlencode({"csrfmiddlewaretoken": match[1], "login": email, "password": password})
    request = urllib.request.Request(  # noqa: S310
        f"{base_url}/accounts/login/",
        data=data.encode(),
        headers={"Cookie": cookies, "Referer": f"{base_url}/accounts/login/", "Accept-Language": "en"},
    )
    return _send(request, 30)
