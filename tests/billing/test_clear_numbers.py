"""Requests for the other party's numbers in clear: the legal representative asks, staff decide (docs/traffic.md)."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from auditlog.models import LogEntry
from django.contrib.auth.models import Group
from django.core.exceptions import ValidationError
from django.test import Client
from django.urls import reverse

from billing.clear_numbers import (
    ClearNumbersAlreadyDecidedError,
    ClearNumbersNotAllowedError,
    ClearWindow,
    clear_numbers_approve,
    clear_numbers_earliest_day,
    clear_numbers_last_invoiced_day,
    clear_numbers_reject,
    clear_numbers_request,
    clear_windows_for,
)
from billing.models import ClearNumbersRequest, ClearNumbersStatus, InvoiceKind
from procedures.models import Request
from procedures.services import request_approve, request_reject, request_submit
from selfcare.models import LineStatus, Membership, Notification, User
from tests.billing.invoices import make_invoice
from tests.cast import Cast
from tests.conftest import log_in
from tests.factories import LineFactory, UserFactory, give_totp
from tests.procedures import requests_helpers

pytestmark = pytest.mark.django_db


# The requests' fixtures, shared with the mechanism's tests.
private_storage = requests_helpers.private_storage

PAGE = "billing:clear-numbers"
API = "/api/v1/traffic/clear-numbers/"
ROME = ZoneInfo("Europe/Rome")
# Today, for every test here: six months back is 2 June, and November is the last invoiced month.
TODAY = datetime(2026, 12, 2, 10, 0, tzinfo=ROME)
EARLIEST = date(2026, 6, 2)
LAST_INVOICED = date(2026, 11, 30)


@pytest.fixture(autouse=True)
def today(time_machine: Any) -> None:
    time_machine.move_to(TODAY, tick=False)


@pytest.fixture
def invoiced(cast: Cast) -> None:
    """Rossi has its invoices up to November 2026; Bianchi's December invoice must not count for Rossi."""
    make_invoice(cast.rossi, year=2026, month=10)
    make_invoice(cast.rossi, year=2026, month=11)
    make_invoice(cast.bianchi, year=2026, month=12)


def ask(cast: Cast, **overrides: Any) -> ClearNumbersRequest:
    values: dict[str, Any] = {
        "membership": cast.rossi_legal_rep,
        "line_ids": [cast.rossi_assigned_line.pk, cast.rossi_other_line.pk],
        "period_start": date(2026, 9, 1),
        "period_end": date(2026, 10, 31),
        "users_informed": True,
        **overrides,
    }
    return clear_numbers_request(**values)


def refusal(cast: Cast, **overrides: Any) -> dict[str, list[str]]:
    with pytest.raises(ValidationError) as refused:
        ask(cast, **overrides)
    assert not ClearNumbersRequest.objects.exists()
    return refused.value.message_dict


def staff_of(group: str) -> User:
    staff = UserFactory.create(email=f"{group.lower().replace(' ', '.')}@operatore.example.it", is_staff=True)
    give_totp(staff)
    staff.groups.add(Group.objects.get(name=group))
    return staff


def staff_client(client: Client, group: str) -> Client:
    client.force_login(staff_of(group))
    # The messages below are asserted in English; the admin would answer in Italian.
    client.defaults["HTTP_ACCEPT_LANGUAGE"] = "en"
    return client


def page_client(client: Client, membership: Membership) -> Client:
    log_in(client, membership)
    client.defaults["HTTP_ACCEPT_LANGUAGE"] = "en"
    return client


# ---------------------------------------------------------------------------
# The request: who, which lines, the declaration, the period
# ---------------------------------------------------------------------------
def test_the_legal_rep_asks_and_the_request_waits_for_staff_recorded_and_audited(
    cast: Cast, invoiced: None
) -> None:
    asked = ask(cast)

    asked.refresh_from_db()
    assert asked.company == cast.rossi
    assert asked.requested_by == cast.rossi_legal_rep.user
    assert asked.status == ClearNumbersStatus.PENDING
    assert asked.users_informed is True
    assert set(asked.lines.all()) == {cast.rossi_assigned_line, cast.rossi_other_line}
    assert (asked.period_start, asked.period_end) == (date(2026, 9, 1), date(2026, 10, 31))
    audit = LogEntry.objects.get(additional_data__event="clear_numbers_requested")
    assert audit.actor == cast.rossi_legal_rep.user
    assert audit.additional_data["users_informed"] is True
    assert audit.additional_data["line_ids"] == sorted(
        [cast.rossi_assigned_line.pk, cast.rossi_other_line.pk]
    )
    # Nothing is in clear before staff decide.
    assert clear_windows_for(cast.rossi_legal_rep) == []


