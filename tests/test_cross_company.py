"""No company sees another's data: not by URL, not by id, not through the API, not through a file link.

The walk (tests/tenancy_walk.py) covers every route the URL configuration
has, pages and API alike, as each role of Rossi with Bianchi's ids.
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Any

import pytest
from django.db import models
from django.http import HttpRequest, HttpResponse
from django.test import Client, override_settings
from django.urls import include, path, reverse

from billing.models import (
    ClearNumbersRequest,
    FairUseFinding,
    Invoice,
    InvoiceDocument,
    PaymentMethod,
    TrafficExport,
    TrafficRecord,
)
from insight.models import InsightAlert
from procedures.models import ActivationOrder, Request, RequestDocument
from selfcare.models import ApiToken, Company, Line, Membership, Notification
from selfcare.views.base import CompanyView
from tests import tenancy_walk
from tests.billing.fair_use_rows import make_finding
from tests.billing.traffic_rows import recent_traffic
from tests.cast import Cast
from tests.conftest import log_in

pytestmark = pytest.mark.django_db

ROLES = ["rossi_legal_rep", "rossi_admin", "rossi_line_user"]


def foreign_rows(cast: Cast) -> dict[type[models.Model], models.Model]:
    """One Bianchi row of every company-owned model that a route can name.

    A new model reachable by id needs a row here: the walk says so when one is missing.
    """
    token = ApiToken.objects.create(
        membership=cast.bianchi_legal_rep, name="Bianchi ERP", prefix="bianchi0", key_hash="0" * 64
    )
    notification = Notification.objects.create(
        company=cast.bianchi,
        user=cast.bianchi_legal_rep.user,
        event="test",
        dedupe_key="bianchi-test",
        channel="inbox",
        subject="Bianchi only",
        body="Bianchi only",
        status="sent",
    )
    invoice = Invoice.objects.create(
        company=cast.bianchi,
        year=2026,
        sequence_number=999_001,
        number="FT2026/999001",
        issued_on=date(2026, 2, 1),
        period_start=date(2026, 1, 1),
        period_end=date(2026, 1, 31),
        due_on=date(2026, 3, 2),
        taxable=Decimal("10.00"),
        vat_rate=Decimal("22.00"),
        vat=Decimal("2.20"),
        concession_fee=Decimal("12.91"),
        stamp_duty=Decimal("0.00"),
        total=Decimal("25.11"),
    )
    # Its holder is Bianchi's name, one of the foreign markers: a page or API
    # answer that showed Bianchi's payment method to Rossi would be caught.
    payment_method = PaymentMethod.objects.create(
        company=cast.bianchi,
        kind="sepa_direct_debit",
        iban="IT60X0542811101000000123456",
        iban_last4="3456",
        account_holder=cast.bianchi.name,
        holder_tax_id=cast.bianchi.vat_number,
        mandate_reference="BIANCHI-0001",
        mandate_signed_on=date(2026, 1, 15),
    )
    # A ready copy of Bianchi's invoice: its download, page and API, must be 404 to Rossi.
    invoice_copy = InvoiceDocument.objects.create(
        invoice=invoice, kind="duplicate", status="ready", file="invoices/bianchi-copy.pdf"
    )
    # A request for numbers in clear of Bianchi's line: its number is one of the markers.
    clear_numbers_request = ClearNumbersRequest.objects.create(
        company=cast.bianchi,
        requested_by=cast.bianchi_legal_rep.user,
        period_start=date(2026, 1, 1),
        period_end=date(2026, 1, 31),
        users_informed=True,
    )
    clear_numbers_request.lines.set([cast.bianchi_line])
    # A call of Bianchi's line yesterday: the traffic report's page, downloads and API
    # lists (no ids in their URLs) must never show it, nor its number, to Rossi.
    bianchi_traffic = recent_traffic(cast.bianchi_line, record_id="bianchi-call-1")
    # A ready traffic report (XLSX) of Bianchi's admin: its progress page and file must be 404 to Rossi.
    bianchi_export = TrafficExport.objects.create(
        company=cast.bianchi,
        membership=cast.bianchi_admin,
        language="it",
        status="ready",
        file="traffic/b.xlsx",
    )
    # A fair-use finding of Bianchi's line with a measure: its page and API must be 404 to Rossi,
    # and the fair-use lists must never show it (nor its line's number).
    bianchi_finding = make_finding(cast.bianchi_line, status="measure")
    bianchi_finding.measures.create(
        company=cast.bianchi,
        line=cast.bianchi_line,
        kind="speed_limit",
        starts_on=date(2026, 1, 1),
        ends_on=date(2099, 1, 31),
    )
    # A fixed-line activation order of Bianchi on its line (procedures): its pages and API are 404 to Rossi.
    bianchi_activation = ActivationOrder.objects.create(
        company=cast.bianchi,
        reference="ATT-2026-999001",
        line=cast.bianchi_line,
        installation_address="Bianchi Logistica, Via Bianchi 1",
        ordered_on=date(2026, 1, 2),
        promised_on=date(2026, 1, 30),
    )
    # A request of Bianchi (procedures): its pages, documents and API are 404 to Rossi, and the request
    # lists never show it; its data carry Bianchi's name, one of the markers.
    bianchi_request = Request.objects.create(
        company=cast.bianchi,
        kind="directory_listing",
        reference="R-2026-999001",
        submitted_by=cast.bianchi_legal_rep.user,
        data={"listed": True, "published_name": cast.bianchi.name},
    )
    bianchi_request.lines.set([cast.bianchi_line])
    bianchi_receipt = bianchi_request.documents.create(
        role="receipt",
        file="requests/bianchi-receipt.pdf",
        original_name="receipt.pdf",
        content_type="application/pdf",
        size=1,
        sha256="0" * 64,
        generated=True,
    )
    # An alert of Bianchi on its line (insight): its page, delete page and API are 404 to Rossi,
    # and the alert lists never show it (nor its line's number).
    bianchi_alert = InsightAlert.objects.create(
        company=cast.bianchi,
        created_by=cast.bianchi_admin.user,
        kind="line_spend_above",
        line=cast.bianchi_line,
        amount=Decimal("50.00"),
    )
    return {
        InsightAlert: bianchi_alert,
        Request: bianchi_request,
        RequestDocument: bianchi_receipt,
        ActivationOrder: bianchi_activation,
        FairUseFinding: bianchi_finding,
        TrafficExport: bianchi_export,
        TrafficRecord: bianchi_traffic,
        Company: cast.bianchi,
        Membership: cast.bianchi_admin,
        Line: cast.bianchi_line,
        ApiToken: token,
        Notification: notification,
        Invoice: invoice,
        InvoiceDocument: invoice_copy,
        PaymentMethod: payment_method,
        ClearNumbersRequest: clear_numbers_request,
    }


def foreign_markers(cast: Cast) -> list[str]:
    return [
        cast.bianchi.name,
        cast.bianchi.vat_number,
        cast.bianchi_line.number,
        cast.bianchi_legal_rep.user.email,
        cast.bianchi_admin.user.email,
        cast.bianchi_line_user.user.email,
    ]


@pytest.mark.parametrize("role", ROLES)
def test_no_route_reaches_another_companys_rows_by_id(cast: Cast, client: Client, role: str) -> None:
    foreign = foreign_rows(cast)
    log_in(client, getattr(cast, role))

    problems = [
        problem
        for route in tenancy_walk.routes()
        if route.id_params
        for problem in tenancy_walk.assert_never_found(client, route, foreign)
    ]

    assert problems == []


@pytest.mark.parametrize("role", ROLES)
def test_no_list_shows_another_companys_rows(cast: Cast, client: Client, role: str) -> None:
    foreign_rows(cast)
    log_in(client, getattr(cast, role))

    problems = [
        problem
        for route in tenancy_walk.routes()
        if not route.params
        for problem in tenancy_walk.assert_lists_show_nothing_foreign(client, route, foreign_markers(cast))
    ]

    assert problems == []


def test_the_walk_covers_the_routes_that_name_objects() -> None:
    named = [route.name for route in tenancy_walk.routes() if route.id_params]

    assert "selfcare:member-edit" in named
    assert "selfcare:member-remove" in named
    # The Abroad pages and API name a line (roaming.views, roaming.api).
    assert {
        "roaming:line",
        "roaming:line-roaming",
        "roaming:line-data",
        "roaming:line-cap",
        "roaming:line-continue",
        "api:roaming-line-detail",
        "api:roaming-line-spending-cap",
        "api:roaming-line-continue-month",
    } <= set(named)
    # The Insight alerts' pages and API name an alert (insight.views, insight.api).
    assert {
        "insight:alert-edit",
        "insight:alert-delete",
        "api:insight-alert-detail",
    } <= set(named)


def test_the_public_roaming_pages_need_no_login(client: Client, db: None) -> None:
    """CONTRACTS.md, "HTTP": the public roaming rates are reachable without logging in."""
    for name in ("roaming:rates", "roaming:calculator"):
        assert client.get(reverse(name)).status_code == 200, name
    assert client.get(reverse("roaming:abroad")).status_code == 302


# A test of the test: a deliberately unscoped view must make the walk fail.


class UnscopedLineView(CompanyView):
    tenant_model = Line

    def dispatch(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        # The bug the walk exists to catch: an object loaded by id alone.
        line = Line.objects.get(pk=kwargs["pk"])
        return HttpResponse(line.number)


class UnscopedLineListView(CompanyView):
    def get(self, request: HttpRequest) -> HttpResponse:
        # The other bug: a list that forgets the company.
        return HttpResponse(" ".join(Line.objects.values_list("number", flat=True)))


urlpatterns = [
    path("bad/lines/<int:pk>/", UnscopedLineView.as_view(), name="unscoped-line"),
    path("bad/lines/", UnscopedLineListView.as_view(), name="unscoped-line-list"),
    path("", include("selfcare.urls")),
]


@override_settings(ROOT_URLCONF=__name__)
def test_the_walk_catches_a_deliberately_unscoped_view(cast: Cast, client: Client) -> None:
    foreign = foreign_rows(cast)
    log_in(client, cast.rossi_admin)
    route = next(r for r in tenancy_walk.routes() if r.name == "unscoped-line")

    problems = tenancy_walk.assert_never_found(client, route, foreign)

    assert problems
    assert "answered 200" in problems[0]


@override_settings(ROOT_URLCONF=__name__)
def test_the_walk_catches_a_list_that_shows_another_companys_row(cast: Cast, client: Client) -> None:
    log_in(client, cast.rossi_admin)
    route = next(r for r in tenancy_walk.routes() if r.name == "unscoped-line-list")

    problems = tenancy_walk.assert_lists_show_nothing_foreign(client, route, foreign_markers(cast))

    assert any(cast.bianchi_line.number in problem for problem in problems)
