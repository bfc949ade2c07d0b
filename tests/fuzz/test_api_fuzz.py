"""Fuzzing the REST API with schemathesis, from its own OpenAPI schema.

Every operation of the schema is called with generated data (valid and not)
as each of Rossi's roles (with an API token), as the operator's staff (with a
session, as the provisioning system calls `POST /api/v1/activations/steps/`)
and anonymously. Each answer must not be a server error and must be what the
schema says: a documented status code, content type, body and headers; data
the schema rejects must be rejected. Path ids are, half of the time, those of
rows of Rossi and Bianchi that exist, so that the calls also reach the views
past their 404s. The anonymous pass also proves that nothing but the public
operations of CONTRACTS.md ("HTTP") answers a caller who is not logged in.

The application is called in-process through its WSGI handler, inside each
test's rolled-back transaction: mail and SMS go to the suite's locmem
backends, files to a temporary folder, and no test sees another's writes.
Generation is deterministic and bounded (MAX_EXAMPLES per operation and
caller), with no Hypothesis database.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import Any

import hypothesis
import pytest
import schemathesis
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.core.signals import request_finished, request_started
from django.core.wsgi import get_wsgi_application
from django.db import close_old_connections
from django.test import Client
from drf_spectacular.generators import SchemaGenerator
from drf_spectacular.renderers import OpenApiJsonRenderer
from hypothesis import strategies as st

from billing.models import InvoiceDocument, TrafficExport
from insight.models import InsightAlert
from procedures.models import Request
from selfcare.models import HelpPage
from selfcare.services.tokens import api_token_create
from tests.billing.fair_use_rows import make_finding
from tests.billing.invoices import make_invoice
from tests.billing.traffic_rows import recent_traffic
from tests.cast import Cast
from tests.procedures.activation_helpers import fixed_line, make_order, procedures_staff

pytestmark = pytest.mark.django_db

# Examples per operation and caller: 75 operations x 5 callers in about a
# minute on two cores. More finds more, slower; the seed is fixed either way.
MAX_EXAMPLES = 3
PDF = ContentFile(b"%PDF-1.4 a file for the download routes")

# What anybody may call without logging in (CONTRACTS.md, "HTTP"): the help
# pages and the public roaming rates. Everything else answers 401 or 403.
PUBLIC_OPERATIONS = {
    ("GET", "/api/v1/help/"),
    ("GET", "/api/v1/help/{slug}/"),
    ("GET", "/api/v1/roaming/zones/"),
    ("GET", "/api/v1/roaming/estimate/"),
}

CONFIG = schemathesis.Config.from_dict(
    {
        "checks": {
            "enabled": False,
            "not_a_server_error": {"enabled": True},
            "status_code_conformance": {"enabled": True},
            "content_type_conformance": {"enabled": True},
            "response_schema_conformance": {"enabled": True},
            "response_headers_conformance": {"enabled": True},
            "negative_data_rejection": {"enabled": True},
        },
        # The coverage phase makes every boundary case of every parameter: far
        # more calls than the time this module may take.
        "phases": {"coverage": {"enabled": False}},
    }
)


def served_schema() -> dict[str, Any]:
    """The schema as /api/schema/ serves it (built here: loading it through a request would need the database)."""
    served: dict[str, Any] = json.loads(
        OpenApiJsonRenderer().render(SchemaGenerator().get_schema(request=None, public=True))
    )
    return served


schema = schemathesis.openapi.from_dict(served_schema(), config=CONFIG)
schema.app = get_wsgi_application()

SETTINGS = hypothesis.settings(
    max_examples=MAX_EXAMPLES,
    derandomize=True,
    database=None,
    deadline=None,
    # No shrinking: a failure is reported as found, without minutes of replays.
    phases=[hypothesis.Phase.explicit, hypothesis.Phase.generate],
    # The database rows and the caller are made once per operation, not per
    # example: examples may see each other's writes, within the test only.
    suppress_health_check=list(hypothesis.HealthCheck),
)


@pytest.fixture(autouse=True)
def _connection_kept_across_requests() -> Iterator[None]:
    """The WSGI handler keeps the test's database connection, as Django's test client does.

    A real server closes the connection at the end of each request; here that
    would close the test's transaction, with its rows, after the first call.
    """
    request_started.disconnect(close_old_connections)
    request_finished.disconnect(close_old_connections)
    yield
    request_started.connect(close_old_connections)
    request_finished.connect(close_old_connections)


@pytest.fixture(autouse=True)
def _files_in_a_temporary_folder(settings: Any, tmp_path: Path) -> None:
    settings.STORAGES = {
        **settings.STORAGES,
        "default": {
            "BACKEND": "django.core.files.storage.FileSystemStorage",
            "OPTIONS": {"location": str(tmp_path / "private"), "base_url": None},
        },
    }


@pytest.fixture
def existing_ids(cast: Cast) -> dict[str, str]:
    """For each path with an id, the id of a row that exists: Rossi's mostly, a few of Bianchi's."""
    line = cast.rossi_assigned_line
    invoice = make_invoice(cast.rossi, lines=[(line, "Cantieri", "50.00")])
    copy = InvoiceDocument.objects.create(
        invoice=invoice, kind="duplicate", status="ready", file=default_storage.save("invoices/r.pdf", PDF)
    )
    request = Request.objects.create(
        company=cast.rossi,
        kind="directory_listing",
        reference="R-2026-000001",
        submitted_by=cast.rossi_legal_rep.user,
        data={"listed": True, "published_name": cast.rossi.name},
    )
    request.lines.set([line])
    document = request.documents.create(
        role="receipt",
        file=default_storage.save("requests/r-receipt.pdf", PDF),
        original_name="receipt.pdf",
        content_type="application/pdf",
        size=1,
        sha256="0" * 64,
        generated=True,
    )
    recent_traffic(line, record_id="rossi-call-1")
    export = TrafficExport.objects.create(
        company=cast.rossi,
        membership=cast.rossi_admin,
        language="it",
        status="ready",
        filters={"first_day": "2026-01-01", "last_day": "2026-01-31", "line_ids": [line.pk]},
        file=default_storage.save("traffic/r.xlsx", ContentFile(b"PK a file for the download route")),
    )
    alert = InsightAlert.objects.create(
        company=cast.rossi, kind="line_spend_above", line=line, amount=Decimal("50.00")
    )
    token, _key = api_token_create(membership=cast.rossi_line_user, name="Fleet", created_by=None)
    order = make_order(
        cast.rossi,
        line=fixed_line(cast.rossi, assigned_to=cast.rossi_line_user),
        ordered_on=date(2026, 1, 2),
        promised_on=date(2026, 1, 30),
    )
    ids = {
        "/api/v1/activations/": order.pk,
        "/api/v1/company/users/": cast.rossi_line_user.pk,
        "/api/v1/fair-use/findings/": make_finding(line).pk,
        "/api/v1/help/": HelpPage.objects.order_by("pk").values_list("slug", flat=True).first(),
        "/api/v1/insight/alerts/": alert.pk,
        "/api/v1/invoices/copies/": copy.pk,
        "/api/v1/invoices/": invoice.pk,
        "/api/v1/lines/": line.pk,
        "/api/v1/requests/documents/": document.pk,
        "/api/v1/requests/": request.pk,
        "/api/v1/roaming/lines/": line.pk,
        "/api/v1/tokens/": token.pk,
        "/api/v1/traffic/exports/": export.pk,
    }
    return {prefix: str(value) for prefix, value in ids.items()}


# The invoice made here is no complete electronic invoice: its XML answers the
# documented 503 (staff alerted), which the server-error check would count;
# tests/billing/test_documents.py downloads the XML of a billed invoice.
NO_EXISTING_ID = {"/api/v1/invoices/{id}/xml/"}


def use_existing_id(case: schemathesis.Case[Any], existing: dict[str, str], draw: Callable[..., Any]) -> None:
    """Half of the time, the path's id is one of a row that exists (the longest matching prefix wins)."""
    if case.path in NO_EXISTING_ID:
        return
    parameters = case.path_parameters or {}
    name = next((key for key in ("id", "slug") if key in parameters), None)
    if name is None or not draw(st.booleans()):
        return
    prefix = max((p for p in existing if case.path.startswith(p)), key=len, default=None)
    if prefix is not None:
        parameters[name] = existing[prefix]


