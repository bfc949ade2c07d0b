"""Insight alerts: each rule at its boundary, told exactly once, after a billing run and a traffic import."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from django.conf import settings
from django.test import Client
from django.urls import reverse

import insight.tasks
from billing.models import InvoiceLineKind
from billing.services import billing_run_month
from billing.traffic_import import traffic_import_file
from insight.alerts import insight_alert_save, insight_alerts_check
from insight.models import AlertKind, InsightAlert, InsightAlertHit
from selfcare.models import Channel, Membership, Notification, Role
from tests.billing.traffic_files import data_session, feed_file
from tests.cast import Cast
from tests.conftest import log_in
from tests.factories import CompanyFactory, LineFactory, MembershipFactory, OfferFactory
from tests.insight.data import Item, daily, invoice_with

pytestmark = pytest.mark.django_db

D = Decimal
JAN, FEB, MAR, APR = (date(2026, m, 1) for m in (1, 2, 3, 4))


def alert(membership: Membership, kind: str, **fields: Any) -> InsightAlert:
    return insight_alert_save(membership=membership, kind=kind, **fields)


def told(alert_: InsightAlert) -> list[tuple[int | None, str]]:
    """(user, channel) of every notification of the alert, however many checks ran."""
    return sorted(
        Notification.objects.filter(
            event="insight_alert", dedupe_key__contains=f":alert-{alert_.pk}-"
        ).values_list("user_id", "channel")
    )


def inbox_recipients(alert_: InsightAlert) -> list[int | None]:
    return [user for user, channel in told(alert_) if channel == Channel.INBOX]


def bill(cast: Cast, month: date, amounts: dict[str, str]) -> None:
    """Rossi's invoice of `month`: a fee of the assigned line (Cantieri) and one of the other line (Ufficio)."""
    items = [
        Item(cast.rossi_assigned_line, InvoiceLineKind.FEE, amounts["assigned"], "Cantieri"),
        Item(cast.rossi_other_line, InvoiceLineKind.FEE, amounts.get("other", "1.00"), "Ufficio"),
        # The concession fee is a tax: never part of the spend the alerts watch.
        Item(cast.rossi_assigned_line, InvoiceLineKind.CONCESSION_FEE, "12.91", "Cantieri"),
    ]
    invoice_with(cast.rossi, month, items)


# ---------------------------------------------------------------------------
# Spend above an amount
# ---------------------------------------------------------------------------


@pytest.mark.parametrize(("spend", "crosses"), [("100.00", False), ("100.01", True)])
def test_a_lines_spend_above_the_amount_is_told_once_to_the_managers(
    cast: Cast, spend: str, crosses: bool
) -> None:
    watch = alert(
        cast.rossi_admin, AlertKind.LINE_SPEND_ABOVE, line_id=cast.rossi_assigned_line.pk, amount=D("100")
    )
    bill(cast, APR, {"assigned": spend})

    first = insight_alerts_check(months=[APR])
    again = insight_alerts_check(months=[APR])

    managers = sorted([cast.rossi_admin.user_id, cast.rossi_legal_rep.user_id])
    assert inbox_recipients(watch) == (managers if crosses else [])
    assert len(told(watch)) == (4 if crosses else 0)  # inbox and e-mail, each manager once
    assert [hit.value for hit in first] == ([D(spend)] if crosses else [])
    assert again == []
    assert InsightAlertHit.objects.filter(alert=watch).count() == (1 if crosses else 0)


def test_a_cost_centres_spend_counts_its_lines_as_billed_and_credit_notes_subtract(cast: Cast) -> None:
    watch = alert(
        cast.rossi_legal_rep, AlertKind.COST_CENTRE_SPEND_ABOVE, cost_centre="Ufficio", amount=D("50")
    )
    extra = LineFactory.create(company=cast.rossi, cost_centre="Magazzino")
    invoice = invoice_with(
        cast.rossi,
        APR,
        [
            Item(cast.rossi_other_line, InvoiceLineKind.FEE, "30.00", "Ufficio"),
            # Billed to Ufficio that month, whatever the line's cost centre now.
            Item(extra, InvoiceLineKind.FEE, "25.00", "Ufficio"),
        ],
    )
    invoice_with(
        cast.rossi, APR, [Item(extra, InvoiceLineKind.FEE, "5.00", "Ufficio")], credit_note_of=invoice
    )

    assert insight_alerts_check(months=[APR]) == []  # 30 + 25 - 5 = 50: not above 50

    invoice_with(cast.rossi, MAR, [Item(extra, InvoiceLineKind.FEE, "50.01", "Ufficio")])
    hits = insight_alerts_check(months=[MAR])
    assert [(hit.period, hit.value) for hit in hits] == [(MAR, D("50.01"))]
    assert len(inbox_recipients(watch)) == 2


