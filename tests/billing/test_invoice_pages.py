"""The customer's invoices: the list and its filters, one invoice per SIM and cost centre, and the API."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest
from django.test import Client
from django.urls import reverse

from billing.models import Invoice, InvoiceStatus
from tests.billing.invoices import make_invoice
from tests.cast import Cast
from tests.conftest import log_in

pytestmark = pytest.mark.django_db

D = Decimal


def list_url(**query: Any) -> str:
    url = reverse("billing:invoice-list")
    return url + ("?" + "&".join(f"{key}={value}" for key, value in query.items()) if query else "")


def numbers_on(response: Any) -> list[str]:
    return [invoice.number for invoice in response.context["page"]]


class TestTheInvoiceList:
    def test_admins_and_legal_reps_see_their_companys_invoices_newest_first(
        self, cast: Cast, client_as: Any
    ) -> None:
        older = make_invoice(cast.rossi, month=1)
        newer = make_invoice(cast.rossi, month=2)
        make_invoice(cast.bianchi, month=3)

        for membership in (cast.rossi_admin, cast.rossi_legal_rep):
            response = client_as(membership).get(list_url())

            assert response.status_code == 200
            assert numbers_on(response) == [newer.number, older.number]

    def test_a_line_user_is_refused(self, cast: Cast, client_as: Any) -> None:
        make_invoice(cast.rossi)

        response = client_as(cast.rossi_line_user).get(list_url())

        assert response.status_code == 403

    def test_filters_by_year_status_and_total(self, cast: Cast, client_as: Any) -> None:
        in_2024 = make_invoice(cast.rossi, year=2024, month=3, total="50.00")
        paid = make_invoice(cast.rossi, month=1, status=InvoiceStatus.PAID, total="100.00")
        expired = make_invoice(cast.rossi, month=2, status=InvoiceStatus.EXPIRED, total="300.00")
        client = client_as(cast.rossi_admin)

        assert numbers_on(client.get(list_url(year=2024))) == [in_2024.number]
        assert numbers_on(client.get(list_url(status="expired"))) == [expired.number]
        assert numbers_on(client.get(list_url(min_total="60", max_total="200"))) == [paid.number]
        assert numbers_on(client.get(list_url(status="issued", year=2025))) == []

    def test_a_maximum_below_the_minimum_is_shown_as_an_error_and_ignored(
        self, cast: Cast, client_as: Any
    ) -> None:
        make_invoice(cast.rossi, total="100.00")

        response = client_as(cast.rossi_admin).get(list_url(min_total="200", max_total="100"))

        assert response.context["form"].errors["max_total"]
        assert numbers_on(response) == []  # the valid minimum still applies

    def test_twenty_invoices_a_page_with_the_filters_kept_in_the_page_links(
        self, cast: Cast, client_as: Any
    ) -> None:
        for month in range(1, 13):
            make_invoice(cast.rossi, year=2024, month=month)
            make_invoice(cast.rossi, year=2023, month=month)
        client = client_as(cast.rossi_admin)

        first = client.get(list_url(status="issued"))
        second = client.get(list_url(status="issued", page=2))

        assert len(numbers_on(first)) == 20
        assert len(numbers_on(second)) == 4
        assert "status=issued&amp;page=2" in first.content.decode()

    def test_an_empty_list_says_so(self, cast: Cast, client_as: Any) -> None:
        client = client_as(cast.rossi_admin)

        assert 'id="invoice-empty"' in client.get(list_url()).content.decode()
        make_invoice(cast.rossi, status=InvoiceStatus.PAID)
        filtered = client.get(list_url(status="expired"), HTTP_ACCEPT_LANGUAGE="en").content.decode()
        assert "No invoice matches these filters." in filtered

    @pytest.mark.parametrize("count", [1, 15])
    def test_the_list_costs_the_same_queries_whatever_the_number_of_invoices(
        self, cast: Cast, client_as: Any, pinned_queries: Any, count: int
    ) -> None:
        for month in range(1, count + 1):
            make_invoice(cast.rossi, year=2020 + month // 12, month=month % 12 + 1)
        client = client_as(cast.rossi_admin)

        response = pinned_queries(list_url(year=2021), queries=PINNED_LIST_QUERIES, client_=client)

        assert response.context["page"]

    def test_the_invoices_section_leads_to_the_list(self, cast: Cast, client_as: Any) -> None:
        response = client_as(cast.rossi_admin).get(reverse("selfcare:dashboard"))

        assert reverse("billing:invoice-list") in response.content.decode()


PINNED_LIST_QUERIES = 11


class TestOneInvoice:
    def test_shows_the_header_the_lines_per_sim_the_cost_centre_subtotals_and_the_taxes(
        self, cast: Cast, client_as: Any
    ) -> None:
        invoice = make_invoice(
            cast.rossi,
            lines=[
                (cast.rossi_assigned_line, "Cantieri", "10.00"),
                (cast.rossi_other_line, "Ufficio", "12.50"),
                (cast.rossi_assigned_line, "Cantieri", "3.00"),
                (None, "", "5.00"),
            ],
        )

        response = client_as(cast.rossi_legal_rep).get(
            reverse("billing:invoice-detail", args=[invoice.pk]), HTTP_ACCEPT_LANGUAGE="en"
        )

        assert response.status_code == 200
        layout = response.context["layout"]
        assert [(group.number, group.subtotal) for group in layout.sims] == [
            (cast.rossi_assigned_line.number, D("13.00")),
            (cast.rossi_other_line.number, D("12.50")),
        ]
        assert layout.other.subtotal == D("5.00")
        assert [(centre.cost_centre, centre.subtotal) for centre in layout.cost_centres] == [
            ("Cantieri", D("13.00")),
            ("Ufficio", D("12.50")),
            ("", D("5.00")),
        ]
        page = response.content.decode()
        for shown in (
            invoice.number,
            cast.rossi_assigned_line.number,
            "No cost centre",
            "VAT (22.00%)",
            "€ 70.00",
            "€ 15.40",
            "€ 90.37",
            "€ 2.00",
            "€ 177.77",
            "Bank transfer",
        ):
            assert shown in page

    def test_another_companys_invoice_is_not_found_for_every_role(self, cast: Cast, client_as: Any) -> None:
        foreign = make_invoice(cast.bianchi)

        for membership in cast.memberships_of_rossi().values():
            response = client_as(membership).get(reverse("billing:invoice-detail", args=[foreign.pk]))
            assert response.status_code == 404

    def test_a_line_user_is_refused_their_own_companys_invoice(self, cast: Cast, client_as: Any) -> None:
        invoice = make_invoice(cast.rossi)

        response = client_as(cast.rossi_line_user).get(reverse("billing:invoice-detail", args=[invoice.pk]))

        # The line user cannot see company invoices at all: the scope hides it, as for any unseen row.
        assert response.status_code in (403, 404)

    @pytest.mark.parametrize("sims", [1, 15])
    def test_the_page_costs_the_same_queries_whatever_the_number_of_lines(
        self, cast: Cast, client_as: Any, pinned_queries: Any, sims: int
    ) -> None:
        lines = [(cast.rossi_assigned_line, "Cantieri", "1.00")] * sims + [
            (cast.rossi_other_line, "", "2.00")
        ] * sims
        invoice = make_invoice(cast.rossi, lines=lines)
        client = client_as(cast.rossi_admin)

        pinned_queries(
            reverse("billing:invoice-detail", args=[invoice.pk]),
            queries=PINNED_DETAIL_QUERIES,
            client_=client,
        )


PINNED_DETAIL_QUERIES = 12


class TestTheInvoiceApi:
    def test_lists_the_companys_invoices_newest_first_with_filters(
        self, cast: Cast, api_client_for: Any
    ) -> None:
        older = make_invoice(cast.rossi, year=2024, month=5, status=InvoiceStatus.PAID)
        newer = make_invoice(cast.rossi, month=2)
        make_invoice(cast.bianchi, month=2)
        api = api_client_for(cast.rossi_admin)

        every = api.get("/api/v1/invoices/").json()["results"]
        of_2024 = api.get("/api/v1/invoices/", {"year": 2024}).json()["results"]
        issued = api.get("/api/v1/invoices/", {"status": "issued"}).json()["results"]

        assert [row["number"] for row in every] == [newer.number, older.number]
        assert [row["number"] for row in of_2024] == [older.number]
        assert [row["number"] for row in issued] == [newer.number]
        assert every[0]["total"] == "177.77"

    def test_an_unknown_status_is_refused(self, cast: Cast, api_client_for: Any) -> None:
        response = api_client_for(cast.rossi_admin).get("/api/v1/invoices/", {"status": "lost"})

        assert response.status_code == 400

    def test_one_invoice_comes_with_its_lines(self, cast: Cast, api_client_for: Any) -> None:
        invoice = make_invoice(
            cast.rossi, lines=[(cast.rossi_assigned_line, "Cantieri", "10.00"), (None, "", "5.00")]
        )

        body = api_client_for(cast.rossi_legal_rep).get(f"/api/v1/invoices/{invoice.pk}/").json()

        assert body["number"] == invoice.number
        assert [(row["line_number"], row["cost_centre"], row["amount"]) for row in body["lines"]] == [
            (cast.rossi_assigned_line.number, "Cantieri", "10.00"),
            (None, "", "5.00"),
        ]

    def test_another_companys_invoice_is_not_found(self, cast: Cast, api_client_for: Any) -> None:
        foreign = make_invoice(cast.bianchi)

        for membership in cast.memberships_of_rossi().values():
            response = api_client_for(membership).get(f"/api/v1/invoices/{foreign.pk}/")
            assert response.status_code == 404

    def test_a_line_user_is_refused(self, cast: Cast, api_client_for: Any) -> None:
        response = api_client_for(cast.rossi_line_user).get("/api/v1/invoices/")

        assert response.status_code == 403

    @pytest.mark.parametrize("count", [1, 15])
    def test_the_list_costs_the_same_queries_whatever_the_number_of_invoices(
        self, cast: Cast, api_client_for: Any, django_assert_num_queries: Any, count: int
    ) -> None:
        for month in range(1, count + 1):
            make_invoice(cast.rossi, year=2020 + month // 12, month=month % 12 + 1)
        api = api_client_for(cast.rossi_admin)

        with django_assert_num_queries(PINNED_API_QUERIES):
            response = api.get("/api/v1/invoices/")

        assert len(response.json()["results"]) == count


PINNED_API_QUERIES = 3


def test_the_detail_of_a_credit_note_links_to_the_invoice_it_corrects(cast: Cast, client: Client) -> None:
    invoice = make_invoice(cast.rossi)
    credit_note = make_invoice(cast.rossi, month=3)
    Invoice.objects.filter(pk=credit_note.pk).update(kind="credit_note", corrects=invoice)

    response = log_in(client, cast.rossi_admin).get(reverse("billing:invoice-detail", args=[credit_note.pk]))

    assert reverse("billing:invoice-detail", args=[invoice.pk]) in response.content.decode()
