"""Hostile uploads through the real request pages and API: refused with a clear message, nothing stored.

tests/procedures/test_documents.py covers the plain cases on document_check
(an .exe, an HTML page or a ZIP named .pdf, the size limit, an empty file).
Here the files are built to fool a check by name or by first bytes: HTML
hiding behind a `%PDF-` comment, a PDF that is also a web page, a PDF with
JavaScript, a JPEG with a Java archive after it ("GIFAR"), a ZIP bomb named
.pdf or dressed as an XLSX; plus the oversize and empty cases through the
page. For each the customer sees why, and no RequestDocument row and no
file appear. No page of the portal takes archives or XLSX files (the XLSX is
an export only), so a ZIP bomb can only arrive as a would-be document; it is
refused by its type without being decompressed, in bounded memory.
"""

from __future__ import annotations

import io
import tracemalloc
import zipfile
from pathlib import Path
from typing import Any

import pytest
from django.conf import settings
from django.test import Client
from django.urls import reverse

from procedures.documents import MAX_UPLOAD_BYTES
from procedures.models import Request, RequestDocument
from tests.cast import Cast
from tests.procedures.requests_helpers import JPEG_BYTES, PDF_BYTES, png_bytes, submit_listing, upload

pytestmark = pytest.mark.django_db

NOT_A_DOCUMENT = "not a PDF, a JPEG or a PNG"
MORE_THAN_A_DOCUMENT = "holds more than a document"


def _zip(members: list[tuple[str, bytes]], *, level: int = 9) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED, compresslevel=level) as archive:
        for name, data in members:
            archive.writestr(name, data)
    return buffer.getvalue()


def _zip_bomb() -> bytes:
    """About 200 KB that inflate to 200 MB: the same bytes under ten names, as in a classic bomb."""
    zeros = b"\x00" * (20 * 1024 * 1024)
    return _zip([(f"xl/worksheets/sheet{n}.xml", zeros) for n in range(10)])


HOSTILE: dict[str, tuple[bytes, str]] = {
    # libmagic finds %PDF- anywhere in the first kilobyte: this HTML page passed as a PDF.
    "html_behind_a_pdf_comment": (
        b"<!--%PDF-1.4-->\n<html><body><script>fetch('/api/v1/')</script></body></html>\n",
        MORE_THAN_A_DOCUMENT,
    ),
    "pdf_that_is_also_a_web_page": (
        b"%PDF-1.4\n<html><body><script>alert(document.cookie)</script></body></html>\n" + PDF_BYTES[9:],
        MORE_THAN_A_DOCUMENT,
    ),
    "pdf_with_javascript": (
        PDF_BYTES.replace(
            b"<< /Type /Catalog >>",
            b"<< /Type /Catalog /OpenAction << /S /JavaScript /JS (app.alert(1)) >> >>",
        ),
        MORE_THAN_A_DOCUMENT,
    ),
    "pdf_that_launches_a_program": (
        PDF_BYTES.replace(
            b"<< /Type /Catalog >>", b"<< /Type /Catalog /OpenAction << /S /Launch /F (cmd.exe) >> >>"
        ),
        MORE_THAN_A_DOCUMENT,
    ),
    "jpeg_with_a_java_archive_behind_gifar": (
        JPEG_BYTES
        + _zip([("META-INF/MANIFEST.MF", b"Manifest-Version: 1.0\n"), ("Evil.class", b"\xca\xfe")]),
        MORE_THAN_A_DOCUMENT,
    ),
    "png_with_an_svg_script_appended": (
        png_bytes() + b'<svg xmlns="http://www.w3.org/2000/svg" onload="alert(1)"/>',
        MORE_THAN_A_DOCUMENT,
    ),
    "svg_named_png": (
        b'<?xml version="1.0"?><svg xmlns="http://www.w3.org/2000/svg"><script>alert(1)</script></svg>',
        NOT_A_DOCUMENT,
    ),
    "windows_executable_named_pdf": (
        b"MZ\x90\x00" + b"\x00" * 60 + b"PE\x00\x00" + b"\x00" * 200,
        NOT_A_DOCUMENT,
    ),
    "xlsx_named_pdf": (
        _zip([("[Content_Types].xml", b"<Types/>"), ("xl/workbook.xml", b"<workbook/>")]),
        NOT_A_DOCUMENT,
    ),
    "truncated_jpeg_header": (b"\xff\xd8\xff", NOT_A_DOCUMENT),
    "empty": (b"", "file is empty"),
}


def _in_english(client: Client) -> Client:
    """Pages answer in Italian by default: the messages are read in English here."""
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "en"
    return client