@pytest.mark.parametrize("role", ["rossi_admin", "rossi_line_user"])
def test_only_the_legal_rep_may_ask(cast: Cast, invoiced: None, role: str) -> None:
    with pytest.raises(ClearNumbersNotAllowedError) as refused:
        ask(cast, membership=getattr(cast, role))

    assert str(refused.value) == "Only the company's legal representative can ask for the numbers in clear."
    assert not ClearNumbersRequest.objects.exists()


def test_a_line_of_another_company_is_refused(cast: Cast, invoiced: None) -> None:
    errors = refusal(cast, line_ids=[cast.rossi_other_line.pk, cast.bianchi_line.pk])

    assert errors == {"lines": ["Choose lines of your company only."]}


def test_at_least_one_line_is_named(cast: Cast, invoiced: None) -> None:
    assert refusal(cast, line_ids=[]) == {"lines": ["Choose at least one line."]}


def test_a_ceased_line_of_the_company_can_be_named(cast: Cast, invoiced: None) -> None:
    ceased = LineFactory.create(company=cast.rossi, status=LineStatus.CEASED, ceased_on=date(2026, 10, 15))

    asked = ask(cast, line_ids=[ceased.pk])

    assert list(asked.lines.all()) == [ceased]


def test_the_declaration_that_the_users_were_informed_is_required(cast: Cast, invoiced: None) -> None:
    errors = refusal(cast, users_informed=False)

    assert list(errors) == ["users_informed"]
    assert "informed" in errors["users_informed"][0]


def test_the_period_may_start_exactly_six_months_ago(cast: Cast, invoiced: None) -> None:
    asked = ask(cast, period_start=EARLIEST, period_end=LAST_INVOICED)

    assert (asked.period_start, asked.period_end) == (date(2026, 6, 2), date(2026, 11, 30))


def test_the_period_may_not_start_a_day_earlier(cast: Cast, invoiced: None) -> None:
    errors = refusal(cast, period_start=date(2026, 6, 1))

    assert list(errors) == ["period_start"]
    assert "last six months" in errors["period_start"][0]


def test_the_period_may_not_end_after_the_last_invoiced_month(cast: Cast, invoiced: None) -> None:
    errors = refusal(cast, period_end=date(2026, 12, 1))

    assert list(errors) == ["period_end"]
    assert "invoiced" in errors["period_end"][0]


def test_the_period_ends_after_it_starts(cast: Cast, invoiced: None) -> None:
    errors = refusal(cast, period_start=date(2026, 10, 2), period_end=date(2026, 10, 1))

    assert errors == {"period_end": ["The end of the period comes before its start."]}


def test_a_company_without_invoices_has_no_invoiced_traffic_to_ask_for(cast: Cast) -> None:
    errors = refusal(cast)

    assert list(errors) == ["period_end"]
    assert "no invoice yet" in errors["period_end"][0]


def test_credit_notes_do_not_make_a_month_invoiced(cast: Cast, invoiced: None) -> None:
    note = make_invoice(cast.rossi, year=2026, month=12)
    note.kind = InvoiceKind.CREDIT_NOTE
    note.save(update_fields=["kind"])

    assert clear_numbers_last_invoiced_day(company_id=cast.rossi.pk) == LAST_INVOICED


@pytest.mark.parametrize(
    ("day", "earliest"),
    [
        (date(2026, 12, 2), date(2026, 6, 2)),
        (date(2026, 3, 15), date(2025, 9, 15)),
        # February has no 31st: its last day.
        (date(2026, 8, 31), date(2026, 2, 28)),
        (date(2028, 8, 31), date(2028, 2, 29)),
    ],
)
def test_six_months_back_is_the_same_day_of_the_month(day: date, earliest: date) -> None:
    assert clear_numbers_earliest_day(today=day) == earliest


