"""Residual credit of prepaid lines: movements, the low-credit alert, recharge pages and API, scope."""

from __future__ import annotations

from decimal import Decimal
from io import StringIO
from typing import Any

import pytest
from django.core.exceptions import ValidationError
from django.core.management import call_command
from django.test import Client
from django.urls import reverse

from billing.models import Payment
from selfcare.demo_credit import seed_credit
from selfcare.models import CreditMovement, CreditMovementKind, Line, LineStatus, Notification
from selfcare.services.credit import (
    credit_apply,
    low_credit_threshold_set,
    recharge_start,
)
from tests.billing.helpers import make_prepaid, pending_recharge, post_callback
from tests.cast import Cast

pytestmark = pytest.mark.django_db

EN = {"HTTP_ACCEPT_LANGUAGE": "en"}


@pytest.fixture
def line(cast: Cast) -> Line:
    return make_prepaid(cast.rossi_assigned_line, balance="12.00", threshold="5.00")


def low_credit_alerts(line: Line) -> list[Notification]:
    return list(
        Notification.objects.filter(
            event="low_credit", channel="inbox", dedupe_key__contains=f"line-{line.pk}-"
        )
    )


# ---------------------------------------------------------------------------
# Movements and the balance
# ---------------------------------------------------------------------------
def test_each_movement_records_the_balance_after_it(line: Line) -> None:
    amounts = ["-2.50", "10.00", "-0.75", "-12.00"]

    movements = [
        credit_apply(line=line, amount=Decimal(amount), kind=CreditMovementKind.USAGE) for amount in amounts
    ]

    line.refresh_from_db()
    assert line.credit_balance == Decimal("6.75")
    assert [m.balance_after for m in movements] == [
        Decimal("9.50"),
        Decimal("19.50"),
        Decimal("18.75"),
        Decimal("6.75"),
    ]
    running = Decimal("12.00")
    for movement in CreditMovement.objects.filter(line=line).order_by("id"):
        running += movement.amount
        assert movement.balance_after == running


def test_a_movement_with_a_payment_already_credited_credits_nothing(line: Line) -> None:
    first = credit_apply(
        line=line, amount=Decimal("20.00"), kind=CreditMovementKind.RECHARGE, payment_reference="abc"
    )
    again = credit_apply(
        line=line, amount=Decimal("20.00"), kind=CreditMovementKind.RECHARGE, payment_reference="abc"
    )

    line.refresh_from_db()
    assert again.pk == first.pk
    assert line.credit_balance == Decimal("32.00")


# ---------------------------------------------------------------------------
# The low-credit alert
# ---------------------------------------------------------------------------
def test_the_low_credit_alert_is_sent_once_below_cleared_by_a_recharge_and_sent_again_below(
    cast: Cast, client: Client, line: Line
) -> None:
    credit_apply(line=line, amount=Decimal("-8.00"), kind=CreditMovementKind.USAGE)  # 4.00: below 5.00
    credit_apply(line=line, amount=Decimal("-1.00"), kind=CreditMovementKind.USAGE)  # 3.00: still below
    alerts = low_credit_alerts(line)
    assert len(alerts) == 1
    assert alerts[0].user == cast.rossi_line_user.user
    assert alerts[0].read_at is None

    post_callback(client, pending_recharge(line, amount="10.00"))  # 13.00: above again

    assert low_credit_alerts(line)[0].read_at is not None
    credit_apply(line=line, amount=Decimal("-9.00"), kind=CreditMovementKind.USAGE)  # 4.00: below again
    assert len(low_credit_alerts(line)) == 2


def test_a_line_nobody_has_alerts_those_who_manage_the_lines(cast: Cast) -> None:
    other = make_prepaid(cast.rossi_other_line, balance="6.00", threshold="5.00")

    credit_apply(line=other, amount=Decimal("-2.00"), kind=CreditMovementKind.USAGE)

    assert {n.user for n in low_credit_alerts(other)} == {cast.rossi_admin.user, cast.rossi_legal_rep.user}


