"""The API of activation orders: the customer's orders and "Keep me updated"; the provisioning system's step reports."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from rest_framework.test import APIClient

from procedures.models import ActivationOrder, ActivationStep, ActivationStepEvent
from selfcare.models import Channel, Notification
from tests.cast import Cast
from tests.procedures.activation_helpers import (
    advance_to,
    make_order,
    procedures_staff,
    rossi_order_of_line_user,
)

pytestmark = pytest.mark.django_db

ROME = ZoneInfo("Europe/Rome")
TODAY = datetime(2026, 12, 2, 10, 0, tzinfo=ROME)
STEPS = "/api/v1/activations/steps/"


@pytest.fixture(autouse=True)
def today(time_machine: Any) -> None:
    time_machine.move_to(TODAY, tick=False)


def staff_api_client(group: str = "Procedures") -> APIClient:
    client = APIClient()
    client.force_login(
        procedures_staff(email=f"{group.lower().replace(' ', '.')}@operatore.example.it", group=group)
    )
    return client


# ---------------------------------------------------------------------------
# The customer
# ---------------------------------------------------------------------------
def test_the_list_has_the_orders_with_their_timeline_and_compensation(
    cast: Cast, api_client_for: Any
) -> None:
    late = make_order(cast.rossi, promised_on=date(2026, 11, 29), services=2)
    make_order(cast.bianchi)

    body = api_client_for(cast.rossi_admin).get("/api/v1/activations/").json()

    (order,) = body["results"]
    assert order["reference"] == late.reference
    assert order["step"] == "received"
    assert order["compensation"] == {
        "late": True,
        "days_late": 3,
        "services": 2,
        "daily_per_service": "15.00",
        "amount": "90.00",
        "final": False,
        "credited": False,
    }
    assert [(entry["step"], entry["state"]) for entry in order["timeline"]][:2] == [
        ("received", "current"),
        ("documents_checked", "upcoming"),
    ]


def test_a_line_user_lists_only_the_orders_of_assigned_lines(cast: Cast, api_client_for: Any) -> None:
    theirs = rossi_order_of_line_user(cast)
    other = make_order(cast.rossi)
    client = api_client_for(cast.rossi_line_user)

    listed = client.get("/api/v1/activations/").json()["results"]

    assert [order["id"] for order in listed] == [theirs.pk]
    assert client.get(f"/api/v1/activations/{other.pk}/").status_code == 404


def test_the_list_filters_by_status(cast: Cast, api_client_for: Any) -> None:
    late = make_order(cast.rossi, promised_on=date(2026, 11, 29))
    active = advance_to(make_order(cast.rossi, promised_on=date(2026, 12, 20)), ActivationStep.ACTIVE)
    client = api_client_for(cast.rossi_admin)

    def ids(query: str) -> set[int]:
        return {order["id"] for order in client.get(f"/api/v1/activations/?{query}").json()["results"]}

    assert ids("status=late") == {late.pk}
    assert ids("status=active") == {active.pk}
    assert ids("status=open") == {late.pk}
    assert client.get("/api/v1/activations/?status=nonsense").status_code == 400


def test_keep_me_updated_through_the_api(cast: Cast, api_client_for: Any) -> None:
    order = rossi_order_of_line_user(cast)
    client = api_client_for(cast.rossi_line_user)
    url = f"/api/v1/activations/{order.pk}/keep-me-updated/"

    response = client.put(url, {"enabled": True, "sms_to": "+39 333 123 4567"}, format="json")
    refused = client.put(url, {"enabled": True, "sms_to": "+39 06 1234 5678"}, format="json")

    assert response.status_code == 200
    assert (response.json()["keep_me_updated"], response.json()["updates_to_me"]) == (True, True)
    assert response.json()["updates_sms_to"] == "+393331234567"
    assert refused.status_code == 400
    assert list(refused.json()) == ["sms_to"]
    # Someone else of the company sees that the order is followed, not the colleague's number.
    seen_by_admin = api_client_for(cast.rossi_admin).get(f"/api/v1/activations/{order.pk}/").json()
    assert (
        seen_by_admin["keep_me_updated"],
        seen_by_admin["updates_to_me"],
        seen_by_admin["updates_sms_to"],
    ) == (
        True,
        False,
        "",
    )


def test_another_companys_order_is_404_on_every_method(cast: Cast, api_client_for: Any) -> None:
    theirs = make_order(cast.bianchi)
    client = api_client_for(cast.rossi_legal_rep)

    for url in (f"/api/v1/activations/{theirs.pk}/", f"/api/v1/activations/{theirs.pk}/keep-me-updated/"):
        for method in ("get", "post", "put", "patch", "delete"):
            assert getattr(client, method)(url, {"enabled": True}, format="json").status_code == 404, (
                method,
                url,
            )
    theirs.refresh_from_db()
    assert theirs.keep_me_updated is False


# ---------------------------------------------------------------------------
# The provisioning system
# ---------------------------------------------------------------------------
def test_the_provisioning_system_reports_a_step_once(cast: Cast) -> None:
    order = rossi_order_of_line_user(cast)
    ActivationOrder.objects.filter(pk=order.pk).update(
        keep_me_updated=True, updates_to=cast.rossi_line_user.user
    )
    client = staff_api_client()
    report = {"reference": order.reference, "step": "documents_checked", "note": "All documents received"}

    first = client.post(STEPS, report, format="json")
    retried = client.post(STEPS, report, format="json")

    assert first.status_code == 201
    assert first.json()["recorded"] is True
    assert retried.status_code == 200
    assert retried.json()["recorded"] is False
    assert ActivationStepEvent.objects.filter(order=order, step="documents_checked").count() == 1
    assert Notification.objects.filter(event="activation_step", channel=Channel.EMAIL).count() == 1


def test_a_step_out_of_order_is_a_conflict(cast: Cast) -> None:
    order = make_order(cast.rossi)

    response = staff_api_client().post(STEPS, {"reference": order.reference, "step": "active"}, format="json")

    assert response.status_code == 409
    order.refresh_from_db()
    assert order.step == ActivationStep.RECEIVED


def test_an_unknown_reference_is_404(cast: Cast) -> None:
    response = staff_api_client().post(
        STEPS, {"reference": "ATT-1999-000001", "step": "failed"}, format="json"
    )

    assert response.status_code == 404


def test_customers_and_staff_without_the_permission_cannot_report_steps(
    cast: Cast, api_client_for: Any
) -> None:
    order = make_order(cast.rossi)
    report = {"reference": order.reference, "step": "failed"}

    assert api_client_for(cast.rossi_legal_rep).post(STEPS, report, format="json").status_code == 403
    assert staff_api_client("Customer care").post(STEPS, report, format="json").status_code == 403
    assert APIClient().post(STEPS, report, format="json").status_code == 401
    order.refresh_from_db()
    assert order.step == ActivationStep.RECEIVED
