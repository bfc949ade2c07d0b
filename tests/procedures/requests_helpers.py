"""Helpers of the requests' tests: files of each type, private storage in a temporary folder, a staff user."""

from __future__ import annotations

import struct
import zlib
from pathlib import Path
from typing import Any

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from procedures.models import Request
from procedures.services import request_submit
from selfcare.models import Membership, User
from tests.factories import UserFactory


def png_bytes() -> bytes:
    """A real PNG of one pixel."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        return (
            struct.pack(">I", len(data))
            + kind
            + data
            + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)
        )

    header = struct.pack(">IIBBBBB", 1, 1, 8, 2, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(b"\x00\xff\x00\x00"))
        + chunk(b"IEND", b"")
    )


PDF_BYTES = b"%PDF-1.4\n1 0 obj\n<< /Type /Catalog >>\nendobj\ntrailer\n<< /Root 1 0 R >>\n%%EOF\n"
JPEG_BYTES = (
    b"\xff\xd8\xff\xe0\x00\x10JFIF\x00\x01\x01\x00\x00\x01\x00\x01\x00\x00" + b"\x00" * 64 + b"\xff\xd9"
)


def pdf_upload(name: str = "document.pdf") -> SimpleUploadedFile:
    return SimpleUploadedFile(name, PDF_BYTES, content_type="application/pdf")


def upload(name: str, content: bytes, content_type: str = "application/pdf") -> SimpleUploadedFile:
    return SimpleUploadedFile(name, content, content_type=content_type)


@pytest.fixture
def private_storage(settings: Any, tmp_path: Path) -> Path:
    folder = tmp_path / "private"
    settings.STORAGES = {
        **settings.STORAGES,
        "default": {
            "BACKEND": "django.core.files.storage.FileSystemStorage",
            "OPTIONS": {"location": str(folder), "base_url": None},
        },
    }
    return folder


@pytest.fixture
def staff(db: None) -> User:
    return UserFactory.create(email="sofia@operator.example", name="Sofia Staff", is_staff=True)


@pytest.fixture
def other_staff(db: None) -> User:
    return UserFactory.create(email="piero@operator.example", name="Piero Staff", is_staff=True)


def directory_listing_data(membership: Membership) -> dict[str, Any]:
    line = membership.company.lines.order_by("pk").first()
    assert line is not None
    return {
        "lines": [str(line.pk)],
        "listed": "yes",
        "published_name": "Rossi Impianti",
        "reverse_search": "on",
    }


def submit_listing(membership: Membership) -> Request:
    return request_submit(
        membership=membership, kind="directory_listing", data=directory_listing_data(membership)
    )
