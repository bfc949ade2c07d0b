"""The customer's activation pages, and staff's step advance in the admin."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from django.test import Client
from django.urls import reverse

from procedures.activation import activation_step_advance, activation_updates_set
from procedures.models import ActivationOrder, ActivationStep, ActivationStepEvent
from selfcare.models import Channel, Notification
from tests.cast import Cast
from tests.conftest import log_in
from tests.procedures.activation_helpers import (
    advance_to,
    make_order,
    procedures_staff,
    rossi_order_of_line_user,
)

pytestmark = pytest.mark.django_db

ROME = ZoneInfo("Europe/Rome")
TODAY = datetime(2026, 12, 2, 10, 0, tzinfo=ROME)
LIST = "/activations/"


@pytest.fixture(autouse=True)
def today(time_machine: Any) -> None:
    time_machine.move_to(TODAY, tick=False)


def page_client(client: Client, membership: Any) -> Client:
    log_in(client, membership)
    client.defaults["HTTP_ACCEPT_LANGUAGE"] = "en"
    return client


def detail_url(order: ActivationOrder) -> str:
    return reverse("procedures:activation-detail", args=[order.pk])


# ---------------------------------------------------------------------------
# The list
# ---------------------------------------------------------------------------
def test_the_list_says_so_when_there_is_no_order(cast: Cast, client: Client) -> None:
    response = page_client(client, cast.rossi_admin).get(LIST)

    assert response.status_code == 200
    assert 'id="activation-empty"' in response.content.decode()


def test_the_list_shows_the_orders_with_their_step_late_badge_and_compensation(
    cast: Cast, client: Client
) -> None:
    late = make_order(cast.rossi, promised_on=date(2026, 11, 29), services=2)
    on_time = make_order(cast.rossi, promised_on=date(2026, 12, 20))

    body = page_client(client, cast.rossi_admin).get(LIST).content.decode()

    assert late.reference in body
    assert on_time.reference in body
    late_row = body.split(f'id="order-{late.pk}"')[1].split("</tr>")[0]
    on_time_row = body.split(f'id="order-{on_time.pk}"')[1].split("</tr>")[0]
    assert "activation-late" in late_row
    assert "€ 90.00" in late_row
    assert "activation-late" not in on_time_row


def test_a_line_user_sees_only_the_orders_of_lines_assigned_to_them(cast: Cast, client: Client) -> None:
    theirs = rossi_order_of_line_user(cast)
    other = make_order(cast.rossi)

    body = page_client(client, cast.rossi_line_user).get(LIST).content.decode()

    assert theirs.reference in body
    assert other.reference not in body
    assert client.get(detail_url(other)).status_code == 404


def test_the_filter_narrows_the_list_and_keeps_its_value(cast: Cast, client: Client) -> None:
    late = make_order(cast.rossi, promised_on=date(2026, 11, 29))
    active = advance_to(make_order(cast.rossi, promised_on=date(2026, 12, 20)), ActivationStep.ACTIVE)

    body = page_client(client, cast.rossi_admin).get(LIST, {"status": "late"}).content.decode()
    assert late.reference in body
    assert active.reference not in body
    body = client.get(LIST, {"status": "active"}).content.decode()
    assert active.reference in body
    assert late.reference not in body
    assert '<option value="active" selected>' in body


def test_the_list_pages_with_a_constant_number_of_queries(
    cast: Cast, client: Client, pinned_queries: Any
) -> None:
    page_client(client, cast.rossi_admin)
    for _ in range(2):
        make_order(cast.rossi)
    few = pinned_queries(LIST, queries=QUERIES_OF_THE_LIST)
    for _ in range(25):
        make_order(cast.rossi)

    many = pinned_queries(LIST, queries=QUERIES_OF_THE_LIST)

    assert few.context["page"].paginator.count == 2
    assert many.context["page"].paginator.count == 27
    assert len(many.context["rows"]) == 20
    assert "page=2" in many.content.decode()


# Session, user, membership and the page's furniture, the count and the rows: none per order.
QUERIES_OF_THE_LIST = 10


# ---------------------------------------------------------------------------
# An order
# ---------------------------------------------------------------------------
def test_the_order_page_shows_the_timeline_reached_current_and_to_come(cast: Cast, client: Client) -> None:
    order = make_order(cast.rossi, promised_on=date(2026, 11, 30))
    activation_step_advance(
        order=order, step=ActivationStep.DOCUMENTS_CHECKED, at=datetime(2026, 11, 5, 11, 15, tzinfo=ROME)
    )

    body = page_client(client, cast.rossi_admin).get(detail_url(order)).content.decode()

    timeline = body.split('id="order-timeline"')[1].split("</ol>")[0]
    assert 'class="list-group-item activation-step-done" id="step-received"' in timeline
    assert 'activation-step-current active" aria-current="step" id="step-documents_checked"' in timeline
    assert 'class="list-group-item activation-step-upcoming" id="step-active"' in timeline
    assert "Nov. 5, 2026, 11:15 a.m." in timeline
    assert "2 days late" in body
    assert "€ 30.00" in body


def test_a_failed_order_shows_where_it_failed_and_what_it_never_reached(cast: Cast, client: Client) -> None:
    order = make_order(cast.rossi, promised_on=date(2026, 12, 20))
    activation_step_advance(order=order, step=ActivationStep.FAILED, note="No fibre in the building")

    body = page_client(client, cast.rossi_admin).get(detail_url(order)).content.decode()

    timeline = body.split('id="order-timeline"')[1].split("</ol>")[0]
    assert (
        timeline.index('id="step-received"')
        < timeline.index('id="step-failed"')
        < timeline.index('id="step-documents_checked"')
    )
    assert 'activation-step-not_reached" id="step-active"' in timeline
    assert "No fibre in the building" in timeline
    assert 'id="activation-updates-form"' not in body


def test_keep_me_updated_is_saved_with_a_confirmation(cast: Cast, client: Client) -> None:
    order = rossi_order_of_line_user(cast)
    page_client(client, cast.rossi_line_user)

    response = client.post(
        reverse("procedures:activation-updates", args=[order.pk]),
        {"keep_me_updated": "on", "sms_to": "333 123 4567"},
        follow=True,
    )

    assert response.redirect_chain == [(detail_url(order), 302)]
    assert "by SMS to +393331234567" in response.content.decode()
    order.refresh_from_db()
    assert (order.keep_me_updated, order.updates_to, order.updates_sms_to) == (
        True,
        cast.rossi_line_user.user,
        "+393331234567",
    )
    assert 'name="keep_me_updated" id="id_keep_me_updated" value="on"' in response.content.decode()


def test_a_wrong_number_is_a_clear_error_and_what_was_typed_stays(cast: Cast, client: Client) -> None:
    order = rossi_order_of_line_user(cast)
    page_client(client, cast.rossi_admin)

    response = client.post(
        reverse("procedures:activation-updates", args=[order.pk]),
        {"keep_me_updated": "on", "sms_to": "06 1234 5678"},
    )

    assert response.status_code == 400
    body = response.content.decode()
    assert "not a mobile number" in body
    assert 'value="06 1234 5678"' in body
    order.refresh_from_db()
    assert order.keep_me_updated is False


def test_the_keep_me_updated_page_refuses_get(cast: Cast, client: Client) -> None:
    order = make_order(cast.rossi)

    response = page_client(client, cast.rossi_admin).get(
        reverse("procedures:activation-updates", args=[order.pk])
    )

    assert response.status_code == 405


def test_another_companys_order_is_404(cast: Cast, client: Client) -> None:
    theirs = make_order(cast.bianchi)
    page_client(client, cast.rossi_legal_rep)

    assert client.get(detail_url(theirs)).status_code == 404
    response = client.post(
        reverse("procedures:activation-updates", args=[theirs.pk]), {"keep_me_updated": "on"}
    )
    assert response.status_code == 404
    theirs.refresh_from_db()
    assert theirs.keep_me_updated is False


def test_the_page_works_in_italian(cast: Cast, client: Client) -> None:
    order = make_order(cast.rossi)
    log_in(client, cast.rossi_admin)

    response = client.get(detail_url(order), HTTP_ACCEPT_LANGUAGE="it")

    assert response.status_code == 200
    assert response.headers["Content-Language"] == "it"


# ---------------------------------------------------------------------------
# The admin
# ---------------------------------------------------------------------------
def admin_client(client: Client) -> Client:
    client.force_login(procedures_staff())
    client.defaults["HTTP_ACCEPT_LANGUAGE"] = "en"
    return client


def test_staff_advance_a_step_and_a_second_save_records_and_tells_nothing_new(
    cast: Cast, client: Client
) -> None:
    order = rossi_order_of_line_user(cast)
    activation_updates_set(order=order, membership=cast.rossi_line_user, enabled=True, sms_to="+393331234567")
    admin_client(client)
    url = reverse("admin:procedures_activationorder_advance", args=[order.pk])
    form = client.get(url)
    assert form.status_code == 200
    assert 'value="documents_checked"' in form.content.decode()
    assert 'value="technical_check"' not in form.content.decode()

    first = client.post(url, {"step": "documents_checked", "note": "Documents fine"}, follow=True)
    second = client.post(url, {"step": "documents_checked", "note": "Documents fine"}, follow=True)

    assert "is now at “Documents checked”" in first.content.decode()
    assert "already reached “Documents checked”: nothing changed" in second.content.decode()
    event = ActivationStepEvent.objects.get(order=order, step="documents_checked")
    assert event.note == "Documents fine"
    assert event.by is not None
    assert event.by.is_staff
    assert Notification.objects.filter(event="activation_step", channel=Channel.SMS).count() == 1


def test_staff_cannot_skip_a_step_in_the_admin(cast: Cast, client: Client) -> None:
    order = make_order(cast.rossi)
    admin_client(client)

    response = client.post(
        reverse("admin:procedures_activationorder_advance", args=[order.pk]),
        {"step": "installed"},
        follow=True,
    )

    assert "cannot go to “Installed”" in response.content.decode()
    order.refresh_from_db()
    assert order.step == ActivationStep.RECEIVED


def test_the_admin_shows_late_orders_and_their_compensation_and_timeline(cast: Cast, client: Client) -> None:
    late = make_order(cast.rossi, promised_on=date(2026, 11, 29), services=2)
    make_order(cast.rossi, promised_on=date(2026, 12, 20))
    admin_client(client)

    listed = client.get(reverse("admin:procedures_activationorder_changelist"), {"late": "yes"})
    page = client.get(reverse("admin:procedures_activationorder_change", args=[late.pk]))

    assert listed.status_code == 200
    assert listed.context["cl"].result_count == 1
    assert "90.00 so far" in listed.content.decode()
    assert page.status_code == 200
    assert 'id="activation-advance-link"' in page.content.decode()
    assert "Order received" in page.content.decode()


def test_customer_care_see_orders_but_cannot_advance_them(cast: Cast, client: Client) -> None:
    order = make_order(cast.rossi)
    client.force_login(procedures_staff(email="care@operatore.example.it", group="Customer care"))

    page = client.get(reverse("admin:procedures_activationorder_change", args=[order.pk]))
    refused = client.post(
        reverse("admin:procedures_activationorder_advance", args=[order.pk]), {"step": "failed"}
    )

    assert page.status_code == 200
    assert 'id="activation-advance-link"' not in page.content.decode()
    assert refused.status_code == 403
    order.refresh_from_db()
    assert order.step == ActivationStep.RECEIVED