def test_a_month_not_invoiced_yet_is_not_checked(cast: Cast) -> None:
    alert(cast.rossi_admin, AlertKind.LINE_SPEND_ABOVE, line_id=cast.rossi_assigned_line.pk, amount=D("1"))
    bill(cast, MAR, {"assigned": "5.00"})

    assert insight_alerts_check(months=[APR]) == []


def test_a_paused_alert_tells_nobody(cast: Cast) -> None:
    watch = alert(
        cast.rossi_admin,
        AlertKind.LINE_SPEND_ABOVE,
        line_id=cast.rossi_assigned_line.pk,
        amount=D("1"),
        enabled=False,
    )
    bill(cast, APR, {"assigned": "5.00"})

    assert insight_alerts_check(months=[APR]) == []
    assert told(watch) == []


# ---------------------------------------------------------------------------
# Up more than N% on the average of the three months before
# ---------------------------------------------------------------------------


@pytest.mark.parametrize(("april", "crosses"), [("110.00", False), ("110.01", True)])
def test_the_jump_is_strictly_more_than_the_percentage_on_the_three_months_average(
    cast: Cast, april: str, crosses: bool
) -> None:
    watch = alert(
        cast.rossi_admin, AlertKind.LINE_SPEND_JUMP, line_id=cast.rossi_assigned_line.pk, percent=D("10")
    )
    # Average (90 + 100 + 110) / 3 = 100: +10% is 110.00.
    for month, amount in ((JAN, "90.00"), (FEB, "100.00"), (MAR, "110.00")):
        bill(cast, month, {"assigned": amount})
    bill(cast, APR, {"assigned": april})

    hits = insight_alerts_check(months=[APR])

    assert [(hit.value, hit.baseline) for hit in hits] == ([(D(april), D("100.00"))] if crosses else [])
    assert len(inbox_recipients(watch)) == (2 if crosses else 0)


def test_a_cost_centres_jump_is_told_once(cast: Cast) -> None:
    watch = alert(cast.rossi_admin, AlertKind.COST_CENTRE_SPEND_JUMP, cost_centre="Ufficio", percent=D("50"))
    for month in (JAN, FEB, MAR):
        bill(cast, month, {"assigned": "10.00", "other": "10.00"})
    bill(cast, APR, {"assigned": "10.00", "other": "15.01"})

    insight_alerts_check(months=[APR])
    insight_alerts_check(months=[APR, MAR])

    assert len(inbox_recipients(watch)) == 2
    assert InsightAlertHit.objects.get(alert=watch).period == APR


def test_no_jump_without_three_invoiced_months_before(cast: Cast) -> None:
    alert(cast.rossi_admin, AlertKind.LINE_SPEND_JUMP, line_id=cast.rossi_assigned_line.pk, percent=D("10"))
    # January is missing: no average to compare April with.
    for month in (FEB, MAR):
        bill(cast, month, {"assigned": "10.00"})
    bill(cast, APR, {"assigned": "1000.00"})

    assert insight_alerts_check(months=[APR]) == []


# ---------------------------------------------------------------------------
# A line's data in a day
# ---------------------------------------------------------------------------


@pytest.mark.parametrize(("volume", "crosses"), [(2_000_000_000, False), (2_000_000_001, True)])
def test_daily_data_above_n_gb_counts_10_to_the_9_bytes_both_directions(
    cast: Cast, volume: int, crosses: bool
) -> None:
    line = cast.rossi_assigned_line
    watch = alert(cast.rossi_admin, AlertKind.LINE_DAILY_DATA_ABOVE, line_id=line.pk, gigabytes=D("2"))
    day = date(2026, 11, 20)
    daily(line, day, service="data", volume=volume - 1_000, direction="out")
    daily(line, day, service="data", volume=1_000, direction="in")
    # Calls, another day and another line do not count.
    daily(line, day, service="voice", seconds=9_000_000_000)
    daily(line, date(2026, 11, 21), service="data", volume=1_500_000_000)
    daily(cast.rossi_other_line, day, service="data", volume=5_000_000_000)

    hits = insight_alerts_check(days=[day, date(2026, 11, 21)], company_ids=[cast.rossi.pk])

    assert [(hit.period, hit.value) for hit in hits] == ([(day, D("2.000"))] if crosses else [])
    assert len(inbox_recipients(watch)) == (2 if crosses else 0)