def test_six_months_back_is_counted_in_rome(time_machine: Any) -> None:
    # 23:30 UTC on 1 December is already 2 December in Rome.
    time_machine.move_to(datetime(2026, 12, 1, 23, 30, tzinfo=ZoneInfo("UTC")), tick=False)

    assert clear_numbers_earliest_day() == date(2026, 6, 2)


# ---------------------------------------------------------------------------
# The decision: once, audited, told to the requester; then the window is open
# ---------------------------------------------------------------------------
def test_approval_opens_the_window_for_those_who_act_for_the_company_audited_and_told(
    cast: Cast, invoiced: None, staff_groups: None
) -> None:
    asked = ask(cast, line_ids=[cast.rossi_assigned_line.pk])
    staff = staff_of("Procedures")

    clear_numbers_approve(request=asked, by=staff)

    asked.refresh_from_db()
    assert asked.status == ClearNumbersStatus.APPROVED
    assert asked.decided_by == staff
    assert asked.decided_at == TODAY
    audit = LogEntry.objects.get(additional_data__event="clear_numbers_approved")
    assert audit.actor == staff
    assert audit.object_pk == str(asked.pk)
    window = ClearWindow(
        line_id=cast.rossi_assigned_line.pk, first_day=date(2026, 9, 1), last_day=date(2026, 10, 31)
    )
    assert clear_windows_for(cast.rossi_legal_rep) == [window]
    assert clear_windows_for(cast.rossi_admin) == [window]
    # Never to a line user, not even for their own line; never to another company.
    assert clear_windows_for(cast.rossi_line_user) == []
    assert clear_windows_for(cast.bianchi_legal_rep) == []
    # The grant tells nobody itself: the request it belongs to does (procedures.services).
    assert not Notification.objects.exists()


def test_rejection_keeps_the_window_closed_and_tells_the_reason(
    cast: Cast, invoiced: None, staff_groups: None
) -> None:
    asked = ask(cast)
    staff = staff_of("Procedures")

    clear_numbers_reject(request=asked, by=staff, reason="The signature does not match our records.")

    asked.refresh_from_db()
    assert asked.status == ClearNumbersStatus.REJECTED
    assert (asked.decided_by, asked.decided_at) == (staff, TODAY)
    assert asked.rejection_reason == "The signature does not match our records."
    audit = LogEntry.objects.get(additional_data__event="clear_numbers_rejected")
    assert audit.additional_data["reason"] == "The signature does not match our records."
    assert clear_windows_for(cast.rossi_legal_rep) == []
    assert not Notification.objects.exists()


def test_a_rejection_needs_a_reason(cast: Cast, invoiced: None, staff_groups: None) -> None:
    asked = ask(cast)

    with pytest.raises(ValidationError) as refused:
        clear_numbers_reject(request=asked, by=staff_of("Procedures"), reason="  ")

    assert list(refused.value.message_dict) == ["rejection_reason"]
    asked.refresh_from_db()
    assert asked.status == ClearNumbersStatus.PENDING


@pytest.mark.parametrize("first", ["approve", "reject"])
def test_a_request_is_decided_once_only(cast: Cast, invoiced: None, staff_groups: None, first: str) -> None:
    asked = ask(cast)
    staff = staff_of("Procedures")
    if first == "approve":
        clear_numbers_approve(request=asked, by=staff)
    else:
        clear_numbers_reject(request=asked, by=staff, reason="Incomplete.")
    stale = ClearNumbersRequest.objects.get(pk=asked.pk)

    with pytest.raises(ClearNumbersAlreadyDecidedError):
        clear_numbers_approve(request=stale, by=staff)
    with pytest.raises(ClearNumbersAlreadyDecidedError):
        clear_numbers_reject(request=stale, by=staff, reason="Changed my mind.")

    assert (
        LogEntry.objects.filter(additional_data__event__startswith="clear_numbers_")
        .exclude(additional_data__event="clear_numbers_requested")
        .count()
        == 1
    )


