"""The REST API: authentication, tenancy, roles, filters, pagination, throttling and its schema."""

from __future__ import annotations

import io
import re
import zipfile
from datetime import date
from decimal import Decimal
from io import StringIO
from typing import Any

import pytest
from django import urls
from django.core.cache import cache
from django.core.management import call_command
from django.db import models
from django.test import Client, override_settings
from django.urls import URLPattern, URLResolver, get_resolver, resolve
from drf_spectacular.generators import SchemaGenerator
from rest_framework import viewsets
from rest_framework.routers import SimpleRouter
from rest_framework.test import APIClient
from rest_framework.throttling import UserRateThrottle

from billing.models import (
    ClearNumbersRequest,
    FairUseFinding,
    Invoice,
    InvoiceDocument,
    TrafficExport,
    TrafficRecord,
)
from insight.models import InsightAlert
from procedures.models import ActivationOrder, Request, RequestDocument
from selfcare import permissions
from selfcare.api.base import TenantAPIMixin
from selfcare.api.lines import LineSerializer
from selfcare.api.pagination import StableCursorPagination
from selfcare.middleware import SESSION_MEMBERSHIP_KEY
from selfcare.models import ApiToken, Line, LineKind, LineStatus, Membership
from selfcare.services.tokens import api_token_create
from tests.billing.fair_use_rows import make_finding
from tests.billing.invoices import make_invoice
from tests.billing.traffic_rows import recent_traffic
from tests.cast import Cast
from tests.factories import LineFactory, MembershipFactory, OfferFactory, UserFactory

pytestmark = pytest.mark.django_db

ROSSI_ROLES = ["rossi_legal_rep", "rossi_admin", "rossi_line_user"]
PUBLIC_PATHS = [
    "/api/schema/",
    "/api/docs/",
    "/api/docs/?script=",
    "/api/v1/help/",
    "/api/v1/roaming/zones/",
    "/api/v1/roaming/estimate/?country=CH&days=3",
]
# API operations anybody may call (CONTRACTS.md, "HTTP": the help pages and the roaming rates are public).
PUBLIC_OPERATIONS = {
    ("/api/v1/help/", "GET"),
    ("/api/v1/help/{slug}/", "GET"),
    ("/api/v1/roaming/zones/", "GET"),
    ("/api/v1/roaming/estimate/", "GET"),
}


def schema_operations() -> list[tuple[str, str]]:
    """Every (path, method) the OpenAPI schema describes."""
    schema = SchemaGenerator().get_schema(request=None, public=True)
    return [
        (path, method.upper())
        for path, operations in schema["paths"].items()
        for method in operations
        if method in {"get", "post", "put", "patch", "delete"}
    ]


def call(client: APIClient | Client, method: str, path: str) -> Any:
    return getattr(client, method.lower())(path, {}, format="json") if method != "GET" else client.get(path)


def session_api_client(membership: Membership) -> APIClient:
    client = APIClient()
    client.force_login(membership.user)
    session = client.session
    session[SESSION_MEMBERSHIP_KEY] = membership.pk
    session.save()
    return client


