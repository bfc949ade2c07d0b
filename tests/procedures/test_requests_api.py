"""The requests' API: list and detail with filters, create (JSON or multipart), documents and messages."""

from __future__ import annotations

import json
from typing import Any

import pytest

from procedures.models import Request, RequestStatus
from tests.cast import Cast
from tests.procedures.requests_helpers import (
    PDF_BYTES,
    directory_listing_data,
    pdf_upload,
    png_bytes,
    submit_listing,
    upload,
)

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("private_storage")]


def test_list_and_detail_with_filters(cast: Cast, api_client_for: Any) -> None:
    listing = submit_listing(cast.rossi_admin)
    rejected = submit_listing(cast.rossi_admin)
    Request.objects.filter(pk=rejected.pk).update(status=RequestStatus.REJECTED)
    submit_listing(cast.bianchi_admin)
    api = api_client_for(cast.rossi_legal_rep)

    everything = api.get("/api/v1/requests/").json()["results"]
    assert {row["reference"] for row in everything} == {listing.reference, rejected.reference}
    submitted = api.get("/api/v1/requests/", {"status": "submitted", "kind": "directory_listing"}).json()[
        "results"
    ]
    assert [row["id"] for row in submitted] == [listing.pk]

    detail = api.get(f"/api/v1/requests/{listing.pk}/").json()
    assert detail["data"]["published_name"] == "Rossi Impianti"
    assert detail["history"][0]["action"] == "submitted"
    assert detail["documents"][0]["role"] == "receipt"


def test_create_with_json(cast: Cast, api_client_for: Any) -> None:
    api = api_client_for(cast.rossi_admin)
    data = directory_listing_data(cast.rossi_admin)
    data["reverse_search"] = True

    response = api.post("/api/v1/requests/", {"kind": "directory_listing", "data": data}, format="json")

    assert response.status_code == 201, response.json()
    body = response.json()
    assert body["reference"].startswith("R-")
    assert body["status"] == "submitted"
    assert body["lines"][0]["id"] == int(data["lines"][0])
    assert body["data"]["reverse_search"] is True


def test_create_refuses_a_role_and_bad_data_clearly(cast: Cast, api_client_for: Any) -> None:
    refused = api_client_for(cast.rossi_admin).post(
        "/api/v1/requests/", {"kind": "company_data", "data": {}}, format="json", HTTP_ACCEPT_LANGUAGE="en"
    )
    assert refused.status_code == 403
    assert "legal representative" in refused.json()["detail"]

    invalid = api_client_for(cast.rossi_legal_rep).post(
        "/api/v1/requests/", {"kind": "company_data", "data": {"vat_number": "IT1"}}, format="json"
    )
    assert invalid.status_code == 400
    errors = invalid.json()["data"]
    assert "vat_number" in errors
    assert "document_chamber_extract" in errors


def test_create_multipart_with_documents(cast: Cast, api_client_for: Any) -> None:
    api = api_client_for(cast.rossi_legal_rep)
    data = {"legal_reference": "Art. 16 DPR 642/1972", "valid_from": "2026-01-01"}

    response = api.post(
        "/api/v1/requests/",
        {
            "kind": "stamp_duty_exemption",
            "data": json.dumps(data),
            "document_exemption_ground": upload("ground.pdf", png_bytes()),
        },
        format="multipart",
    )

    assert response.status_code == 201, response.json()
    roles = {(d["role"], d["content_type"]) for d in response.json()["documents"]}
    assert roles == {("exemption_ground", "image/png"), ("receipt", "application/pdf")}


def test_documents_later_and_their_download(cast: Cast, api_client_for: Any) -> None:
    request = submit_listing(cast.rossi_admin)
    api = api_client_for(cast.rossi_admin)

    refused = api.post(
        f"/api/v1/requests/{request.pk}/documents/",
        {"role": "additional", "file": upload("x.pdf", b"<html></html>")},
        format="multipart",
    )
    assert refused.status_code == 400
    assert "file" in refused.json()
    added = api.post(
        f"/api/v1/requests/{request.pk}/documents/",
        {"role": "additional", "file": pdf_upload()},
        format="multipart",
    )
    assert added.status_code == 201

    download = api.get(added.json()["download_url"])
    assert download.status_code == 200
    assert download["X-Content-Type-Options"] == "nosniff"
    assert b"".join(download.streaming_content) == PDF_BYTES
    assert len(api.get(f"/api/v1/requests/{request.pk}/documents/").json()) == 2


def test_messages(cast: Cast, api_client_for: Any) -> None:
    request = submit_listing(cast.rossi_admin)
    api = api_client_for(cast.rossi_legal_rep)

    assert (
        api.post(f"/api/v1/requests/{request.pk}/messages/", {"body": "Any news?"}, format="json").status_code
        == 201
    )
    assert (
        api.post(f"/api/v1/requests/{request.pk}/messages/", {"body": " "}, format="json").status_code == 400
    )

    messages = api.get(f"/api/v1/requests/{request.pk}/messages/").json()
    assert [(m["body"], m["author"], m["from_staff"]) for m in messages] == [
        ("Any news?", "Anna Rossi", False)
    ]


def test_another_companys_request_is_404(cast: Cast, api_client_for: Any) -> None:
    theirs = submit_listing(cast.bianchi_admin)
    api = api_client_for(cast.rossi_legal_rep)

    for url in (
        f"/api/v1/requests/{theirs.pk}/",
        f"/api/v1/requests/{theirs.pk}/documents/",
        f"/api/v1/requests/{theirs.pk}/messages/",
        f"/api/v1/requests/documents/{theirs.documents.get().pk}/file/",
    ):
        assert api.get(url).status_code == 404, url