# ---------------------------------------------------------------------------
# The page: the grants, and the link to the procedures' form
# ---------------------------------------------------------------------------
FORM = reverse("procedures:request-create", kwargs={"kind": "clear_numbers"})
FORM_DATA = {
    "lines": [],
    "period_start": "2026-09-01",
    "period_end": "2026-11-30",
    "users_informed": "on",
}


def test_the_legal_rep_sees_the_empty_state_and_the_link_to_ask(
    client: Client, cast: Cast, invoiced: None
) -> None:
    response = page_client(client, cast.rossi_legal_rep).get(reverse(PAGE))

    assert response.status_code == 200
    body = response.content.decode()
    assert 'id="clear-numbers-empty"' in body
    assert f'href="{FORM}" id="clear-numbers-ask"' in body
    assert 'id="clear-numbers-form"' not in body


def test_the_legal_rep_asks_through_the_procedures_and_the_page_lists_the_grant(
    client: Client, cast: Cast, invoiced: None, private_storage: Any
) -> None:
    client = page_client(client, cast.rossi_legal_rep)

    response = client.post(FORM, {**FORM_DATA, "lines": [cast.rossi_other_line.pk]})

    assert response.status_code == 302
    procedure = Request.objects.get(kind="clear_numbers")
    asked = ClearNumbersRequest.objects.get()
    assert procedure.data["clear_numbers_request_id"] == asked.pk
    assert list(asked.lines.all()) == [cast.rossi_other_line]
    body = client.get(reverse(PAGE)).content.decode()
    assert f'id="clear-numbers-request-{asked.pk}"' in body
    assert "Waiting for approval" in body
    assert reverse("procedures:request-detail", kwargs={"pk": procedure.pk}) in body
    assert procedure.reference in body


def test_a_refused_request_keeps_what_was_typed_and_says_what_to_fix(
    client: Client, cast: Cast, invoiced: None, private_storage: Any
) -> None:
    client = page_client(client, cast.rossi_legal_rep)

    response = client.post(
        FORM, {"lines": [cast.rossi_other_line.pk], "period_start": "2026-06-01", "period_end": "2026-11-30"}
    )

    assert response.status_code == 400
    assert not ClearNumbersRequest.objects.exists()
    assert not Request.objects.exists()
    body = response.content.decode()
    assert "last six months" in body
    assert "the request cannot be made without it" in body
    assert 'value="2026-06-01"' in body
    assert 'value="2026-11-30"' in body


def test_an_admin_sees_the_requests_and_is_told_only_the_legal_rep_asks(
    client: Client, cast: Cast, invoiced: None, staff_groups: None
) -> None:
    asked = ask(cast)
    clear_numbers_reject(request=asked, by=staff_of("Procedures"), reason="Unsigned.")
    client = page_client(client, cast.rossi_admin)

    response = client.get(reverse(PAGE))

    assert response.status_code == 200
    body = response.content.decode()
    assert f'id="clear-numbers-request-{asked.pk}"' in body
    assert "Rejected" in body
    assert "Unsigned." in body
    assert 'id="clear-numbers-legal-rep-only"' in body
    assert 'id="clear-numbers-ask"' not in body


def test_an_admin_cannot_ask_through_the_procedures(
    client: Client, cast: Cast, invoiced: None, private_storage: Any
) -> None:
    client = page_client(client, cast.rossi_admin)

    response = client.post(FORM, {**FORM_DATA, "lines": [cast.rossi_other_line.pk]})

    assert response.status_code == 403
    assert not ClearNumbersRequest.objects.exists()


def test_the_page_takes_no_form_any_more(client: Client, cast: Cast, invoiced: None) -> None:
    client = page_client(client, cast.rossi_legal_rep)

    assert client.post(reverse(PAGE), {**FORM_DATA, "lines": [cast.rossi_other_line.pk]}).status_code == 405
    assert not ClearNumbersRequest.objects.exists()


def test_a_line_user_is_refused_the_page(client: Client, cast: Cast, invoiced: None) -> None:
    client = page_client(client, cast.rossi_line_user)

    assert client.get(reverse(PAGE)).status_code == 403


@pytest.mark.parametrize("requests", [1, 8])
def test_the_page_takes_the_same_number_of_queries_whatever_the_number_of_requests(
    client: Client, cast: Cast, invoiced: None, pinned_queries: Any, requests: int
) -> None:
    for _ in range(requests):
        ask(cast)
    page_client(client, cast.rossi_legal_rep)

    pinned_queries(reverse(PAGE), queries=12)