def test_a_threshold_set_above_the_balance_alerts_at_once(cast: Cast, line: Line) -> None:
    low_credit_threshold_set(line=line, threshold=Decimal("20.00"), actor=cast.rossi_line_user)

    line.refresh_from_db()
    assert line.low_credit_threshold == Decimal("20.00")
    assert len(low_credit_alerts(line)) == 1


def test_the_threshold_form_sets_and_removes_the_alert(cast: Cast, client_as: Any, line: Line) -> None:
    client = client_as(cast.rossi_line_user)
    url = reverse("selfcare:line-credit-threshold", args=[line.pk])

    set_response = client.post(url, {"threshold": "7.50"}, **EN)
    line.refresh_from_db()
    assert set_response.status_code == 302
    assert line.low_credit_threshold == Decimal("7.50")

    client.post(url, {"threshold": ""}, **EN)
    line.refresh_from_db()
    assert line.low_credit_threshold is None


def test_a_negative_threshold_is_refused_and_nothing_changes(cast: Cast, client_as: Any, line: Line) -> None:
    response = client_as(cast.rossi_line_user).post(
        reverse("selfcare:line-credit-threshold", args=[line.pk]), {"threshold": "-1"}, **EN
    )

    assert response.status_code == 400
    line.refresh_from_db()
    assert line.low_credit_threshold == Decimal("5.00")


# ---------------------------------------------------------------------------
# Recharge: limits and kinds of line
# ---------------------------------------------------------------------------
def test_a_recharge_below_the_minimum_is_refused_with_a_clear_message_and_nothing_created(
    cast: Cast, client_as: Any, line: Line
) -> None:
    response = client_as(cast.rossi_line_user).post(
        reverse("selfcare:line-recharge", args=[line.pk]), {"amount": "4.99"}, **EN
    )

    assert response.status_code == 400
    assert "The minimum recharge is €5.00." in response.content.decode()
    assert not Payment.objects.exists()


def test_a_recharge_above_the_maximum_is_refused(cast: Cast, line: Line) -> None:
    with pytest.raises(ValidationError) as refusal:
        recharge_start(line=line, amount=Decimal("150.01"), actor=cast.rossi_line_user)

    assert "amount" in refusal.value.message_dict
    assert not Payment.objects.exists()


def test_a_postpaid_line_cannot_be_recharged_and_says_its_traffic_is_invoiced(
    cast: Cast, client_as: Any
) -> None:
    postpaid = cast.rossi_other_line
    client = client_as(cast.rossi_admin)

    page = client.get(reverse("selfcare:line-recharge", args=[postpaid.pk]), **EN)
    refused = client.post(reverse("selfcare:line-recharge", args=[postpaid.pk]), {"amount": "20.00"}, **EN)
    line_page = client.get(reverse("selfcare:line-detail", args=[postpaid.pk]), **EN)

    assert "its traffic is invoiced" in page.content.decode()
    assert refused.status_code == 400
    assert not Payment.objects.exists()
    assert "its traffic is invoiced" in line_page.content.decode()


def test_a_ceased_line_cannot_be_recharged(cast: Cast, line: Line) -> None:
    Line.objects.filter(pk=line.pk).update(status=LineStatus.CEASED)
    line.refresh_from_db()

    with pytest.raises(ValidationError):
        recharge_start(line=line, amount=Decimal("20.00"), actor=cast.rossi_admin)


def test_a_usual_amount_button_starts_a_recharge_of_that_amount(
    cast: Cast, client_as: Any, line: Line
) -> None:
    response = client_as(cast.rossi_line_user).post(
        reverse("selfcare:line-recharge", args=[line.pk]), {"cut": "30.00", "amount": "7"}
    )

    assert response.status_code == 302
    assert Payment.objects.get().amount == Decimal("30.00")