@pytest.fixture
def checks_run_at_once(monkeypatch: pytest.MonkeyPatch) -> list[dict[str, Any]]:
    """The check task, queued at commit, runs in the test instead of going to the broker."""
    sent: list[dict[str, Any]] = []

    def run(kwargs: dict[str, Any], **options: Any) -> None:
        sent.append(kwargs)
        insight.tasks.insight_alerts_check(**kwargs)

    monkeypatch.setattr(insight.tasks.insight_alerts_check, "apply_async", run)
    return sent


def test_a_traffic_import_checks_the_days_it_touched_and_a_replay_tells_nobody_again(
    cast: Cast,
    tmp_path: Path,
    checks_run_at_once: list[dict[str, Any]],
    django_capture_on_commit_callbacks: Callable[..., Any],
) -> None:
    line = cast.rossi_assigned_line
    # 0.01 GB = 10 MB; each session is 5 MB.
    watch = alert(cast.rossi_admin, AlertKind.LINE_DAILY_DATA_ABOVE, line_id=line.pk, gigabytes=D("0.01"))
    first = feed_file(
        tmp_path, [data_session("s1", line.number), data_session("s2", line.number)], name="a.csv"
    )
    second = feed_file(tmp_path, [data_session("s3", line.number, volume_bytes="1")], name="b.csv")

    with django_capture_on_commit_callbacks(execute=True):
        traffic_import_file(path=first)  # exactly 10 MB: not above
    assert told(watch) == []
    with django_capture_on_commit_callbacks(execute=True):
        traffic_import_file(path=second)  # one byte more
    with django_capture_on_commit_callbacks(execute=True):
        traffic_import_file(path=second)  # replayed: its rows are duplicates
        traffic_import_file(path=first)
    insight.tasks.insight_alerts_check(days=["2026-11-20"])  # and the check itself repeated

    assert checks_run_at_once[:2] == [
        {"days": ["2026-11-20"], "company_ids": [cast.rossi.pk]},
        {"days": ["2026-11-20"], "company_ids": [cast.rossi.pk]},
    ]
    assert len(inbox_recipients(watch)) == 2
    assert InsightAlertHit.objects.get(alert=watch).value == D("0.010")


def test_a_billing_run_checks_its_month_and_a_repeated_run_tells_nobody_again(
    checks_run_at_once: list[dict[str, Any]], django_capture_on_commit_callbacks: Callable[..., Any]
) -> None:
    company = CompanyFactory.create()
    manager = MembershipFactory.create(company=company, role=Role.ADMIN)
    offer = OfferFactory.create(code="T-ALERT-50", monthly_fee=D("50.00"))
    watched, other = (
        LineFactory.create(company=company, offer=offer, activated_on=date(2025, 1, 1), cost_centre="Flotta")
        for _ in range(2)
    )
    above = alert(manager, AlertKind.LINE_SPEND_ABOVE, line_id=watched.pk, amount=D("49.99"))
    at = alert(manager, AlertKind.COST_CENTRE_SPEND_ABOVE, cost_centre="Flotta", amount=D("100.00"))

    with django_capture_on_commit_callbacks(execute=True):
        billing_run_month(year=2026, month=10)
    with django_capture_on_commit_callbacks(execute=True):
        billing_run_month(year=2026, month=10)

    assert checks_run_at_once == [{"months": ["2026-10-01"]}] * 2
    assert inbox_recipients(above) == [manager.user_id]
    assert len(told(above)) == 2
    # The two lines' fees make exactly 100.00: not above.
    assert told(at) == []
    assert other.pk != watched.pk


# ---------------------------------------------------------------------------
# Who sets them, and what they may watch
# ---------------------------------------------------------------------------


def test_a_line_user_may_not_set_alerts_and_is_told_so(
    cast: Cast, client: Client, api_client_for: Any
) -> None:
    log_in(client, cast.rossi_line_user)

    page = client.get(reverse("insight:alerts"))
    create = client.post(
        reverse("insight:alert-create"),
        {"kind": AlertKind.LINE_SPEND_ABOVE, "line": cast.rossi_assigned_line.pk, "amount": "10"},
    )
    api = api_client_for(cast.rossi_line_user).get(reverse("api:insight-alert-list"))

    assert page.status_code == 200
    assert 'id="alerts-not-allowed"' in page.content.decode()
    assert 'id="alert-create"' not in page.content.decode()
    assert create.status_code == 403
    assert api.status_code == 403
    assert not InsightAlert.objects.exists()