def _files_in(folder: Path) -> list[Path]:
    return [path for path in folder.rglob("*") if path.is_file()] if folder.exists() else []


def _stored_nothing(request: Request, folder: Path, files_before: list[Path]) -> None:
    assert not RequestDocument.objects.filter(request=request).exclude(role="receipt").exists()
    assert _files_in(folder) == files_before


@pytest.mark.parametrize("case", list(HOSTILE), ids=list(HOSTILE))
def test_a_hostile_file_named_pdf_is_refused_on_the_page_and_nothing_is_stored(
    case: str, cast: Cast, client_as: Any, private_storage: Path
) -> None:
    content, message = HOSTILE[case]
    request = submit_listing(cast.rossi_admin)
    before = _files_in(private_storage)

    response = _in_english(client_as(cast.rossi_admin)).post(
        reverse("procedures:request-document-add", args=[request.pk]),
        {"role": "additional", "file": upload("scan.pdf", content)},
    )

    assert response.status_code == 400
    assert message in response.content.decode()
    _stored_nothing(request, private_storage, before)


@pytest.mark.parametrize("case", ["pdf_with_javascript", "jpeg_with_a_java_archive_behind_gifar"])
def test_the_api_refuses_the_same_polyglots_with_a_field_error(
    case: str, cast: Cast, api_client_for: Any, private_storage: Path
) -> None:
    request = submit_listing(cast.rossi_admin)
    before = _files_in(private_storage)

    response = _in_english(api_client_for(cast.rossi_admin)).post(
        f"/api/v1/requests/{request.pk}/documents/",
        {"role": "additional", "file": upload("scan.jpg", HOSTILE[case][0], "image/jpeg")},
        format="multipart",
    )

    assert response.status_code == 400
    assert MORE_THAN_A_DOCUMENT in str(response.json())
    _stored_nothing(request, private_storage, before)


def test_a_file_over_ten_megabytes_is_refused_on_the_page_and_nothing_is_stored(
    cast: Cast, client_as: Any, private_storage: Path
) -> None:
    request = submit_listing(cast.rossi_admin)
    before = _files_in(private_storage)
    oversize = PDF_BYTES + b"\x00" * (MAX_UPLOAD_BYTES + 1 - len(PDF_BYTES))

    response = _in_english(client_as(cast.rossi_admin)).post(
        reverse("procedures:request-document-add", args=[request.pk]),
        {"role": "additional", "file": upload("big.pdf", oversize)},
    )

    assert response.status_code == 400
    assert "larger than 10.0" in response.content.decode()
    _stored_nothing(request, private_storage, before)


@pytest.mark.parametrize("name", ["report.pdf", "traffic.xlsx"])
def test_a_zip_bomb_is_refused_without_being_inflated(
    name: str, cast: Cast, client_as: Any, private_storage: Path
) -> None:
    bomb = _zip_bomb()
    assert len(bomb) < 1024 * 1024  # the point of a bomb: small to send
    request = submit_listing(cast.rossi_admin)
    client: Client = _in_english(client_as(cast.rossi_admin))
    before = _files_in(private_storage)

    tracemalloc.start()
    try:
        response = client.post(
            reverse("procedures:request-document-add", args=[request.pk]),
            {"role": "additional", "file": upload(name, bomb, "application/octet-stream")},
        )
        _current, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()

    assert response.status_code == 400
    assert NOT_A_DOCUMENT in response.content.decode()
    # Inflating it would take 200 MB; reading the upload and rendering the page takes a few.
    assert peak < 40 * 1024 * 1024, peak
    _stored_nothing(request, private_storage, before)


def test_a_good_scan_with_a_trailer_or_a_big_body_still_goes_in(
    cast: Cast, client_as: Any, private_storage: Path
) -> None:
    """The polyglot checks leave real documents alone: a phone JPEG with data after its end, a long PDF."""
    request = submit_listing(cast.rossi_admin)
    client = _in_english(client_as(cast.rossi_admin))
    url = reverse("procedures:request-document-add", args=[request.pk])
    phone_photo = JPEG_BYTES + b"SEFHxxxx\x00\x00samsung trailer"
    long_pdf = PDF_BYTES + b"%" + bytes(range(256)) * 4096 + b"\n%%EOF\n"

    for name, content in (("photo.jpg", phone_photo), ("long.pdf", long_pdf)):
        response = client.post(url, {"role": "additional", "file": upload(name, content)})
        assert response.status_code == 302, response.content.decode()[:500]

    stored = RequestDocument.objects.filter(request=request, role="additional")
    assert sorted(stored.values_list("content_type", flat=True)) == ["application/pdf", "image/jpeg"]
