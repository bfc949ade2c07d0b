"""Uploads are checked by their bytes, not their name: PDF, JPEG or PNG, 1 byte to 10 MB, stored privately."""

from __future__ import annotations

import io
import zipfile

import pytest
from django.core.exceptions import ValidationError
from django.test import Client
from django.urls import reverse

from procedures.documents import MAX_UPLOAD_BYTES, document_check
from procedures.models import RequestDocument
from procedures.services import request_document_add
from tests.cast import Cast
from tests.procedures.requests_helpers import (
    JPEG_BYTES,
    PDF_BYTES,
    pdf_upload,
    png_bytes,
    submit_listing,
    upload,
)


def _zip_bytes() -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("invoice.pdf", PDF_BYTES)
    return buffer.getvalue()


def test_a_png_named_pdf_is_accepted_as_the_png_it_is() -> None:
    checked = document_check(upload("scan.pdf", png_bytes()))

    assert checked.content_type == "image/png"
    assert checked.extension == "png"


@pytest.mark.parametrize(
    ("content", "content_type"), [(PDF_BYTES, "application/pdf"), (JPEG_BYTES, "image/jpeg")]
)
def test_pdf_and_jpeg_are_accepted(content: bytes, content_type: str) -> None:
    assert (
        document_check(upload("file.bin", content, "application/octet-stream")).content_type == content_type
    )


@pytest.mark.parametrize(
    "content",
    [
        b"MZ\x90\x00\x03\x00\x00\x00\x04\x00\x00\x00\xff\xff\x00\x00" + b"\x00" * 48 + b"PE\x00\x00",
        b"<!DOCTYPE html><html><body><script>alert(1)</script></body></html>",
        _zip_bytes(),
    ],
    ids=["exe", "html", "zip"],
)
def test_other_content_named_pdf_is_refused(content: bytes) -> None:
    with pytest.raises(ValidationError, match="not a PDF, a JPEG or a PNG"):
        document_check(upload("invoice.pdf", content))


def test_a_file_over_ten_megabytes_is_refused_and_one_at_the_limit_is_not() -> None:
    at_limit = PDF_BYTES + b"\x00" * (MAX_UPLOAD_BYTES - len(PDF_BYTES))

    assert document_check(upload("big.pdf", at_limit)).size == MAX_UPLOAD_BYTES
    with pytest.raises(ValidationError, match="larger than"):
        document_check(upload("big.pdf", at_limit + b"\x00"))


def test_an_empty_file_is_refused() -> None:
    with pytest.raises(ValidationError, match="empty"):
        document_check(upload("empty.pdf", b""))


@pytest.mark.django_db
def test_stored_privately_under_a_portal_name_with_its_hash(cast: Cast, private_storage: object) -> None:
    request = submit_listing(cast.rossi_admin)

    document = request_document_add(
        request=request,
        membership=cast.rossi_admin,
        role="additional",
        upload=upload("../../etc/Scan 1.pdf", png_bytes()),
    )

    assert document.original_name == "Scan 1.pdf"
    assert document.file.name
    assert document.file.name.startswith(f"requests/{cast.rossi.pk}/{request.pk}/additional-")
    assert document.file.name.endswith(".png")
    assert len(document.sha256) == 64
    assert document.size == len(png_bytes())


@pytest.mark.django_db
def test_download_is_an_attachment_never_sniffed_for_those_who_see_the_request(
    cast: Cast, client: Client, private_storage: object
) -> None:
    from tests.conftest import log_in

    request = submit_listing(cast.rossi_admin)
    document = request_document_add(
        request=request, membership=cast.rossi_admin, role="additional", upload=pdf_upload()
    )
    url = reverse("procedures:request-document", args=[request.pk, document.pk])

    response = log_in(client, cast.rossi_legal_rep).get(url)
    assert response.status_code == 200
    assert response["Content-Type"] == "application/pdf"
    assert response["X-Content-Type-Options"] == "nosniff"
    assert response["Content-Disposition"].startswith("attachment;")
    assert b"".join(response.streaming_content) == PDF_BYTES  # type: ignore[attr-defined]

    # A line user follows only their own requests; another company's member sees nothing.
    assert log_in(client, cast.rossi_line_user).get(url).status_code == 404
    assert log_in(client, cast.bianchi_legal_rep).get(url).status_code == 404


@pytest.mark.django_db
def test_a_document_of_another_request_is_not_reached_through_this_one(
    cast: Cast, client: Client, private_storage: object
) -> None:
    from tests.conftest import log_in

    mine, theirs = submit_listing(cast.rossi_admin), submit_listing(cast.bianchi_admin)
    foreign = RequestDocument.objects.get(request=theirs, role="receipt")

    response = log_in(client, cast.rossi_admin).get(
        reverse("procedures:request-document", args=[mine.pk, foreign.pk])
    )

    assert response.status_code == 404
