"""Lines and SIMs: the list (search, filters, sorting, pages, CSV), the line page and the lines API."""

from __future__ import annotations

import csv
import io
import re
from datetime import date
from typing import Any

import pytest
from django.test import Client
from django.urls import reverse

from selfcare.models import Line, LineKind, LineStatus, Membership, SimKind
from selfcare.selectors.lines import LINE_SORT_CHOICES, LineFilters, lines_filtered
from tests.cast import Cast
from tests.factories import LineFactory, MembershipFactory, OfferFactory

pytestmark = pytest.mark.django_db

LIST = "/lines/"
EXPORT = "/lines/export.csv"


def numbers_on(response: Any) -> list[str]:
    """The numbers of the rows on a list page, in order."""
    return re.findall(r'<th scope="row"[^>]*><a href="/lines/\d+/">(\+\d+)</a>', response.content.decode())


def csv_rows(response: Any) -> list[list[str]]:
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/csv")
    text = b"".join(response.streaming_content).decode("utf-8")
    return list(csv.reader(io.StringIO(text)))


def listed(client: Client, query: str = "") -> list[str]:
    response = client.get(f"{LIST}?{query}", HTTP_ACCEPT_LANGUAGE="en")
    assert response.status_code == 200
    return numbers_on(response)


@pytest.fixture
def rossi_lines(cast: Cast) -> dict[str, Line]:
    """A few Rossi lines that differ in every filtered column, besides the cast's two."""
    fixed_offer = OfferFactory.create(code="FISSO-10", name="Fisso Ufficio")
    prepaid = OfferFactory.create(code="RIC-5", name="Ricaricabile 5", payment="prepaid")
    return {
        "suspended": LineFactory.create(
            company=cast.rossi,
            number="+393471112222",
            status=LineStatus.SUSPENDED,
            cost_centre="Cantieri",
            offer=prepaid,
            activated_on=date(2023, 1, 10),
        ),
        "fixed": LineFactory.create(
            company=cast.rossi,
            number="+390612345678",
            kind=LineKind.FIXED,
            sim="",
            iccid="",
            offer=fixed_offer,
            cost_centre="Ufficio",
            activated_on=None,
        ),
        "esim": LineFactory.create(
            company=cast.rossi,
            number="+393209998877",
            sim=SimKind.ESIM,
            cost_centre="Direzione",
            offer=prepaid,
            activated_on=date(2025, 6, 1),
        ),
    }


# ---------------------------------------------------------------------------
# Who sees what
# ---------------------------------------------------------------------------
def test_an_admin_lists_every_line_of_the_company_and_none_of_another(
    cast: Cast, client_as: Any, rossi_lines: dict[str, Line]
) -> None:
    numbers = listed(client_as(cast.rossi_admin))

    assert set(numbers) == set(Line.objects.filter(company=cast.rossi).values_list("number", flat=True))
    assert cast.bianchi_line.number not in numbers


def test_a_line_user_lists_and_exports_only_the_lines_assigned_to_them(
    cast: Cast, client_as: Any, rossi_lines: dict[str, Line]
) -> None:
    client = client_as(cast.rossi_line_user)

    assert listed(client) == [cast.rossi_assigned_line.number]
    rows = csv_rows(client.get(EXPORT))
    assert [row[0] for row in rows[1:]] == [cast.rossi_assigned_line.number]


def test_a_line_user_is_offered_only_the_cost_centres_and_offers_of_their_lines(
    cast: Cast, client_as: Any, rossi_lines: dict[str, Line]
) -> None:
    page = client_as(cast.rossi_line_user).get(LIST).content.decode()

    assert 'value="Cantieri"' in page
    assert 'value="Ufficio"' not in page
    assert 'value="FISSO-10"' not in page


# ---------------------------------------------------------------------------
# Search
# ---------------------------------------------------------------------------
@pytest.mark.parametrize("typed", ["3471112222", "347 111", "+39 347 111", "0039347111", "347-111-2222"])
def test_a_line_is_found_by_part_of_its_number_with_or_without_the_country_code(
    cast: Cast, client_as: Any, rossi_lines: dict[str, Line], typed: str
) -> None:
    assert listed(client_as(cast.rossi_admin), f"search={typed}") == ["+393471112222"]


