"""An administrator filters the traffic report by one line and downloads it as CSV, in Italian."""

from __future__ import annotations

import csv
import io
import re
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Page, expect

from tests.billing.traffic_rows import recent_traffic
from tests.cast import Cast, make_cast

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def browser_cast(transactional_db: None) -> Cast:
    cast = make_cast()
    recent_traffic(cast.rossi_assigned_line, record_id="assigned-1")
    recent_traffic(cast.rossi_other_line, record_id="other-1")
    recent_traffic(cast.bianchi_line, record_id="bianchi-1")
    return cast


def test_an_admin_filters_by_a_line_and_downloads_its_traffic(
    page: Page,
    live_server: Any,
    browser_cast: Cast,
    log_in_through_the_form: Any,
    serious_accessibility_violations: Any,
    tmp_path: Path,
) -> None:
    admin = browser_cast.rossi_admin.user
    line = browser_cast.rossi_assigned_line.number
    log_in_through_the_form(admin.email, totp_secret=admin.totp_secret)  # type: ignore[attr-defined]

    page.goto(f"{live_server.url}/invoices/")
    page.locator("#traffic-report-link").click()
    page.wait_for_url(re.compile(r"/traffic/$"))
    expect(page.locator("#traffic-records tbody tr")).to_have_count(2)
    expect(page.locator("#traffic-privacy")).to_contain_text("XXX")

    page.get_by_label(line).check()
    page.locator("#traffic-filter-submit").click()
    page.wait_for_url(re.compile(r"line=%2B39"))
    expect(page.locator("#traffic-records tbody tr")).to_have_count(1)
    expect(page.locator("#traffic-records")).to_contain_text("+393471234XXX")
    expect(page.locator("#traffic-total-records")).to_have_text("1")
    assert serious_accessibility_violations(page) == []

    with page.expect_download() as download_info:
        page.locator("#traffic-export-csv").click()
    saved = tmp_path / "traffic.csv"
    download_info.value.save_as(saved)
    rows = list(csv.reader(io.StringIO(saved.read_text(encoding="utf-8"))))

    assert rows[0][:3] == ["Id del record", "Linea", "Avviata il"]
    assert [row[0] for row in rows[1:]] == ["assigned-1"]
    assert rows[1][1] == line
    assert rows[1][5] == "+393471234XXX"
    assert re.fullmatch(r"\d\d/\d\d/\d{4} \d\d:\d\d:\d\d", rows[1][2])