def test_without_a_payment_provider_the_recharge_says_payments_are_unavailable(
    cast: Cast, client_as: Any, line: Line, settings: Any
) -> None:
    settings.PAYMENT_PROVIDER = ""

    response = client_as(cast.rossi_line_user).post(
        reverse("selfcare:line-recharge", args=[line.pk]), {"amount": "20.00"}, **EN
    )

    assert response.status_code == 400
    assert "Online payments are not available" in response.content.decode()
    assert not Payment.objects.exists()


# ---------------------------------------------------------------------------
# Pages
# ---------------------------------------------------------------------------
def test_the_line_page_shows_the_balance_the_alert_and_the_last_movements(
    cast: Cast, client_as: Any, line: Line
) -> None:
    credit_apply(line=line, amount=Decimal("-8.00"), kind=CreditMovementKind.USAGE, description="Traffico")

    page = client_as(cast.rossi_line_user).get(reverse("selfcare:line-detail", args=[line.pk]), **EN)

    html = page.content.decode()
    assert "€ 4.00" in html
    assert 'id="low-credit-alert"' in html
    assert "Traffico" in html
    assert reverse("selfcare:line-recharge", args=[line.pk]) in html


def test_the_movements_page_is_paginated(cast: Cast, client_as: Any, line: Line) -> None:
    for _ in range(30):
        credit_apply(line=line, amount=Decimal("1.00"), kind=CreditMovementKind.ADJUSTMENT)
    client = client_as(cast.rossi_line_user)

    first = client.get(reverse("selfcare:line-credit", args=[line.pk]), **EN)
    second = client.get(reverse("selfcare:line-credit", args=[line.pk]) + "?page=2", **EN)

    assert first.content.decode().count("<tr>") == 26  # the header and 25 movements
    assert second.content.decode().count("<tr>") == 6


# ---------------------------------------------------------------------------
# Scope: a line user's lines only, another company's never
# ---------------------------------------------------------------------------
CREDIT_ROUTES = ["selfcare:line-credit", "selfcare:line-credit-threshold", "selfcare:line-recharge"]


@pytest.mark.parametrize("route", CREDIT_ROUTES)
def test_a_line_user_reaches_no_credit_page_of_a_line_not_assigned_to_them(
    cast: Cast, client_as: Any, route: str
) -> None:
    other = make_prepaid(cast.rossi_other_line, balance="9.00")
    client = client_as(cast.rossi_line_user)
    url = reverse(route, args=[other.pk])

    answers = {
        method: getattr(client, method)(url, {"amount": "20.00", "threshold": "1"}).status_code
        for method in ("get", "post")
    }

    assert answers == {"get": 404, "post": 404}
    assert not Payment.objects.exists()


@pytest.mark.parametrize("role", ["rossi_legal_rep", "rossi_admin", "rossi_line_user"])
@pytest.mark.parametrize("route", CREDIT_ROUTES)
def test_another_companys_line_is_404_on_every_credit_page(
    cast: Cast, client_as: Any, role: str, route: str
) -> None:
    bianchi_line = make_prepaid(cast.bianchi_line, balance="9.00", threshold="1.00")
    client = client_as(getattr(cast, role))
    url = reverse(route, args=[bianchi_line.pk])

    answers = {
        method: getattr(client, method)(url, {"amount": "20.00", "threshold": "50"}).status_code
        for method in ("get", "post")
    }

    assert answers == {"get": 404, "post": 404}
    bianchi_line.refresh_from_db()
    assert bianchi_line.low_credit_threshold == Decimal("1.00")
    assert not Payment.objects.exists()


@pytest.mark.parametrize("role", ["rossi_legal_rep", "rossi_admin"])
def test_administrators_recharge_any_prepaid_line_of_the_company(
    cast: Cast, client_as: Any, role: str
) -> None:
    other = make_prepaid(cast.rossi_other_line)

    response = client_as(getattr(cast, role)).post(
        reverse("selfcare:line-recharge", args=[other.pk]), {"amount": "20.00"}
    )

    assert response.status_code == 302
    assert Payment.objects.get().created_by == getattr(cast, role).user