def test_a_search_without_digits_is_refused_with_a_message_and_narrows_nothing(
    cast: Cast, client_as: Any, rossi_lines: dict[str, Line]
) -> None:
    response = client_as(cast.rossi_admin).get(f"{LIST}?search=Mario", HTTP_ACCEPT_LANGUAGE="en")

    assert "Type some digits of the number" in response.content.decode()
    assert len(numbers_on(response)) == Line.objects.filter(company=cast.rossi).count()


def test_a_search_never_finds_another_companys_line(cast: Cast, client_as: Any) -> None:
    assert listed(client_as(cast.rossi_admin), f"search={cast.bianchi_line.number}") == []


# ---------------------------------------------------------------------------
# Filters
# ---------------------------------------------------------------------------
def test_the_filters_narrow_by_offer_status_cost_centre_and_kind_and_combine(
    cast: Cast, client_as: Any, rossi_lines: dict[str, Line]
) -> None:
    client = client_as(cast.rossi_admin)

    assert listed(client, "status=suspended") == ["+393471112222"]
    assert listed(client, "kind=fixed") == ["+390612345678"]
    assert listed(client, "offer=RIC-5") == ["+393209998877", "+393471112222"]
    assert set(listed(client, "cost_centre=Cantieri")) == {"+393471112222", cast.rossi_assigned_line.number}
    assert listed(client, "cost_centre=Cantieri&status=active") == [cast.rossi_assigned_line.number]
    assert listed(client, "offer=RIC-5&status=active&kind=mobile") == ["+393209998877"]


def test_an_offer_or_cost_centre_of_another_company_is_refused_and_not_offered(
    cast: Cast, client_as: Any, rossi_lines: dict[str, Line]
) -> None:
    cast.bianchi_line.cost_centre = "Magazzino Bianchi"
    cast.bianchi_line.save()
    client = client_as(cast.rossi_admin)

    page = client.get(LIST, HTTP_ACCEPT_LANGUAGE="en").content.decode()
    response = client.get(f"{LIST}?cost_centre=Magazzino+Bianchi", HTTP_ACCEPT_LANGUAGE="en")

    assert "Magazzino Bianchi" not in page
    assert cast.bianchi_line.offer.code not in page
    assert "Select a valid choice" in response.content.decode()
    assert cast.bianchi_line.number not in response.content.decode()


def test_filtered_to_nothing_the_page_says_no_line_matches_and_offers_every_line(
    cast: Cast, client_as: Any, rossi_lines: dict[str, Line]
) -> None:
    page = client_as(cast.rossi_admin).get(f"{LIST}?search=5555555", HTTP_ACCEPT_LANGUAGE="en")

    text = page.content.decode()
    assert "No line matches these filters." in text
    assert "Your company has no lines yet." not in text
    assert 'id="line-export"' not in text


def test_a_company_without_lines_is_told_it_has_none(cast: Cast, client_as: Any) -> None:
    Line.objects.filter(company=cast.rossi).delete()

    text = client_as(cast.rossi_admin).get(LIST, HTTP_ACCEPT_LANGUAGE="en").content.decode()

    assert "Your company has no lines yet." in text
    assert "No line matches" not in text


# ---------------------------------------------------------------------------
# Sorting
# ---------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("ordering", "expected"),
    [
        ("number", ["+390612345678", "+393209998877", "+393471112222"]),
        ("-number", ["+393471112222", "+393209998877", "+390612345678"]),
        ("offer", ["+390612345678", "+393209998877", "+393471112222"]),
        ("-offer", ["+393471112222", "+393209998877", "+390612345678"]),
        ("status", ["+390612345678", "+393209998877", "+393471112222"]),
        ("-status", ["+393471112222", "+393209998877", "+390612345678"]),
        ("cost_centre", ["+393209998877", "+390612345678"]),
        ("activated_on", ["+390612345678", "+393471112222", "+393209998877"]),
        ("-activated_on", ["+393209998877", "+393471112222", "+390612345678"]),
    ],
)
def test_the_list_sorts_by_each_column_offered_both_ways(
    cast: Cast, client_as: Any, rossi_lines: dict[str, Line], ordering: str, expected: list[str]
) -> None:
    Line.objects.filter(pk__in=[cast.rossi_assigned_line.pk, cast.rossi_other_line.pk]).delete()
    if ordering == "cost_centre":
        # "Cantieri" < "Direzione" < "Ufficio"
        expected = ["+393471112222", *expected]

    assert listed(client_as(cast.rossi_admin), f"ordering={ordering}") == expected


