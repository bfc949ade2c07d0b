"""The portal shown: its main pages with the demo data, in Italian and English, each rendered and photographed.

The demo data of `make run` (seed_demo) is loaded on a fixed day, so the
pages show the same lines, invoices, traffic and requests on every run. A
legal representative of the demo's first company visits the customer's main
pages, then operator staff open the work queue; for each page in each language
the test asserts that it answered, in that language, with its own heading, no
script error and no serious accessibility violation, and saves a PNG named
`<page>-<language>.png` in SCREENSHOTS_DIR (a temporary folder unless set:
`make screenshots` sets docs/screenshots).
"""

from __future__ import annotations

import io
import os
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from django.conf import settings
from django.core.management import call_command
from django.utils import translation
from playwright.sync_api import Page, expect

from billing.models import Invoice
from procedures.models import Request
from selfcare.demo import DEMO_TOTP_SECRET
from selfcare.management.commands.seed_demo import DEMO_PASSWORD, STAFF_EMAIL
from selfcare.models import Line

pytestmark = pytest.mark.django_db(transaction=True)

# A fixed day for the demo data (its traffic is the 90 days before "today"):
# the same figures on every run, whenever it runs.
DEMO_DAY = datetime(2026, 11, 20, 10, 0, tzinfo=ZoneInfo("Europe/Rome"))
VIEWPORT = {"width": 1280, "height": 800}
LANGUAGES = ("it", "en")

LEGAL_REP = "marta.ferretti@ferretti.example"  # Ferretti Costruzioni: lines, invoices, requests, orders
HEAVY_CALLER = "+393474260757"  # a Ferretti line with fair-use findings and traffic
ESIM_LINE = "+393474252838"  # a Ferretti line on an eSIM


@dataclass(frozen=True)
class Shot:
    name: str  # the PNG's name before the language
    path: str  # the address, from the live server's root
    heading: str  # the page's <h1>: an English msgid, translated for the language…
    names: str = ""  # …or, where the heading is made of data, what it must contain


@pytest.fixture
def screenshots_dir(tmp_path: Path) -> Path:
    folder = Path(os.environ.get("SCREENSHOTS_DIR") or tmp_path / "screenshots")
    folder.mkdir(parents=True, exist_ok=True)
    return folder


@pytest.fixture
def demo_data(transactional_db: None, time_machine: Any) -> None:
    """seed_demo's companies, lines, traffic, invoices, findings and requests, as of DEMO_DAY.

    The clock keeps ticking from DEMO_DAY: logins and their second factor need time that moves.
    """
    time_machine.move_to(DEMO_DAY, tick=True)
    call_command("seed_demo", stdout=io.StringIO())


def customer_shots() -> list[Shot]:
    line = Line.objects.get(number=HEAVY_CALLER)
    esim_line = Line.objects.get(number=ESIM_LINE)
    company_id = line.company_id
    invoice = Invoice.objects.filter(company_id=company_id).order_by("-issued_on", "-pk").first()
    assert invoice is not None, "the demo data bills Ferretti"
    theft = Request.objects.get(company_id=company_id, kind="theft_loss")
    return [
        Shot("dashboard", "/", "Overview"),
        Shot("lines", "/lines/", "Lines and SIMs"),
        Shot("line", f"/lines/{line.pk}/", "", names=line.number),
        Shot("esim", f"/lines/{esim_line.pk}/esim/", "", names=esim_line.number),
        Shot("invoices", "/invoices/", "Invoices"),
        Shot("invoice", f"/invoices/{invoice.pk}/", "", names=invoice.number),
        Shot("payment-method", "/invoices/payment-method/", "Payment method"),
        Shot("traffic", "/traffic/", "Traffic of the last 90 days"),
        Shot("fair-use", "/fair-use/", "Fair use"),
        Shot("abroad", "/abroad/", "Abroad"),
        Shot("requests", "/requests/", "Requests"),
        Shot("request", f"/requests/{theft.pk}/", "", names=theft.reference),
        Shot("request-form", "/requests/new/theft_loss/", "Theft or loss"),
        Shot("activations", "/activations/", "Activation orders"),
        Shot("reports", "/insight/", "Reports"),
        Shot("users", "/settings/users/", "Users"),
    ]


# The admin's work queue: its heading is Django's "Select request to view", with the model's name.
WORK_QUEUE = Shot("admin-requests", "/admin/procedures/request/", "")


def in_language(page: Page, live_server: Any, language: str) -> None:
    """The language chosen in the portal: its cookie, as the header's switch leaves it."""
    page.context.add_cookies(
        [{"name": settings.LANGUAGE_COOKIE_NAME, "value": language, "url": live_server.url}]
    )


def shoot(
    page: Page,
    live_server: Any,
    shot: Shot,
    language: str,
    folder: Path,
    accessibility_violations: Callable[[Page], list[dict[str, Any]]],
) -> None:
    """Open the page, check that it rendered in the language, and save its PNG."""
    errors: list[str] = []

    def script_error(error: Any) -> None:
        errors.append(str(error))

    page.on("pageerror", script_error)
    response = page.goto(live_server.url + shot.path, wait_until="networkidle")
    page.remove_listener("pageerror", script_error)
    assert response is not None
    assert response.status == 200, f"{shot.name} ({language}) answered {response.status}"
    expect(page.locator("html")).to_have_attribute("lang", language)
    heading = page.locator("h1").first
    if shot.heading:
        with translation.override(language):
            expect(heading).to_have_text(translation.gettext(shot.heading))
    else:
        expect(heading).to_contain_text(shot.names)
    assert errors == [], f"{shot.name} ({language}): script errors {errors}"
    if language == LANGUAGES[0]:
        # Once per page: the English page has the same markup, and axe is the slow part.
        assert accessibility_violations(page) == [], f"{shot.name} ({language})"
    page.screenshot(path=folder / f"{shot.name}-{language}.png", animations="disabled")


def test_the_main_pages_render_in_italian_and_english_and_are_photographed(
    page: Page,
    live_server: Any,
    demo_data: None,
    log_in_through_the_form: Any,
    serious_accessibility_violations: Any,
    screenshots_dir: Path,
) -> None:
    page.set_viewport_size(VIEWPORT)  # type: ignore[arg-type]
    log_in_through_the_form(LEGAL_REP, password=DEMO_PASSWORD, totp_secret=DEMO_TOTP_SECRET)
    shots = customer_shots()
    for language in LANGUAGES:
        in_language(page, live_server, language)
        for shot in shots:
            shoot(page, live_server, shot, language, screenshots_dir, serious_accessibility_violations)

    page.context.clear_cookies()
    # The admin's navigation sidebar closed, as its toggle leaves it: the queue gets the width.
    page.add_init_script("localStorage.setItem('django.admin.navSidebarIsOpen', 'false')")
    log_in_through_the_form(STAFF_EMAIL, password=DEMO_PASSWORD, totp_secret=DEMO_TOTP_SECRET)
    for language in LANGUAGES:
        in_language(page, live_server, language)
        with translation.override(language):
            queue = replace(WORK_QUEUE, names=str(Request._meta.verbose_name))
        shoot(page, live_server, queue, language, screenshots_dir, serious_accessibility_violations)
        expect(page.locator("#result_list tbody tr")).to_have_count(Request.objects.count())