@pytest.fixture
def bianchi_rows(cast: Cast) -> dict[type[models.Model], models.Model]:
    """One row of Bianchi for each model an API route loads by id."""
    bianchi_token, _key = api_token_create(membership=cast.bianchi_admin, name="Bianchi ERP", created_by=None)
    return {
        Line: cast.bianchi_line,
        Membership: cast.bianchi_admin,
        ApiToken: bianchi_token,
        Invoice: make_invoice(cast.bianchi),
        # A copy of a Bianchi invoice (billing.api_documents): its file is 404 to Rossi.
        InvoiceDocument: InvoiceDocument.objects.create(
            invoice=make_invoice(cast.bianchi, month=2),
            kind="duplicate",
            status="ready",
            file="invoices/b.pdf",
        ),
        # A request for numbers in clear of Bianchi (billing.api_clear_numbers): never in Rossi's list.
        ClearNumbersRequest: bianchi_clear_numbers_request(cast),
        # A call of Bianchi's line yesterday (billing.api_traffic_report): never in Rossi's traffic.
        TrafficRecord: recent_traffic(cast.bianchi_line, record_id="bianchi-call-1"),
        # A ready traffic report (XLSX) of Bianchi's admin (billing.api_traffic_xlsx): 404 to Rossi.
        TrafficExport: TrafficExport.objects.create(
            company=cast.bianchi,
            membership=cast.bianchi_admin,
            language="it",
            status="ready",
            file="traffic/b.xlsx",
        ),
        # A fair-use finding of Bianchi's line (billing.api_fair_use): 404 to Rossi, never in its list.
        FairUseFinding: make_finding(cast.bianchi_line),
        # A fixed-line activation order of Bianchi (procedures.api_activation): 404 to Rossi, never in its list.
        ActivationOrder: ActivationOrder.objects.create(
            company=cast.bianchi,
            reference="ATT-2026-999001",
            line=cast.bianchi_line,
            installation_address="Bianchi Logistica, Via Bianchi 1",
            ordered_on=date(2026, 1, 2),
            promised_on=date(2026, 1, 30),
        ),
        # A request of Bianchi and its receipt (procedures.api_requests): 404 to Rossi, never in its list.
        Request: (bianchi_request := bianchi_request_with_receipt(cast)),
        RequestDocument: bianchi_request.documents.get(),
        # An alert of Bianchi on its line (insight.api): 404 to Rossi, never in its list.
        InsightAlert: InsightAlert.objects.create(
            company=cast.bianchi, kind="line_spend_above", line=cast.bianchi_line, amount=Decimal("50.00")
        ),
    }


def bianchi_request_with_receipt(cast: Cast) -> Request:
    request = Request.objects.create(
        company=cast.bianchi,
        kind="directory_listing",
        reference="R-2026-999001",
        submitted_by=cast.bianchi_legal_rep.user,
        data={"listed": True, "published_name": cast.bianchi.name},
    )
    request.lines.set([cast.bianchi_line])
    request.documents.create(
        role="receipt",
        file="requests/b-receipt.pdf",
        original_name="receipt.pdf",
        content_type="application/pdf",
        size=1,
        sha256="0" * 64,
        generated=True,
    )
    return request


def bianchi_clear_numbers_request(cast: Cast) -> ClearNumbersRequest:
    request = ClearNumbersRequest.objects.create(
        company=cast.bianchi,
        requested_by=cast.bianchi_legal_rep.user,
        period_start=date(2026, 1, 1),
        period_end=date(2026, 1, 31),
        users_informed=True,
    )
    request.lines.set([cast.bianchi_line])
    return request


# ---------------------------------------------------------------------------
# Authentication and the company a call works in
# ---------------------------------------------------------------------------
def test_a_token_call_works_in_the_company_of_the_tokens_membership(cast: Cast, api_client_for: Any) -> None:
    response = api_client_for(cast.rossi_admin).get("/api/v1/me/")

    assert response.status_code == 200
    body = response.json()
    assert body["user"]["email"] == "marco@rossi.example"
    assert body["membership"]["id"] == cast.rossi_admin.pk
    assert body["membership"]["role"] == "admin"
    assert body["membership"]["company"]["vat_number"] == "IT01234560017"
    assert body["authentication"] == "token"
    assert body["capabilities"]["can_manage_users"] is True
    assert body["capabilities"]["can_sign_legal_forms"] is False


def test_a_session_call_works_in_the_company_selected_in_the_portal(cast: Cast) -> None:
    consultant = cast.rossi_admin.user
    bianchi_membership = MembershipFactory.create(user=consultant, company=cast.bianchi, role="line_user")
    client = session_api_client(bianchi_membership)

    body = client.get("/api/v1/me/").json()

    assert body["authentication"] == "session"
    assert body["membership"]["company"]["id"] == cast.bianchi.pk
    assert body["membership"]["role"] == "line_user"


def test_a_token_works_in_its_own_company_even_from_a_session_in_another(
    cast: Cast, api_client_for: Any
) -> None:
    consultant = cast.rossi_admin.user
    bianchi_membership = MembershipFactory.create(user=consultant, company=cast.bianchi, role="admin")
    client = api_client_for(cast.rossi_admin)
    client.force_login(consultant)
    session = client.session
    session[SESSION_MEMBERSHIP_KEY] = bianchi_membership.pk
    session.save()

    body = client.get("/api/v1/company/").json()

    assert body["id"] == cast.rossi.pk


def test_an_unknown_token_is_refused_with_401(cast: Cast) -> None:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION="Token not-a-key-of-ours")

    response = client.get("/api/v1/me/")

    assert response.status_code == 401
    assert response["WWW-Authenticate"] == "Token"