@pytest.mark.parametrize("ordering", ["pin", "-puk", "company__name", "offer__monthly_fee", "1; DROP", ""])
def test_a_sort_not_offered_is_ignored_and_the_list_sorts_by_number(
    cast: Cast, client_as: Any, rossi_lines: dict[str, Line], ordering: str
) -> None:
    numbers = listed(client_as(cast.rossi_admin), f"ordering={ordering}")

    assert numbers == sorted(numbers)
    assert len(numbers) == 5


def test_the_column_headers_sort_and_keep_the_filters(
    cast: Cast, client_as: Any, rossi_lines: dict[str, Line]
) -> None:
    text = (
        client_as(cast.rossi_admin)
        .get(f"{LIST}?offer=RIC-5&ordering=offer", HTTP_ACCEPT_LANGUAGE="en")
        .content.decode()
    )

    assert 'aria-sort="ascending"' in text
    assert 'href="?offer=RIC-5&amp;ordering=-offer"' in text
    assert 'href="?offer=RIC-5&amp;ordering=status"' in text


# ---------------------------------------------------------------------------
# Pages and the line count
# ---------------------------------------------------------------------------
def test_the_pages_keep_the_filters_and_the_count_is_of_the_filtered_lines(
    cast: Cast, client_as: Any
) -> None:
    for n in range(120):
        LineFactory.create(company=cast.rossi, number=f"+39345{n:07d}", cost_centre="Flotta")
    client = client_as(cast.rossi_admin)

    first = client.get(f"{LIST}?cost_centre=Flotta", HTTP_ACCEPT_LANGUAGE="en")
    third = client.get(f"{LIST}?cost_centre=Flotta&page=3", HTTP_ACCEPT_LANGUAGE="en")

    assert "120 lines match" in first.content.decode()
    assert len(numbers_on(first)) == 50
    assert 'href="?cost_centre=Flotta&amp;page=2"' in first.content.decode()
    assert numbers_on(third) == [f"+39345{n:07d}" for n in range(100, 120)]
    assert 'href="?cost_centre=Flotta&amp;page=2"' in third.content.decode()


def test_each_row_links_to_its_line_page(cast: Cast, client_as: Any) -> None:
    text = client_as(cast.rossi_admin).get(LIST).content.decode()

    assert f'href="{reverse("selfcare:line-detail", args=[cast.rossi_other_line.pk])}"' in text


# ---------------------------------------------------------------------------
# The CSV
# ---------------------------------------------------------------------------
def test_the_csv_is_the_filtered_list_on_every_page_with_its_columns(cast: Cast, client_as: Any) -> None:
    offer = OfferFactory.create(code="FLOTTA", name="Flotta Business")
    for n in range(60):
        LineFactory.create(company=cast.rossi, number=f"+39345{n:07d}", cost_centre="Flotta", offer=offer)
    cast.rossi_assigned_line.ceased_on = date(2026, 3, 31)
    cast.rossi_assigned_line.save()
    client = client_as(cast.rossi_admin)

    rows = csv_rows(client.get(f"{EXPORT}?cost_centre=Flotta&ordering=-number", HTTP_ACCEPT_LANGUAGE="en"))
    assigned = csv_rows(client.get(f"{EXPORT}?search={cast.rossi_assigned_line.number}"))

    assert rows[0] == [
        "Number",
        "Kind",
        "SIM",
        "ICCID",
        "Offer",
        "Status",
        "Cost centre",
        "Assigned to",
        "Activated on",
        "Ceased on",
    ]
    assert [row[0] for row in rows[1:]] == [f"+39345{n:07d}" for n in reversed(range(60))]
    line = Line.objects.get(number="+393450000059")
    assert rows[1] == [
        line.number,
        "Mobile",
        "Physical SIM",
        line.iccid,
        "Flotta Business",
        "Active",
        "Flotta",
        "",
        line.activated_on.isoformat() if line.activated_on else "",
        "",
    ]
    assert assigned[1][7] == "Luca Verdi <luca@rossi.example>"
    assert assigned[1][9] == "2026-03-31"


def test_the_csv_headers_are_in_the_users_language(cast: Cast, client_as: Any) -> None:
    rows = csv_rows(client_as(cast.rossi_admin).get(EXPORT, HTTP_ACCEPT_LANGUAGE="it"))

    assert rows[0][0] == "Numero"
    assert rows[0][6] == "Centro di costo"