def test_another_companys_line_is_refused_by_the_page_and_the_api(
    cast: Cast, client: Client, api_client_for: Any
) -> None:
    log_in(client, cast.rossi_admin)
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "en"
    data = {"kind": AlertKind.LINE_SPEND_ABOVE, "line": cast.bianchi_line.pk, "amount": "10", "enabled": "on"}

    page = client.post(reverse("insight:alert-create"), data)
    api = api_client_for(cast.rossi_admin).post(
        reverse("api:insight-alert-list"), {**data, "enabled": True}, format="json"
    )

    assert page.status_code == 400
    content = page.content.decode()
    assert "This line is not one of your company&#x27;s lines." in content
    # Nothing typed is lost.
    assert 'value="10"' in content
    assert api.status_code == 400
    assert "line" in api.json()
    assert not InsightAlert.objects.exists()


@pytest.mark.parametrize(
    ("fields", "field"),
    [
        ({"kind": AlertKind.LINE_SPEND_JUMP, "percent": "0"}, "percent"),
        ({"kind": AlertKind.LINE_SPEND_JUMP, "percent": "-5"}, "percent"),
        ({"kind": AlertKind.LINE_SPEND_ABOVE, "amount": ""}, "amount"),
        ({"kind": AlertKind.LINE_DAILY_DATA_ABOVE, "gigabytes": "0"}, "gigabytes"),
        ({"kind": AlertKind.COST_CENTRE_SPEND_ABOVE, "amount": "5", "cost_centre": ""}, "cost_centre"),
        ({"kind": AlertKind.LINE_SPEND_ABOVE, "amount": "5", "line": ""}, "line"),
    ],
)
def test_a_threshold_or_target_missing_or_not_above_zero_is_refused_clearly(
    cast: Cast, client: Client, fields: dict[str, str], field: str
) -> None:
    log_in(client, cast.rossi_admin)
    data = {"line": str(cast.rossi_assigned_line.pk), **fields}

    response = client.post(reverse("insight:alert-create"), data)

    assert response.status_code == 400
    assert f'id="id_{field}-error"' in response.content.decode()
    assert not InsightAlert.objects.exists()


def test_an_admin_sets_changes_and_deletes_an_alert(cast: Cast, client: Client) -> None:
    log_in(client, cast.rossi_admin)
    empty = client.get(reverse("insight:alerts"))

    created = client.post(
        reverse("insight:alert-create"),
        {
            "kind": AlertKind.COST_CENTRE_SPEND_JUMP,
            "cost_centre": "Cantieri",
            "percent": "25",
            "enabled": "on",
        },
    )
    watch = InsightAlert.objects.get()
    changed = client.post(
        reverse("insight:alert-edit", args=[watch.pk]),
        {"kind": AlertKind.COST_CENTRE_SPEND_JUMP, "cost_centre": "Ufficio", "percent": "30"},
    )
    watch.refresh_from_db()
    listed = client.get(reverse("insight:alerts")).content.decode()
    confirm = client.get(reverse("insight:alert-delete", args=[watch.pk]))
    deleted = client.post(reverse("insight:alert-delete", args=[watch.pk]), follow=True)

    assert 'id="alerts-empty"' in empty.content.decode()
    assert created.status_code == changed.status_code == 302
    assert (watch.cost_centre, watch.percent, watch.enabled, watch.created_by_id) == (
        "Ufficio",
        D("30"),
        False,
        cast.rossi_admin.user_id,
    )
    assert f'id="alert-{watch.pk}"' in listed
    assert confirm.status_code == 200
    assert 'id="alert-delete-form"' in confirm.content.decode()
    assert deleted.status_code == 200
    assert not InsightAlert.objects.exists()


def test_the_api_creates_reads_changes_and_deletes(cast: Cast, api_client_for: Any) -> None:
    api = api_client_for(cast.rossi_legal_rep)

    made = api.post(
        reverse("api:insight-alert-list"),
        {"kind": "line_daily_data_above", "line": cast.rossi_other_line.pk, "gigabytes": "1.5"},
        format="json",
    )
    pk = made.json()["id"]
    patched = api.patch(reverse("api:insight-alert-detail", args=[pk]), {"gigabytes": "3"}, format="json")
    listed = api.get(reverse("api:insight-alert-list")).json()
    gone = api.delete(reverse("api:insight-alert-detail", args=[pk]))

    assert made.status_code == 201
    assert made.json()["line_number"] == cast.rossi_other_line.number
    assert patched.json()["gigabytes"] == "3.000"
    assert [row["id"] for row in listed["results"]] == [pk]
    assert gone.status_code == 204
    assert not InsightAlert.objects.exists()