# ---------------------------------------------------------------------------
# The API
# ---------------------------------------------------------------------------
@pytest.mark.parametrize("role", ["rossi_legal_rep", "rossi_admin"])
def test_the_api_lists_the_companys_requests(
    cast: Cast, invoiced: None, api_client_for: Any, role: str
) -> None:
    asked = ask(cast, line_ids=[cast.rossi_other_line.pk])

    response = api_client_for(getattr(cast, role)).get(API)

    assert response.status_code == 200
    assert response.json()["results"] == [
        {
            "id": asked.pk,
            "status": "pending",
            "lines": [{"id": cast.rossi_other_line.pk, "number": cast.rossi_other_line.number}],
            "period_start": "2026-09-01",
            "period_end": "2026-10-31",
            "users_informed": True,
            "requested_by": "Anna Rossi",
            "requested_at": response.json()["results"][0]["requested_at"],
            "decided_at": None,
            "rejection_reason": "",
        }
    ]


def test_the_api_refuses_the_list_to_a_line_user(cast: Cast, api_client_for: Any) -> None:
    assert api_client_for(cast.rossi_line_user).get(API).status_code == 403


def test_the_legal_rep_asks_through_the_api(
    cast: Cast, invoiced: None, api_client_for: Any, private_storage: Any
) -> None:
    response = api_client_for(cast.rossi_legal_rep).post(
        API,
        {
            "lines": [cast.rossi_assigned_line.pk],
            "period_start": "2026-06-02",
            "period_end": "2026-11-30",
            "users_informed": True,
        },
    )

    assert response.status_code == 201
    asked = ClearNumbersRequest.objects.get()
    # Through the procedures, like the page's form: a request with its reference and receipt.
    procedure = Request.objects.get(kind="clear_numbers")
    assert procedure.data["clear_numbers_request_id"] == asked.pk
    assert procedure.documents.filter(role="receipt").exists()
    assert response.json()["id"] == asked.pk
    assert response.json()["status"] == "pending"
    assert response.json()["lines"] == [
        {"id": cast.rossi_assigned_line.pk, "number": cast.rossi_assigned_line.number}
    ]


@pytest.mark.parametrize("role", ["rossi_admin", "rossi_line_user"])
def test_the_api_refuses_a_request_from_anyone_but_the_legal_rep(
    cast: Cast, invoiced: None, api_client_for: Any, role: str
) -> None:
    response = api_client_for(getattr(cast, role)).post(
        API,
        {
            "lines": [cast.rossi_assigned_line.pk],
            "period_start": "2026-09-01",
            "period_end": "2026-10-31",
            "users_informed": True,
        },
        HTTP_ACCEPT_LANGUAGE="en",
    )

    assert response.status_code == 403
    assert response.json() == {
        "detail": "Only the company's legal representative can ask for the numbers in clear."
    }
    assert not ClearNumbersRequest.objects.exists()


def test_the_api_answers_400_with_the_errors_by_field(
    cast: Cast, invoiced: None, api_client_for: Any
) -> None:
    response = api_client_for(cast.rossi_legal_rep).post(
        API,
        {
            "lines": [cast.bianchi_line.pk],
            "period_start": "2026-06-01",
            "period_end": "2026-12-01",
            "users_informed": False,
        },
        HTTP_ACCEPT_LANGUAGE="en",
    )

    assert response.status_code == 400
    assert set(response.json()) == {"lines", "period_start", "period_end", "users_informed"}
    assert response.json()["lines"] == ["Choose lines of your company only."]
    assert not ClearNumbersRequest.objects.exists()
    assert not Request.objects.exists()


def test_the_api_answers_400_for_a_malformed_request(cast: Cast, invoiced: None, api_client_for: Any) -> None:
    response = api_client_for(cast.rossi_legal_rep).post(API, {"lines": [], "period_start": "yesterday"})

    assert response.status_code == 400
    assert {"lines", "period_start", "period_end", "users_informed"} <= set(response.json())


# ---------------------------------------------------------------------------
# The admin: read-only grants, decided through the procedures' request
# ---------------------------------------------------------------------------
CHANGELIST = "admin:billing_clearnumbersrequest_changelist"


