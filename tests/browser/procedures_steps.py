"""What the browser tests of the procedures do again and again: log in, read English, staff take a step, attach a file.

Fields and buttons are found by id or name, so the steps work in either language.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from django.conf import settings
from playwright.sync_api import BrowserContext, Page, expect

from procedures.models import Request
from tests.conftest import totp_code
from tests.factories import DEFAULT_PASSWORD
from tests.procedures.requests_helpers import PDF_BYTES, png_bytes


def in_english(context: BrowserContext, live_server: Any) -> None:
    """The language chosen in the portal (its cookie), before the first page: the pages come in English."""
    context.add_cookies([{"name": settings.LANGUAGE_COOKIE_NAME, "value": "en", "url": live_server.url}])


def log_in(page: Page, live_server: Any, email: str, *, totp_secret: str | None = None) -> None:
    """The real login form, then the second factor if given (as the `log_in_through_the_form` fixture, on any page)."""
    page.goto(live_server.url + "/accounts/login/")
    page.locator("#id_login").fill(email)
    page.locator("#id_password").fill(DEFAULT_PASSWORD)
    page.locator("#login-form button[type=submit]").click()
    if totp_secret is not None:
        page.locator("#id_code").fill(totp_code(totp_secret))
        page.locator("#mfa-authenticate-form button[type=submit]").click()
    page.wait_for_url(lambda url: "/accounts/login/" not in url and "/2fa/authenticate/" not in url)


def a_pdf(folder: Path, name: str) -> Path:
    path = folder / name
    path.write_bytes(PDF_BYTES)
    return path


def a_png(folder: Path, name: str) -> Path:
    path = folder / name
    path.write_bytes(png_bytes())
    return path


def submitted_request(page: Page) -> Request:
    """The request the form just made: the page it led to is the request's own."""
    page.wait_for_url(re.compile(r"/requests/\d+/$"))
    match = re.search(r"/requests/(\d+)/$", page.url)
    assert match is not None
    return Request.objects.get(pk=int(match.group(1)))


def staff_take_step(page: Page, live_server: Any, request: Request, step: str, **fields: str) -> None:
    """In the admin's work queue, staff open the request, follow the step's link, fill its form and send it."""
    page.goto(f"{live_server.url}/admin/procedures/request/{request.pk}/change/")
    page.locator(f"a.request-step[href$='/step/{step}/']").click()
    form = page.locator("#request-step-form")
    for name, value in fields.items():
        form.locator(f"[name={name}]").fill(value)
    form.locator("input[type=submit]").click()
    page.wait_for_url(re.compile(rf"/admin/procedures/request/{request.pk}/change/$"))
    expect(page.locator("ul.messagelist li.success")).to_have_count(1)