def test_anonymous_calls_are_refused_on_every_api_route(cast: Cast) -> None:
    operations = schema_operations()
    assert len(operations) >= 10
    client = APIClient()

    refused = {
        (path, method): call(
            client, method, path.replace("{id}", str(cast.rossi_assigned_line.pk))
        ).status_code
        for path, method in operations
        if (path, method) not in PUBLIC_OPERATIONS
    }

    assert refused == dict.fromkeys(refused, 401)
    assert set(operations) >= PUBLIC_OPERATIONS


def test_the_schema_and_the_docs_are_public(db: None) -> None:
    client = APIClient()

    for path in PUBLIC_PATHS:
        assert client.get(path).status_code == 200, path
    assert client.get("/api/schema/")["Content-Type"].startswith("application/vnd.oai.openapi")
    assert client.get("/api/docs/?script=")["Content-Type"].startswith("application/javascript")


def test_the_api_answers_401_not_a_login_redirect_when_login_is_required_everywhere(
    cast: Cast, settings: Any
) -> None:
    login_required = "django.contrib.auth.middleware.LoginRequiredMiddleware"
    if login_required not in settings.MIDDLEWARE:
        settings.MIDDLEWARE = [*settings.MIDDLEWARE, login_required]
    client = Client()

    assert client.get("/api/v1/lines/").status_code == 401
    assert client.get("/api/v1/lines/")["Content-Type"] == "application/json"
    for path in PUBLIC_PATHS:
        assert client.get(path).status_code == 200, path


def test_a_user_without_a_company_is_refused_with_403(db: None) -> None:
    staff = UserFactory.create(is_staff=True)
    client = APIClient()
    client.force_login(staff)

    response = client.get("/api/v1/me/")

    assert response.status_code == 403


def test_a_form_encoded_body_is_refused_and_changes_nothing(cast: Cast, api_client_for: Any) -> None:
    """JSON only: DRF reads a boolean left out of a form body as false, which would switch VoLTE off."""
    line = cast.rossi_assigned_line
    assert line.volte_enabled is True

    response = api_client_for(cast.rossi_admin).post(
        f"/api/v1/lines/{line.pk}/services/volte/", {"unrelated": "x"}, format="multipart"
    )

    assert response.status_code == 415
    line.refresh_from_db()
    assert line.volte_enabled is True


def test_a_session_call_that_writes_needs_the_csrf_token(cast: Cast) -> None:
    client = APIClient(enforce_csrf_checks=True)
    client.force_login(cast.rossi_admin.user)

    response = client.post("/api/v1/tokens/", {"name": "Script"}, format="json")

    assert response.status_code == 403
    assert "CSRF" in response.json()["detail"]


# ---------------------------------------------------------------------------
# Tenancy: another company's ids are 404 everywhere
# ---------------------------------------------------------------------------
@pytest.mark.parametrize("role", ROSSI_ROLES)
def test_a_rossi_token_gets_404_for_every_bianchi_id_on_every_detail_route(
    cast: Cast, api_client_for: Any, bianchi_rows: dict[type[models.Model], models.Model], role: str
) -> None:
    client = api_client_for(getattr(cast, role))
    # Every method, not only those the route serves: a 405 would tell that the row exists.
    detail_paths = {path for path, _method in schema_operations() if "{id}" in path}
    detail_operations = [
        (path, method) for path in detail_paths for method in ("GET", "POST", "PUT", "PATCH", "DELETE")
    ]
    assert detail_paths

    answers = {}
    for path, method in detail_operations:
        model = resolve(path.replace("{id}", "1")).func.cls.tenant_model  # type: ignore[attr-defined]
        assert model in bianchi_rows, f"add a Bianchi {model.__name__} to bianchi_rows for {path}"
        answers[path, method] = call(
            client, method, path.replace("{id}", str(bianchi_rows[model].pk))
        ).status_code

    assert answers == dict.fromkeys(answers, 404)