# The customers' roles, each calling with an API token of its own.
MEMBERS = ["rossi_legal_rep", "rossi_admin", "rossi_line_user"]
# The routes the operator's staff call (the provisioning system reports activation
# steps). Elsewhere a staff login is a user of no company, which every customer
# route refuses (tests/selfcare/test_api.py): fuzzing it there adds only time.
STAFF_ROUTES = r"^/api/v1/activations/"


@pytest.fixture(params=MEMBERS)
def member(request: pytest.FixtureRequest, cast: Cast) -> dict[str, Any]:
    """The headers of a member's API token."""
    _token, key = api_token_create(membership=getattr(cast, request.param), name="Fuzzing", created_by=None)
    return {"headers": {"Authorization": f"Token {key}"}}


@pytest.fixture
def staff() -> dict[str, Any]:
    """The cookies and headers of a staff session of the Procedures group."""
    client = Client()
    client.force_login(procedures_staff())
    # A session call that writes needs the CSRF cookie and the same secret in the header.
    csrf = "f" * 32
    return {
        "headers": {"X-CSRFToken": csrf},
        "cookies": {"sessionid": client.cookies["sessionid"].value, "csrftoken": csrf},
    }


@schema.parametrize()
@schema.given(data=st.data())
@SETTINGS
def test_members_get_documented_answers(
    case: schemathesis.Case[Any],
    data: st.DataObject,
    member: dict[str, Any],
    existing_ids: dict[str, str],
    fresh_cache: None,
) -> None:
    use_existing_id(case, existing_ids, data.draw)
    case.call_and_validate(**member)


@schema.include(path_regex=STAFF_ROUTES).parametrize()
@schema.given(data=st.data())
@SETTINGS
def test_staff_get_documented_answers(
    case: schemathesis.Case[Any],
    data: st.DataObject,
    staff: dict[str, Any],
    existing_ids: dict[str, str],
    fresh_cache: None,
) -> None:
    use_existing_id(case, existing_ids, data.draw)
    case.call_and_validate(**staff)


@schema.parametrize()
@schema.given(data=st.data())
@SETTINGS
def test_anonymous_callers_get_only_public_data(
    case: schemathesis.Case[Any], data: st.DataObject, existing_ids: dict[str, str], fresh_cache: None
) -> None:
    use_existing_id(case, existing_ids, data.draw)
    response = case.call_and_validate()

    if (case.method.upper(), case.path) in PUBLIC_OPERATIONS:
        return
    if response.status_code == 404:
        # A path that is no route (an id that is not a number) or a ?format= of no renderer answers
        # 404 before the login is asked: the bare "not found", nothing of the data.
        assert response.json() == {"detail": "Non trovato."}
    else:
        assert response.status_code in {401, 403}, (case.method, case.formatted_path, response.status_code)