def test_the_csv_holds_no_pin_or_puk(cast: Cast, client_as: Any) -> None:
    line = cast.rossi_other_line
    line.pin = "4826"
    line.puk = "93715086"
    line.save()

    response = client_as(cast.rossi_admin).get(EXPORT, HTTP_ACCEPT_LANGUAGE="en")
    rows = csv_rows(response)

    text = "\n".join(",".join(row) for row in rows)
    assert "93715086" not in text
    assert not any(value in {"4826"} for row in rows for value in row)
    assert not {"PIN", "PUK"} & set(rows[0])


def test_no_list_or_export_decrypts_a_pin_or_puk(
    cast: Cast, client_as: Any, api_client_for: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    cast.rossi_other_line.pin = "4826"
    cast.rossi_other_line.puk = "93715086"
    cast.rossi_other_line.save()

    def refuse(token: str) -> str:
        raise AssertionError("a list decrypted a SIM secret")

    monkeypatch.setattr("selfcare.crypto.decrypt", refuse)
    client = client_as(cast.rossi_admin)
    api = api_client_for(cast.rossi_admin)

    assert client.get(LIST).status_code == 200
    assert len(csv_rows(client.get(EXPORT))) == 3
    assert api.get("/api/v1/lines/").status_code == 200
    assert len(csv_rows(api.get("/api/v1/lines/export.csv"))) == 3


def test_the_csv_never_holds_another_companys_line(cast: Cast, client_as: Any) -> None:
    for role in cast.memberships_of_rossi().values():
        client = client_as(role)
        for query in (
            "",
            f"search={cast.bianchi_line.number}",
            f"cost_centre={cast.bianchi_line.cost_centre}",
        ):
            rows = csv_rows(client.get(f"{EXPORT}?{query}"))
            assert cast.bianchi_line.number not in {row[0] for row in rows}


def test_a_csv_cell_that_a_spreadsheet_would_run_as_a_formula_is_neutralised(
    cast: Cast, client_as: Any
) -> None:
    cast.rossi_other_line.cost_centre = '=HYPERLINK("http://evil.example")'
    cast.rossi_other_line.save()

    rows = csv_rows(client_as(cast.rossi_admin).get(f"{EXPORT}?search={cast.rossi_other_line.number}"))

    assert rows[1][6] == '\'=HYPERLINK("http://evil.example")'
    assert rows[1][0].startswith("+39")


def test_the_csv_is_a_streamed_download_not_kept_by_caches(cast: Cast, client_as: Any) -> None:
    response = client_as(cast.rossi_admin).get(EXPORT)

    assert response.streaming
    assert response["Content-Disposition"].startswith('attachment; filename="lines-')
    assert "no-store" in response["Cache-Control"]


# ---------------------------------------------------------------------------
# The line page
# ---------------------------------------------------------------------------
def test_the_line_page_shows_everything_about_the_line(cast: Cast, client_as: Any) -> None:
    line = cast.rossi_assigned_line
    line.offer.name = "Business Plus"
    line.offer.unlimited_data = True
    line.offer.save()

    response = client_as(cast.rossi_admin).get(
        reverse("selfcare:line-detail", args=[line.pk]), HTTP_ACCEPT_LANGUAGE="en"
    )

    text = response.content.decode()
    assert response.status_code == 200
    for shown in (
        line.number,
        line.iccid,
        "Business Plus",
        "Postpaid (invoiced)",
        "10.00",
        "Cantieri",
        "Luca Verdi",
    ):
        assert shown in text, shown
    assert "Unlimited" in text
    used = {template.name for template in response.templates}
    assert {
        "selfcare/lines/detail_sim.html",
        "selfcare/lines/detail_services.html",
        "selfcare/lines/detail_credit.html",
    } <= used


def test_a_line_user_opens_their_line_but_no_other(cast: Cast, client_as: Any) -> None:
    client = client_as(cast.rossi_line_user)

    assert client.get(reverse("selfcare:line-detail", args=[cast.rossi_assigned_line.pk])).status_code == 200
    assert client.get(reverse("selfcare:line-detail", args=[cast.rossi_other_line.pk])).status_code == 404


@pytest.mark.parametrize("role", ["rossi_legal_rep", "rossi_admin", "rossi_line_user"])
def test_another_companys_line_page_is_not_found_for_any_role(cast: Cast, client_as: Any, role: str) -> None:
    response = client_as(getattr(cast, role)).get(
        reverse("selfcare:line-detail", args=[cast.bianchi_line.pk])
    )

    assert response.status_code == 404


# ---------------------------------------------------------------------------
# The selector
# ---------------------------------------------------------------------------
def test_the_selector_scopes_before_it_filters(cast: Cast) -> None:
    everything = LineFilters(cost_centre=cast.bianchi_line.cost_centre)

    assert cast.bianchi_line not in lines_filtered(membership=cast.rossi_admin, filters=everything)
    assert list(lines_filtered(membership=cast.bianchi_admin, filters=LineFilters())) == [cast.bianchi_line]


# ---------------------------------------------------------------------------
# The API
# ---------------------------------------------------------------------------
def api_numbers(client: Any, query: str) -> list[str]:
    response = client.get(f"/api/v1/lines/?{query}")
    assert response.status_code == 200, response.content
    return [line["number"] for line in response.json()["results"]]


def test_the_api_searches_filters_and_sorts_like_the_page(
    cast: Cast, api_client_for: Any, rossi_lines: dict[str, Line]
) -> None:
    client = api_client_for(cast.rossi_admin)

    assert api_numbers(client, "search=%2B39%20347") == ["+393471112222"]
    assert api_numbers(client, "offer=RIC-5&ordering=-number") == ["+393471112222", "+393209998877"]
    assert api_numbers(
        client, "ordering=-activated_on&kind=mobile&offer=RIC-5&status=active&status=suspended"
    ) == [
        "+393209998877",
        "+393471112222",
    ]
    assert api_numbers(client, "search=999&cost_centre=Direzione") == ["+393209998877"]


def test_an_api_search_without_digits_is_a_400_that_names_the_field(cast: Cast, api_client_for: Any) -> None:
    response = api_client_for(cast.rossi_admin).get("/api/v1/lines/?search=Mario")

    assert response.status_code == 400
    assert "search" in response.json()


def test_an_api_ordering_not_offered_is_ignored(cast: Cast, api_client_for: Any) -> None:
    client = api_client_for(cast.rossi_admin)

    assert api_numbers(client, "ordering=puk") == api_numbers(client, "")


@pytest.mark.parametrize("ordering", ["offer", "-status", "cost_centre", "-activated_on", "number"])
def test_the_api_cursor_walks_every_line_once_in_any_order(
    cast: Cast, api_client_for: Any, rossi_lines: dict[str, Line], ordering: str
) -> None:
    # Several lines share an offer, a status, a cost centre or an activation date (or none).
    LineFactory.create_batch(4, company=cast.rossi, cost_centre="Cantieri", activated_on=None)
    expected = list(
        lines_filtered(membership=cast.rossi_admin, filters=LineFilters(ordering=ordering)).values_list(
            "number", flat=True
        )
    )
    client = api_client_for(cast.rossi_admin)

    seen: list[str] = []
    url: str | None = f"/api/v1/lines/?page_size=2&ordering={ordering}"
    while url:
        page = client.get(url).json()
        seen += [line["number"] for line in page["results"]]
        url = page["next"]

    assert seen == expected


def test_the_api_csv_is_the_pages_csv(
    cast: Cast, api_client_for: Any, client_as: Any, rossi_lines: dict[str, Line]
) -> None:
    query = "offer=RIC-5&ordering=-activated_on"
    api = api_client_for(cast.rossi_admin)

    from_api = csv_rows(api.get(f"/api/v1/lines/export.csv?{query}", HTTP_ACCEPT_LANGUAGE="en"))
    from_page = csv_rows(client_as(cast.rossi_admin).get(f"{EXPORT}?{query}", HTTP_ACCEPT_LANGUAGE="en"))

    assert from_api == from_page
    assert [row[0] for row in from_api[1:]] == ["+393209998877", "+393471112222"]


def test_the_api_csv_answers_an_accept_text_csv_and_refuses_bad_filters(
    cast: Cast, api_client_for: Any
) -> None:
    client = api_client_for(cast.rossi_line_user)

    rows = csv_rows(client.get("/api/v1/lines/export.csv", HTTP_ACCEPT="text/csv"))
    refused = client.get("/api/v1/lines/export.csv?status=stolen")

    assert [row[0] for row in rows[1:]] == [cast.rossi_assigned_line.number]
    assert refused.status_code == 400
    assert "status" in refused.json()


# ---------------------------------------------------------------------------
# A fixed number of queries, whatever the number of lines
# ---------------------------------------------------------------------------
def make_lines(company: Any, count: int) -> None:
    """Lines that each have their own offer and assignee, so a missing select_related would show."""
    for _ in range(count):
        LineFactory.create(company=company, assigned_to=MembershipFactory.create(company=company))


# The session, its user and the membership; the offers and cost centres of
# the filters; the count; the company switcher's memberships; the inbox badge;
# one page of lines; the session's sliding expiry (a savepoint, an update, a
# release).
LIST_QUERIES = 12
# The session, its user and the membership; the lines; the session's expiry
# (three). The filters' choices are queried only when one is asked for.
EXPORT_QUERIES = 7
# The token (with its membership, user and company), then one page of lines.
API_LIST_QUERIES = 2
# The token, then the lines.
API_EXPORT_QUERIES = 2


@pytest.mark.parametrize("size", [3, 120])
def test_the_list_page_takes_the_same_number_of_queries_whatever_the_number_of_lines(
    cast: Cast, client_as: Any, pinned_queries: Any, size: int
) -> None:
    make_lines(cast.rossi, size - 2)
    client_as(cast.rossi_admin)

    # A filter with choices validated and shown: its choices are still queried once.
    response = pinned_queries(f"{LIST}?ordering=-offer&status=active&cost_centre=Sales", queries=LIST_QUERIES)

    assert len(numbers_on(response)) == min(size - 2, 50)


@pytest.mark.parametrize("size", [3, 120])
def test_the_csv_takes_the_same_number_of_queries_whatever_the_number_of_lines(
    cast: Cast, client_as: Any, django_assert_num_queries: Any, size: int
) -> None:
    make_lines(cast.rossi, size - 2)
    client = client_as(cast.rossi_admin)

    with django_assert_num_queries(EXPORT_QUERIES):
        rows = csv_rows(client.get(f"{EXPORT}?ordering=cost_centre"))

    assert len(rows) == size + 1


@pytest.mark.parametrize("size", [3, 120])
def test_the_api_list_and_csv_take_the_same_number_of_queries_whatever_the_number_of_lines(
    cast: Cast, api_client_for: Any, django_assert_num_queries: Any, size: int
) -> None:
    make_lines(cast.rossi, size - 2)
    client = api_client_for(cast.rossi_admin)
    client.get("/api/v1/me/")  # the token's first use writes last_used_at once

    with django_assert_num_queries(API_LIST_QUERIES):
        listed_lines = client.get("/api/v1/lines/?ordering=offer&status=active&page_size=500").json()[
            "results"
        ]
    with django_assert_num_queries(API_EXPORT_QUERIES):
        rows = csv_rows(client.get("/api/v1/lines/export.csv?ordering=-activated_on"))

    assert len(listed_lines) == size
    assert len(rows) == size + 1


def test_every_sort_offered_is_documented_in_the_api_schema(db: None) -> None:
    schema = Client().get("/api/schema/?format=json").json()

    (ordering,) = [
        p for p in schema["paths"]["/api/v1/lines/"]["get"]["parameters"] if p["name"] == "ordering"
    ]
    # And empty, as a filter with choices may be (selfcare.api.schema): the default order.
    assert ordering["schema"]["enum"] == [*LINE_SORT_CHOICES, ""]
    assert "text/csv" in schema["paths"]["/api/v1/lines/export.csv"]["get"]["responses"]["200"]["content"]


def test_a_membership_of_rossi_is_what_the_list_follows(cast: Cast) -> None:
    # The selector answers for the membership, not the user: a consultant in
    # both companies sees Bianchi's lines only while working for Bianchi.
    consultant = MembershipFactory.create(user=cast.rossi_admin.user, company=cast.bianchi, role="admin")

    rossi = set(lines_filtered(membership=cast.rossi_admin, filters=LineFilters()))
    bianchi = set(lines_filtered(membership=Membership.objects.get(pk=consultant.pk), filters=LineFilters()))

    assert cast.bianchi_line in bianchi
    assert cast.bianchi_line not in rossi