@pytest.mark.parametrize("role", ROSSI_ROLES)
def test_no_list_of_a_rossi_token_contains_a_row_of_bianchi(
    cast: Cast, api_client_for: Any, bianchi_rows: dict[type[models.Model], models.Model], role: str
) -> None:
    client = api_client_for(getattr(cast, role))
    bianchi_ids = {model: row.pk for model, row in bianchi_rows.items()}
    # Paths without a parameter ({id}, {slug}): the lists. The trip estimate is no list: it needs
    # its query (tests/roaming/test_api.py) and shows no company data.
    list_paths = [
        path
        for path, method in schema_operations()
        if method == "GET" and "{" not in path and path != "/api/v1/roaming/estimate/"
    ]

    for path in list_paths:
        response = client.get(path)
        assert response.status_code in {200, 403}, path
        if response.get("Content-Type", "").startswith("application/vnd.openxmlformats"):
            # An XLSX (the traffic report) is zipped: the text of its sheets, unzipped.
            with zipfile.ZipFile(io.BytesIO(b"".join(response.streaming_content))) as archive:
                sheets = "".join(
                    archive.read(name).decode() for name in archive.namelist() if name.startswith("xl/")
                )
            assert "Bianchi" not in sheets, path
            assert cast.bianchi_line.number not in sheets, path
            continue
        if getattr(response, "streaming", False):
            # A file (a CSV export): no ids to compare, but no Bianchi text either.
            text = b"".join(response.streaming_content).decode()
            assert "Bianchi" not in text, path
            assert "bianchi.example" not in text, path
            assert cast.bianchi_line.number not in text, path
            continue
        body = response.json()
        rows = body.get("results", body) if isinstance(body, dict) else body
        text = response.content.decode()
        assert "Bianchi" not in text, path
        assert "bianchi.example" not in text, path
        if isinstance(rows, list) and rows and "id" in rows[0]:
            model = resolve(path).func.cls.tenant_model  # type: ignore[attr-defined]
            assert bianchi_ids.get(model) not in {row["id"] for row in rows}, path


def test_the_company_is_the_tokens_company(cast: Cast, api_client_for: Any) -> None:
    body = api_client_for(cast.rossi_line_user).get("/api/v1/company/").json()

    assert body == {
        "id": cast.rossi.pk,
        "name": "Rossi Impianti S.r.l.",
        "vat_number": "IT01234560017",
        "tax_code": "01234560017",
        "pec": "rossi@pec.example.it",
        "recipient_code": cast.rossi.recipient_code,
        "registered_office": cast.rossi.registered_office,
    }


def test_a_session_lists_every_company_of_the_user_and_marks_the_current_one(cast: Cast) -> None:
    consultant = cast.rossi_admin.user
    bianchi_membership = MembershipFactory.create(user=consultant, company=cast.bianchi, role="line_user")

    body = session_api_client(bianchi_membership).get("/api/v1/memberships/").json()

    assert {(m["company"]["id"], m["current"]) for m in body} == {
        (cast.rossi.pk, False),
        (cast.bianchi.pk, True),
    }


def test_a_token_lists_only_its_own_membership(cast: Cast, api_client_for: Any) -> None:
    consultant = cast.rossi_admin.user
    MembershipFactory.create(user=consultant, company=cast.bianchi, role="admin")

    body = api_client_for(cast.rossi_admin).get("/api/v1/memberships/").json()

    assert [(m["id"], m["current"]) for m in body] == [(cast.rossi_admin.pk, True)]


# ---------------------------------------------------------------------------
# Roles
# ---------------------------------------------------------------------------
@pytest.mark.parametrize("role", ["rossi_legal_rep", "rossi_admin"])
def test_those_who_manage_users_list_the_company_users(cast: Cast, api_client_for: Any, role: str) -> None:
    body = api_client_for(getattr(cast, role)).get("/api/v1/company/users/").json()

    assert {user["email"] for user in body["results"]} == {
        "anna@rossi.example",
        "marco@rossi.example",
        "luca@rossi.example",
    }


def test_a_line_user_may_not_list_the_company_users(cast: Cast, api_client_for: Any) -> None:
    response = api_client_for(cast.rossi_line_user).get("/api/v1/company/users/")

    assert response.status_code == 403


def test_a_line_user_reads_their_own_membership_but_no_colleague(cast: Cast, api_client_for: Any) -> None:
    client = api_client_for(cast.rossi_line_user)

    assert client.get(f"/api/v1/company/users/{cast.rossi_line_user.pk}/").json()["role"] == "line_user"
    assert client.get(f"/api/v1/company/users/{cast.rossi_admin.pk}/").status_code == 404