def submitted_through_the_procedures(cast: Cast) -> Request:
    return request_submit(
        membership=cast.rossi_legal_rep,
        kind="clear_numbers",
        data={**FORM_DATA, "lines": [str(cast.rossi_assigned_line.pk)], "period_end": "2026-10-31"},
    )


def test_procedures_staff_decide_through_the_request_and_the_grant_follows(
    cast: Cast, invoiced: None, staff_groups: None, private_storage: Any
) -> None:
    approved, rejected = submitted_through_the_procedures(cast), submitted_through_the_procedures(cast)
    staff = staff_of("Procedures")

    request_approve(request=approved, by=staff)
    request_reject(request=rejected, by=staff, reason="The declaration is not signed.")

    grant = ClearNumbersRequest.objects.get(pk=approved.data["clear_numbers_request_id"])
    assert (grant.status, grant.decided_by) == (ClearNumbersStatus.APPROVED, staff)
    refused = ClearNumbersRequest.objects.get(pk=rejected.data["clear_numbers_request_id"])
    assert refused.status == ClearNumbersStatus.REJECTED
    assert refused.rejection_reason == "The declaration is not signed."
    assert clear_windows_for(cast.rossi_legal_rep) == [
        ClearWindow(
            line_id=cast.rossi_assigned_line.pk, first_day=date(2026, 9, 1), last_day=date(2026, 10, 31)
        )
    ]
    assert LogEntry.objects.filter(additional_data__event="clear_numbers_approved").count() == 1
    assert LogEntry.objects.filter(additional_data__event="clear_numbers_rejected").count() == 1


def test_the_admin_has_no_decision_of_its_own_and_links_the_request(
    client: Client, cast: Cast, invoiced: None, staff_groups: None, private_storage: Any
) -> None:
    procedure = submitted_through_the_procedures(cast)
    grant = ClearNumbersRequest.objects.get()
    client = staff_client(client, "Procedures")

    listing = client.get(reverse(CHANGELIST))
    client.post(reverse(CHANGELIST), {"action": "approve", "_selected_action": [grant.pk]})
    page = client.get(reverse("admin:billing_clearnumbersrequest_change", args=[grant.pk]))

    assert listing.status_code == 200
    assert 'name="action"' not in listing.content.decode()
    grant.refresh_from_db()
    assert grant.status == ClearNumbersStatus.PENDING
    assert page.status_code == 200
    assert procedure.reference in page.content.decode()


def test_staff_never_edit_what_the_legal_rep_asked(
    client: Client, cast: Cast, invoiced: None, staff_groups: None
) -> None:
    asked = ask(cast)
    client = staff_client(client, "Procedures")
    change_url = reverse("admin:billing_clearnumbersrequest_change", args=[asked.pk])

    page = client.get(change_url)
    client.post(change_url, {"period_start": "2026-06-02", "status": "approved"})

    assert page.status_code == 200
    assert 'name="period_start"' not in page.content.decode()
    asked.refresh_from_db()
    assert (asked.period_start, asked.status) == (date(2026, 9, 1), ClearNumbersStatus.PENDING)


def test_customer_care_read_the_requests(
    client: Client, cast: Cast, invoiced: None, staff_groups: None
) -> None:
    ask(cast)
    client = staff_client(client, "Customer care")

    assert client.get(reverse(CHANGELIST)).status_code == 200


def test_billing_staff_do_not_see_the_requests(client: Client, cast: Cast, staff_groups: None) -> None:
    client = staff_client(client, "Billing")

    assert client.get(reverse(CHANGELIST)).status_code == 403


def test_the_admin_lists_filters_and_searches_by_company(
    client: Client, cast: Cast, invoiced: None, staff_groups: None
) -> None:
    ask(cast)
    client = staff_client(client, "Procedures")

    found = client.get(reverse(CHANGELIST), {"q": "Rossi", "status__exact": "pending"})
    missing = client.get(reverse(CHANGELIST), {"q": "Bianchi"})

    assert found.status_code == 200
    assert "Rossi Impianti" in found.content.decode()
    assert found.context["cl"].result_count == 1
    assert missing.context["cl"].result_count == 0
