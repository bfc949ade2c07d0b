"""The Reports page, its downloads and its API: the same figures, a fixed number of queries, both languages."""

from __future__ import annotations

import csv
import io
import re
import zipfile
from datetime import date, timedelta
from decimal import Decimal
from typing import Any

import pytest
from django.conf import settings
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from billing.models import InvoiceLineKind
from insight.reports import CHARTS
from tests.cast import Cast
from tests.conftest import log_in
from tests.factories import LineFactory
from tests.insight.data import Item, daily, invoice_with

pytestmark = pytest.mark.django_db

PAGE = reverse("insight:dashboard")


def _bill(cast: Cast, months: int, lines_per_centre: int, first_year: int = 2024) -> None:
    """`months` invoices of Rossi, each line with a fee and a concession fee, and a day of traffic per line."""
    lines = [cast.rossi_assigned_line, cast.rossi_other_line]
    for n in range(lines_per_centre):
        lines.append(LineFactory.create(company=cast.rossi, cost_centre=f"Centre {n % 3}"))
    today = timezone.localdate()
    for m in range(months):
        month = date(first_year + m // 12, m % 12 + 1, 1)
        items = [Item(line, InvoiceLineKind.FEE, "10.00", line.cost_centre) for line in lines]
        items += [Item(line, InvoiceLineKind.CONCESSION_FEE, "12.91", line.cost_centre) for line in lines]
        invoice_with(cast.rossi, month, items)
    # The cast's two lines get their traffic once (a day's roll-up row is unique per line and kind).
    for line in lines[2:] if first_year != 2024 else lines:
        daily(line, today, service="data", volume=1_500_000)
        daily(line, today - timedelta(days=2), service="voice", seconds=60, country="US")


@pytest.mark.parametrize("role", ["rossi_admin", "rossi_line_user"])
def test_the_page_takes_the_same_queries_whatever_the_size(
    cast: Cast, client: Client, pinned_queries: Any, role: str
) -> None:
    log_in(client, getattr(cast, role))
    _bill(cast, months=2, lines_per_centre=1)
    small = pinned_queries(PAGE, queries=QUERIES[role])
    _bill(cast, months=14, lines_per_centre=12, first_year=2025)
    pinned_queries(PAGE, queries=QUERIES[role])
    # Filtered, the company's view has no VAT query, like the line user's.
    pinned_queries(
        PAGE + f"?cost_centre=Cantieri&line={cast.rossi_assigned_line.pk}",
        queries=QUERIES["rossi_line_user"],
    )
    assert small.status_code == 200


# Session, user, membership and the page's shared context, the filters' lines (1), the billed
# months (1), one per chart, the invoices' stamp of the page's cache (insight.cache), and in the
# company's own view one more for the invoices' VAT and stamp duty.
QUERIES = {"rossi_admin": 19, "rossi_line_user": 18}
# A view from the cache (insight.cache): the billed months and the charts' queries are not run.
CACHED_QUERIES = QUERIES["rossi_admin"] - 9


def test_a_managers_second_view_comes_from_the_cache_until_invoices_or_traffic_change(
    cast: Cast, client: Client, pinned_queries: Any
) -> None:
    log_in(client, cast.rossi_admin)
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "en"
    _bill(cast, months=2, lines_per_centre=0)
    pinned_queries(PAGE, queries=QUERIES["rossi_admin"])

    cached = pinned_queries(PAGE, queries=CACHED_QUERIES)
    # A new invoice: its stamp changes, the tables are made again with it.
    _bill(cast, months=1, lines_per_centre=0, first_year=2030)
    invoiced = pinned_queries(PAGE, queries=QUERIES["rossi_admin"])
    pinned_queries(PAGE, queries=CACHED_QUERIES)
    # Traffic imported for the company (tests.insight.data.daily renews its token as the import does).
    daily(cast.rossi_other_line, timezone.localdate(), service="sms", records=7)
    imported = pinned_queries(PAGE, queries=QUERIES["rossi_admin"])

    assert "January 2030" not in cached.content.decode()
    assert "January 2030" in invoiced.content.decode()
    # The traffic chart's text alternative gives today's figures.
    assert "SMS 0," in invoiced.content.decode()
    assert "SMS 7," in imported.content.decode()


def test_a_line_users_cached_view_follows_the_lines_assigned(
    cast: Cast, client: Client, pinned_queries: Any
) -> None:
    log_in(client, cast.rossi_line_user)
    _bill(cast, months=2, lines_per_centre=0)
    other = cast.rossi_other_line.number

    first = pinned_queries(PAGE, queries=QUERIES["rossi_line_user"])
    pinned_queries(PAGE, queries=CACHED_QUERIES)
    # Another line assigned: the lines seen are part of the key, the view is drawn again.
    cast.rossi_other_line.assigned_to = cast.rossi_line_user
    cast.rossi_other_line.save()
    more = pinned_queries(PAGE, queries=QUERIES["rossi_line_user"])
    cast.rossi_other_line.assigned_to = None
    cast.rossi_other_line.save()
    # Back to the first lines: the first view's entry again.
    fewer = pinned_queries(PAGE, queries=CACHED_QUERIES)

    assert other not in first.content.decode()
    assert other in more.content.decode().split('id="insight-filters"')[1]
    assert other not in fewer.content.decode()


def test_every_chart_is_an_inline_svg_that_passes_the_csp(cast: Cast, client: Client) -> None:
    _bill(cast, months=3, lines_per_centre=2)
    log_in(client, cast.rossi_admin)

    response = client.get(PAGE)

    content = response.content.decode()
    nonce = response.wsgi_request.csp_nonce  # type: ignore[attr-defined]
    assert content.count('<svg aria-hidden="true"') == len(CHARTS)
    assert "<script" not in content.split("<main", 1)[-1].split("</main>", 1)[0] or "pygal" not in content
    assert "kozea.github.io" not in content
    assert "cdn" not in content.lower()
    assert f'<style nonce="{nonce}">' in content
    assert 'style="' not in content.split("<svg", 1)[1]
    # Each chart: a text alternative, and its table in a <details> one click away.
    assert content.count("<figcaption") == len(CHARTS)
    assert content.count("<details") == len(CHARTS)
    assert "No tax value" in content or "valore fiscale" in content


def test_the_page_speaks_italian(cast: Cast, client: Client) -> None:
    _bill(cast, months=3, lines_per_centre=0)
    log_in(client, cast.rossi_admin)
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "it"

    content = client.get(PAGE).content.decode()

    assert '<html lang="it">' in content
    # 10.00 x 2 lines + 12.91 x 2 + VAT 22.00 + stamp 2.00 = 69.82, written the Italian way.
    assert "€ 69,82" in content


def test_the_page_speaks_english(cast: Cast, client: Client) -> None:
    _bill(cast, months=3, lines_per_centre=0)
    log_in(client, cast.rossi_admin)
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "en"

    content = client.get(PAGE).content.decode()

    assert '<html lang="en">' in content
    # The same total as in Italian, written the English way, and a month named in English.
    assert "€ 69.82" in content
    assert "Spend per month, last 12 invoices" in content
    assert "March 2024" in content


def test_a_line_filter_outside_the_users_lines_is_refused_and_not_applied(cast: Cast, client: Client) -> None:
    _bill(cast, months=3, lines_per_centre=0)
    log_in(client, cast.rossi_line_user)

    response = client.get(PAGE + f"?line={cast.rossi_other_line.pk}")

    content = response.content.decode()
    assert response.status_code == 200
    assert 'aria-invalid="true"' in content
    assert cast.rossi_other_line.number not in content


def test_the_csv_is_the_table_behind_the_chart(cast: Cast, client: Client) -> None:
    _bill(cast, months=3, lines_per_centre=0)
    log_in(client, cast.rossi_admin)
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "en"

    response = client.get(reverse("insight:export-cycles-line-csv") + "?cost_centre=Ufficio")

    assert response["Content-Type"].startswith("text/csv")
    rows = list(csv.reader(io.StringIO(response.content.decode("utf-8-sig"))))
    assert rows[0] == ["Line", "January 2024", "February 2024", "March 2024"]
    # The fee only: net of the concession fee.
    assert rows[1] == [cast.rossi_other_line.number, "10.00", "10.00", "10.00"]
    assert "No tax value" in rows[-1][0]


def test_the_xlsx_is_a_workbook(cast: Cast, client: Client) -> None:
    _bill(cast, months=3, lines_per_centre=0)
    log_in(client, cast.rossi_admin)

    response = client.get(reverse("insight:export-monthly-spend-xlsx"))

    assert response.status_code == 200
    with zipfile.ZipFile(io.BytesIO(response.content)) as workbook:
        sheet = workbook.read("xl/worksheets/sheet1.xml").decode()
    values = [float(v) for v in re.findall(r"<v>([0-9.]+)</v>", sheet)]
    # Numbers, not text: the three months' totals among them (the format shows two decimals).
    assert [round(v, 2) for v in values].count(69.82) == 3


def test_the_api_gives_the_same_figures_and_refuses_a_foreign_line(cast: Cast, api_client_for: Any) -> None:
    _bill(cast, months=3, lines_per_centre=0)

    answer = api_client_for(cast.rossi_admin).get(reverse("api:insight-monthly-spend")).json()
    refused = api_client_for(cast.rossi_line_user).get(
        reverse("api:insight-monthly-spend"), {"line": cast.rossi_other_line.pk}
    )
    mine = api_client_for(cast.rossi_line_user).get(reverse("api:insight-monthly-spend")).json()

    assert [row["total"] for row in answer["rows"]] == ["69.82"] * 3
    assert answer["rows"][0]["month"] == "2024-01"
    assert refused.status_code == 400
    # The line user's: the assigned line's fee and concession fee, no VAT, no stamp duty.
    assert [row["total"] for row in mine["rows"]] == [str(Decimal("10.00") + Decimal("12.91"))] * 3