def test_a_line_user_sees_only_the_lines_assigned_to_them(cast: Cast, api_client_for: Any) -> None:
    client = api_client_for(cast.rossi_line_user)

    listed = client.get("/api/v1/lines/").json()["results"]

    assert [line["number"] for line in listed] == [cast.rossi_assigned_line.number]
    assert listed[0]["assigned_to"]["email"] == "luca@rossi.example"
    assert client.get(f"/api/v1/lines/{cast.rossi_assigned_line.pk}/").status_code == 200
    assert client.get(f"/api/v1/lines/{cast.rossi_other_line.pk}/").status_code == 404


def test_an_administrator_sees_every_line_of_the_company(cast: Cast, api_client_for: Any) -> None:
    listed = api_client_for(cast.rossi_admin).get("/api/v1/lines/").json()["results"]

    assert {line["id"] for line in listed} == {cast.rossi_assigned_line.pk, cast.rossi_other_line.pk}


class ManagersOnlyLineViewSet(TenantAPIMixin[Line], viewsets.ReadOnlyModelViewSet[Line]):
    """A route for those who manage users, as a later feature would write one."""

    tenant_model = Line
    serializer_class = LineSerializer
    required_capability = permissions.can_manage_users


_router = SimpleRouter()
_router.register("managers-only/lines", ManagersOnlyLineViewSet, basename="managers-only-line")
urlpatterns = [urls.path("api/v1/", urls.include(_router.urls)), urls.path("", urls.include("selfcare.urls"))]


@override_settings(ROOT_URLCONF=__name__)
def test_a_role_without_the_capability_gets_404_for_a_foreign_id_and_403_for_its_own(
    cast: Cast, api_client_for: Any
) -> None:
    client = api_client_for(cast.rossi_line_user)

    assert client.get(f"/api/v1/managers-only/lines/{cast.bianchi_line.pk}/").status_code == 404
    assert client.delete(f"/api/v1/managers-only/lines/{cast.bianchi_line.pk}/").status_code == 404
    assert client.get(f"/api/v1/managers-only/lines/{cast.rossi_assigned_line.pk}/").status_code == 403
    assert client.get("/api/v1/managers-only/lines/").status_code == 403
    assert api_client_for(cast.rossi_admin).get("/api/v1/managers-only/lines/").status_code == 200


def test_a_malformed_id_is_not_found(cast: Cast, api_client_for: Any) -> None:
    assert api_client_for(cast.rossi_admin).get("/api/v1/lines/not-a-number/").status_code == 404


# ---------------------------------------------------------------------------
# Filters and pagination
# ---------------------------------------------------------------------------
def test_lines_are_filtered_by_status_kind_offer_and_cost_centre(cast: Cast, api_client_for: Any) -> None:
    fixed_offer = OfferFactory.create(code="FISSO-10")
    suspended = LineFactory.create(company=cast.rossi, status=LineStatus.SUSPENDED, cost_centre="Cantieri")
    fixed = LineFactory.create(
        company=cast.rossi, kind=LineKind.FIXED, sim="", iccid="", offer=fixed_offer, cost_centre="Ufficio"
    )
    client = api_client_for(cast.rossi_admin)

    def numbers(query: str) -> set[str]:
        response = client.get(f"/api/v1/lines/?{query}")
        assert response.status_code == 200, response.content
        return {line["number"] for line in response.json()["results"]}

    assert numbers("status=suspended") == {suspended.number}
    assert numbers("status=suspended&status=active") == {
        suspended.number,
        fixed.number,
        cast.rossi_assigned_line.number,
        cast.rossi_other_line.number,
    }
    assert numbers("kind=fixed") == {fixed.number}
    assert numbers("offer=FISSO-10") == {fixed.number}
    assert numbers("cost_centre=Cantieri") == {suspended.number, cast.rossi_assigned_line.number}
    assert numbers("cost_centre=Cantieri&status=active") == {cast.rossi_assigned_line.number}


def test_a_filter_never_reaches_beyond_the_company(cast: Cast, api_client_for: Any) -> None:
    bianchi_cost_centre = cast.bianchi_line.cost_centre

    listed = api_client_for(cast.rossi_admin).get(f"/api/v1/lines/?cost_centre={bianchi_cost_centre}").json()

    assert cast.bianchi_line.pk not in {line["id"] for line in listed["results"]}