# ---------------------------------------------------------------------------
# API
# ---------------------------------------------------------------------------
def test_the_api_gives_the_balance_the_threshold_and_the_movements_newest_first(
    cast: Cast, api_client_for: Any, line: Line
) -> None:
    credit_apply(line=line, amount=Decimal("-1.00"), kind=CreditMovementKind.USAGE)
    credit_apply(line=line, amount=Decimal("-2.00"), kind=CreditMovementKind.USAGE)

    response = api_client_for(cast.rossi_line_user).get(f"/api/v1/lines/{line.pk}/credit/")

    assert response.status_code == 200
    body = response.json()
    assert body["balance"] == "9.00"
    assert body["low_credit_threshold"] == "5.00"
    assert body["low_credit"] is False
    assert [m["amount"] for m in body["results"]] == ["-2.00", "-1.00"]


def test_the_api_starts_a_recharge_and_answers_the_payment_page(
    cast: Cast, api_client_for: Any, line: Line
) -> None:
    response = api_client_for(cast.rossi_line_user).post(
        f"/api/v1/lines/{line.pk}/recharge/", {"amount": "25.00"}, format="json"
    )

    assert response.status_code == 201
    payment = Payment.objects.get()
    assert response.json()["payment_page"].startswith(
        f"http://testserver/payments/sandbox/{payment.reference}/"
    )
    assert response.json()["amount"] == "25.00"


def test_the_api_refuses_a_recharge_below_the_minimum(cast: Cast, api_client_for: Any, line: Line) -> None:
    response = api_client_for(cast.rossi_line_user).post(
        f"/api/v1/lines/{line.pk}/recharge/", {"amount": "2.00"}, format="json", HTTP_ACCEPT_LANGUAGE="en"
    )

    assert response.status_code == 400
    assert response.json() == {"amount": ["The minimum recharge is €5.00."]}
    assert not Payment.objects.exists()


def test_the_api_says_a_postpaid_line_has_no_credit(cast: Cast, api_client_for: Any) -> None:
    client = api_client_for(cast.rossi_admin)

    credit = client.get(f"/api/v1/lines/{cast.rossi_other_line.pk}/credit/")
    recharge = client.post(
        f"/api/v1/lines/{cast.rossi_other_line.pk}/recharge/", {"amount": "20.00"}, format="json"
    )

    assert credit.status_code == 409
    assert recharge.status_code == 400
    assert not Payment.objects.exists()


@pytest.mark.parametrize("path", ["credit", "recharge"])
def test_the_api_answers_404_for_a_line_not_assigned_to_a_line_user(
    cast: Cast, api_client_for: Any, path: str
) -> None:
    other = make_prepaid(cast.rossi_other_line)
    client = api_client_for(cast.rossi_line_user)

    answers = [
        client.get(f"/api/v1/lines/{other.pk}/{path}/").status_code,
        client.post(f"/api/v1/lines/{other.pk}/{path}/", {"amount": "20.00"}, format="json").status_code,
    ]

    assert answers == [404, 404]
    assert not Payment.objects.exists()


# ---------------------------------------------------------------------------
# Demo data
# ---------------------------------------------------------------------------
def test_the_demo_credit_is_added_once_and_leaves_a_line_below_its_threshold(db: None) -> None:
    call_command("seed_demo", stdout=StringIO())
    movements = CreditMovement.objects.count()

    added_again = seed_credit(stdout=StringIO())

    assert movements > 0
    assert added_again == 0
    assert CreditMovement.objects.count() == movements
    lines = Line.objects.filter(credit_movements__isnull=False).distinct()
    assert any(line.credit_balance < (line.low_credit_threshold or 0) for line in lines)
    for line in lines:
        last = CreditMovement.objects.filter(line=line).order_by("-id").first()
        assert last is not None
        assert last.balance_after == line.credit_balance
