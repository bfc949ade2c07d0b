"""Starting a billing run from the admin, and following its progress there."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date
from typing import Any

import pytest
from auditlog.models import LogEntry
from django.contrib.auth.models import Group
from django.test import Client
from django.urls import reverse
from django.utils import timezone

import billing.tasks
from billing.models import BillingRun, BillingRunChunk, BillingRunChunkStatus, BillingRunStatus
from billing.services import billing_run_month
from tests.billing.test_billing_run import company_with_lines
from tests.factories import UserFactory, give_totp

pytestmark = pytest.mark.django_db

START_URL = "admin:billing_billingrun_start"


def staff_in(client: Client, group: str) -> Client:
    staff = UserFactory.create(email=f"{group.lower().replace(' ', '.')}@operatore.example.it", is_staff=True)
    give_totp(staff)
    staff.groups.add(Group.objects.get(name=group))
    client.force_login(staff)
    # The messages below are asserted in English; the admin would answer in Italian.
    client.defaults["HTTP_ACCEPT_LANGUAGE"] = "en"
    return client


@pytest.fixture
def billing_staff(client: Client, staff_groups: None) -> Client:
    return staff_in(client, "Billing")


@pytest.fixture
def enqueued(monkeypatch: pytest.MonkeyPatch) -> list[tuple[Any, ...]]:
    """The billing_run tasks sent to the broker, instead of sending them."""
    calls: list[tuple[Any, ...]] = []
    monkeypatch.setattr(billing.tasks.billing_run, "delay", lambda *args: calls.append(args))
    return calls


def past_month() -> tuple[int, int, str]:
    today = timezone.localdate()
    year, month = (today.year - 1, 12) if today.month == 1 else (today.year, today.month - 1)
    return year, month, f"{year}-{month:02d}"


def test_billing_staff_start_a_past_month_and_land_on_its_progress(
    billing_staff: Client,
    enqueued: list[tuple[Any, ...]],
    django_capture_on_commit_callbacks: Callable[..., Any],
) -> None:
    company_with_lines(1)
    year, month, text = past_month()

    with django_capture_on_commit_callbacks(execute=True):
        response = billing_staff.post(reverse(START_URL), {"month": text})

    run = BillingRun.objects.get()
    assert response.status_code == 302
    assert response["Location"] == reverse("admin:billing_billingrun_change", args=[run.pk])
    assert (run.period_start, run.status, run.chunks_total, run.chunks_done) == (
        date(year, month, 1),
        BillingRunStatus.RUNNING,
        1,
        0,
    )
    # Enqueued for a worker, never billed in the request.
    assert enqueued == [(year, month)]
    assert run.invoices_created == 0
    entry = LogEntry.objects.get(additional_data__event="billing_run_started")
    assert entry.actor is not None
    assert entry.actor.email == "billing@operatore.example.it"
    assert entry.additional_data["month"] == text


def test_the_list_offers_the_start_to_billing_staff(billing_staff: Client) -> None:
    page = billing_staff.get(reverse("admin:billing_billingrun_changelist"))

    assert page.status_code == 200
    assert reverse(START_URL).encode() in page.content
    assert billing_staff.get(reverse(START_URL)).status_code == 200


def test_staff_without_the_permission_can_neither_see_nor_use_the_start(
    client: Client, staff_groups: None, enqueued: list[tuple[Any, ...]]
) -> None:
    customer_care = staff_in(client, "Customer care")
    _year, _month, text = past_month()

    assert customer_care.get(reverse(START_URL)).status_code == 403
    assert customer_care.post(reverse(START_URL), {"month": text}).status_code == 403
    assert not BillingRun.objects.exists()
    assert enqueued == []


@pytest.mark.parametrize(
    ("month", "message"),
    [
        ("2026-13", "YYYY-MM"),
        ("settembre", "YYYY-MM"),
        ("", 'class="errorlist"'),
    ],
)
def test_a_malformed_month_is_refused(
    billing_staff: Client, enqueued: list[tuple[Any, ...]], month: str, message: str
) -> None:
    response = billing_staff.post(reverse(START_URL), {"month": month})

    assert response.status_code == 200
    assert message in response.content.decode()
    assert not BillingRun.objects.exists()
    assert enqueued == []


def test_the_current_and_future_months_are_refused(
    billing_staff: Client, enqueued: list[tuple[Any, ...]]
) -> None:
    today = timezone.localdate()
    for text in (f"{today:%Y-%m}", f"{today.year + 1}-01"):
        response = billing_staff.post(reverse(START_URL), {"month": text})

        assert response.status_code == 200
        assert "is not over yet" in response.content.decode()
    assert not BillingRun.objects.exists()
    assert enqueued == []


def test_a_month_already_billed_is_refused_and_nothing_is_enqueued(
    billing_staff: Client,
    enqueued: list[tuple[Any, ...]],
    django_capture_on_commit_callbacks: Callable[..., Any],
) -> None:
    company_with_lines(1)
    year, month, text = past_month()
    billing_run_month(year=year, month=month)

    with django_capture_on_commit_callbacks(execute=True):
        response = billing_staff.post(reverse(START_URL), {"month": text})

    assert response.status_code == 200
    assert f"{text} has been billed already" in response.content.decode()
    assert BillingRun.objects.count() == 1
    assert enqueued == []


def test_a_month_being_billed_is_refused_and_nothing_is_enqueued(
    billing_staff: Client,
    enqueued: list[tuple[Any, ...]],
    django_capture_on_commit_callbacks: Callable[..., Any],
) -> None:
    _year, _month, text = past_month()
    with django_capture_on_commit_callbacks(execute=True):
        billing_staff.post(reverse(START_URL), {"month": text})

    with django_capture_on_commit_callbacks(execute=True):
        again = billing_staff.post(reverse(START_URL), {"month": text})

    assert again.status_code == 200
    assert f"{text} is being billed right now" in again.content.decode()
    assert BillingRun.objects.count() == 1
    assert len(enqueued) == 1


def running_run(*, chunks: int, done: int, invoices: int) -> BillingRun:
    run = BillingRun.objects.create(
        period_start=date(2026, 9, 1), chunks_total=chunks, chunks_done=done, invoices_created=invoices
    )
    BillingRunChunk.objects.bulk_create(
        BillingRunChunk(
            run=run,
            first_company_id=number,
            last_company_id=number,
            status=BillingRunChunkStatus.DONE if number < done else BillingRunChunkStatus.PENDING,
        )
        for number in range(chunks)
    )
    return run


def test_a_running_runs_page_shows_its_progress_and_polls_for_more(billing_staff: Client) -> None:
    run = running_run(chunks=8, done=2, invoices=730)
    progress_url = reverse("admin:billing_billingrun_progress", args=[run.pk])

    page = billing_staff.get(reverse("admin:billing_billingrun_change", args=[run.pk])).content.decode()
    fragment = billing_staff.get(progress_url).content.decode()

    for html in (page, fragment):
        assert '<progress id="billing-run-bar" max="100" value="25"' in html
        assert "25%: 2 of 8 chunks done" in html
        assert "730" in html
        assert f'hx-get="{progress_url}"' in html
    assert "htmx" in page


def test_a_finished_runs_progress_stops_polling(billing_staff: Client) -> None:
    company_with_lines(1)
    run = billing_run_month(year=2026, month=9)
    progress_url = reverse("admin:billing_billingrun_progress", args=[run.pk])

    fragment = billing_staff.get(progress_url).content.decode()

    assert 'value="100"' in fragment
    assert "hx-get" not in fragment
    assert str(run.get_status_display()) in fragment


def test_the_list_shows_each_runs_progress_and_refreshes_while_one_runs(billing_staff: Client) -> None:
    running_run(chunks=4, done=1, invoices=10)
    url = reverse("admin:billing_billingrun_changelist")

    while_running = billing_staff.get(url).content.decode()
    BillingRun.objects.update(status=BillingRunStatus.DONE, chunks_done=4)
    after = billing_staff.get(url).content.decode()

    assert '<progress max="100" value="25"' in while_running
    assert 'hx-trigger="every 5s"' in while_running
    assert '<progress max="100" value="100"' in after
    assert 'hx-trigger="every 5s"' not in after


def test_the_progress_fragment_is_for_staff_who_may_see_runs(
    client: Client, staff_groups: None, billing_staff: Client
) -> None:
    run = running_run(chunks=2, done=1, invoices=1)
    url = reverse("admin:billing_billingrun_progress", args=[run.pk])

    assert billing_staff.get(url).status_code == 200
    billing_staff.logout()
    assert billing_staff.get(url).status_code == 302  # to the admin's login