def test_an_unknown_filter_value_is_a_400_that_names_the_field(cast: Cast, api_client_for: Any) -> None:
    response = api_client_for(cast.rossi_admin).get("/api/v1/lines/?status=stolen")

    assert response.status_code == 400
    assert "status" in response.json()


def test_the_cursor_walks_every_line_once(cast: Cast, api_client_for: Any) -> None:
    LineFactory.create_batch(5, company=cast.rossi)
    expected = set(Line.objects.filter(company=cast.rossi).values_list("pk", flat=True))
    client = api_client_for(cast.rossi_admin)

    seen: list[int] = []
    url: str | None = "/api/v1/lines/?page_size=3"
    pages = 0
    while url:
        page = client.get(url).json()
        seen += [line["id"] for line in page["results"]]
        url = page["next"]
        pages += 1

    assert pages == 3
    assert sorted(seen) == sorted(expected)
    assert len(seen) == len(expected)


def test_a_page_size_above_the_cap_gets_the_cap(
    cast: Cast, api_client_for: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(StableCursorPagination, "max_page_size", 1)

    response = api_client_for(cast.rossi_admin).get("/api/v1/lines/?page_size=100000")

    assert response.status_code == 200
    assert len(response.json()["results"]) == 1
    assert response.json()["next"] is not None


@pytest.mark.parametrize("extra_lines", [0, 40])
def test_the_lines_list_takes_the_same_number_of_queries_whatever_its_length(
    cast: Cast, api_client_for: Any, django_assert_num_queries: Any, extra_lines: int
) -> None:
    for _ in range(extra_lines):
        # Each line its own offer and assignee: a missing select_related would show.
        LineFactory.create(company=cast.rossi, assigned_to=MembershipFactory.create(company=cast.rossi))
    client = api_client_for(cast.rossi_admin)
    client.get("/api/v1/me/")  # the token's first use writes last_used_at once

    # The token (with its membership, user and company), then one page of lines.
    with django_assert_num_queries(2):
        response = client.get("/api/v1/lines/")

    assert response.status_code == 200
    assert len(response.json()["results"]) == 2 + extra_lines


# ---------------------------------------------------------------------------
# Throttling
# ---------------------------------------------------------------------------
def test_calls_beyond_the_users_rate_are_refused_with_429_counted_in_the_shared_cache(
    cast: Cast, api_client_for: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(UserRateThrottle, "THROTTLE_RATES", {"user": "3/minute"})
    client = api_client_for(cast.rossi_admin)

    statuses = [client.get("/api/v1/me/").status_code for _ in range(4)]

    assert statuses == [200, 200, 200, 429]
    assert len(cache.get(f"throttle_user_{cast.rossi_admin.user.pk}")) == 3


# ---------------------------------------------------------------------------
# The schema
# ---------------------------------------------------------------------------
def api_routes(patterns: list[URLPattern | URLResolver], prefix: str = "") -> set[str]:
    """Every route under /api/v1/, spelt as OpenAPI paths are (`{id}` for the primary key)."""
    routes = set()
    for pattern in patterns:
        route = prefix + str(pattern.pattern).replace("^", "").replace("$", "")
        if isinstance(pattern, URLResolver):
            routes |= api_routes(pattern.url_patterns, route)
        elif route.startswith("api/v1/"):
            route = re.sub(r"\(\?P<(\w+)>[^)]*\)", r"{\1}", route)
            route = re.sub(r"<(?:\w+:)?(\w+)>", r"{\1}", route)
            routes.add("/" + route.replace("{pk}", "{id}"))
    return routes


def test_every_api_route_is_in_the_schema() -> None:
    documented = {path for path, _method in schema_operations()}

    assert api_routes(get_resolver().url_patterns) == documented


def test_the_schema_validates_without_warnings(db: None) -> None:
    # --fail-on-warn turns any warning or error of the generator into a CommandError.
    call_command("spectacular", "--validate", "--fail-on-warn", "--file", "/dev/null", stdout=StringIO())


def test_the_schema_documents_token_authentication(db: None) -> None:
    schema = SchemaGenerator().get_schema(request=None, public=True)

    token_scheme = schema["components"]["securitySchemes"]["tokenAuth"]
    assert token_scheme == {
        "type": "apiKey",
        "in": "header",
        "name": "Authorization",
        "description": 'Token-based authentication with required prefix "Token"',
    }
