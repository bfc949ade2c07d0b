"""The documents of requests: uploads checked by their content, private storage, and the download response.

DOMAIN.md, "Figures in one place": an upload is a PDF, a JPEG or a PNG of at
most 10 MB. The type is read from the bytes (python-magic), never from the
name or the browser's Content-Type, both of which the uploader chooses: an
HTML page or an executable named `.pdf` is refused, a PNG named `.pdf` is
kept as the PNG it is. A polyglot, a file that is a valid document and
something else as well, is refused too: the type's signature must open the
file (libmagic finds `%PDF-` anywhere in the first kilobyte, behind an HTML
comment say), and no document may carry HTML or script markup, a ZIP archive
(a JAR behind a JPEG, "GIFAR") or, for a PDF, actions that run (JavaScript,
launching a program). An archive is refused by its type without being
opened, so a ZIP bomb named `.pdf` costs no memory. Files go to Django's default storage, which is
private (settings.STORAGES), under a name the portal chooses; the uploader's
name is kept for display only. Views stream them after checking company
and role (procedures.views_requests, procedures.api_requests, the admin).
"""

from __future__ import annotations

import hashlib
import io
import re
import secrets
import zipfile
from dataclasses import dataclass

import magic
from django.core.exceptions import ValidationError
from django.core.files.base import ContentFile
from django.core.files.uploadedfile import UploadedFile
from django.http import FileResponse
from django.template.defaultfilters import filesizeformat
from django.utils.translation import gettext as _

from procedures.models import Request, RequestDocument
from selfcare.models import User

# DOMAIN.md, "Figures in one place": the upload limit.
MAX_UPLOAD_BYTES = 10 * 1024 * 1024
# What the bytes may be, and the extension the stored file gets for each.
ALLOWED_TYPES: dict[str, str] = {"application/pdf": "pdf", "image/jpeg": "jpg", "image/png": "png"}
# libmagic recognises a file from its first bytes: 8 KB is far more than any of these three needs.
_SNIFF_BYTES = 8192
# How each type's bytes begin (PDF 1.7 §7.5.2, JFIF/Exif SOI marker, PNG signature).
_SIGNATURES: dict[str, bytes] = {
    "application/pdf": b"%PDF-",
    "image/jpeg": b"\xff\xd8\xff",
    "image/png": b"\x89PNG\r\n\x1a\n",
}
# Markup a browser would run if the file were ever shown as a page. In a scan's
# compressed bytes these sequences turn up by chance about once in 2^40 bytes.
_MARKUP = re.compile(rb"<\s*/?\s*(?:script|html|body|iframe|svg|object|embed|meta)[\s/>]", re.IGNORECASE)
# PDF actions that run code or programs (ISO 32000-1 §12.6.4): names as the PDF writes them.
_PDF_ACTIVE = re.compile(rb"/(?:JavaScript|JS|Launch)(?![A-Za-z0-9])")


@dataclass(frozen=True)
class CheckedFile:
    """An upload that passed the checks: its bytes and what they are."""

    content: bytes
    content_type: str
    original_name: str

    @property
    def size(self) -> int:
        return len(self.content)

    @property
    def sha256(self) -> str:
        return hashlib.sha256(self.content).hexdigest()

    @property
    def extension(self) -> str:
        return ALLOWED_TYPES[self.content_type]


def document_check(upload: UploadedFile[bytes]) -> CheckedFile:
    """The upload's bytes if they are a PDF, JPEG or PNG of 1 byte to 10 MB; ValidationError otherwise."""
    # The size Django counted, checked before reading: a huge file is never loaded whole.
    if upload.size is not None and upload.size > MAX_UPLOAD_BYTES:
        raise _too_big()
    content = upload.read(MAX_UPLOAD_BYTES + 1)
    return document_check_bytes(content, original_name=upload.name or "")


def document_check_bytes(content: bytes, *, original_name: str) -> CheckedFile:
    """The same checks on bytes already in memory."""
    if not content:
        raise ValidationError(_("The file is empty: choose the document again."), code="empty_file")
    if len(content) > MAX_UPLOAD_BYTES:
        raise _too_big()
    content_type = magic.from_buffer(content[:_SNIFF_BYTES], mime=True)
    if content_type not in ALLOWED_TYPES:
        raise ValidationError(
            _("This file is not a PDF, a JPEG or a PNG. Save or scan the document in one of those formats."),
            code="file_type",
        )
    if _is_polyglot(content, content_type):
        raise ValidationError(
            _(
                "This file holds more than a document (a web page, a script or an archive). "
                "Save or scan the document again as a plain PDF, JPEG or PNG."
            ),
            code="file_polyglot",
        )
    # The name is only shown back to people: no path, and no longer than its column.
    name = (
        original_name.replace("\\", "/").rsplit("/", 1)[-1].strip()[:200]
        or f"document.{ALLOWED_TYPES[content_type]}"
    )
    return CheckedFile(content=content, content_type=content_type, original_name=name)


def _is_polyglot(content: bytes, content_type: str) -> bool:
    """Whether the bytes are also something other than the document libmagic took them for."""
    if not content.startswith(_SIGNATURES[content_type]):
        return True
    if _MARKUP.search(content):
        return True
    if content_type == "application/pdf" and _PDF_ACTIVE.search(content):
        return True
    # A ZIP is read from its end (the central directory): zipfile looks there only.
    return zipfile.is_zipfile(io.BytesIO(content))


def _too_big() -> ValidationError:
    return ValidationError(
        _("The file is larger than %(limit)s: send a smaller scan or a compressed PDF.")
        % {"limit": filesizeformat(MAX_UPLOAD_BYTES)},
        code="file_too_big",
    )


def document_store(
    *,
    request: Request,
    role: str,
    checked: CheckedFile,
    by: User | None,
    generated: bool = False,
) -> RequestDocument:
    """Save the checked file to private storage under a portal-chosen name and record it on the request.

    The name is random so that no one can guess another file's path, and it
    carries the extension of what the bytes are.
    """
    document = RequestDocument(
        request=request,
        role=role,
        original_name=checked.original_name,
        content_type=checked.content_type,
        size=checked.size,
        sha256=checked.sha256,
        generated=generated,
        uploaded_by=by,
    )
    stored_name = f"{role}-{secrets.token_hex(12)}.{checked.extension}"
    document.file.save(stored_name, ContentFile(checked.content), save=False)
    document.save()
    return document


def document_file_name(document: RequestDocument) -> str:
    """The download's name: the request's reference, the document's role and the extension of its type."""
    extension = ALLOWED_TYPES.get(document.content_type, "bin")
    return f"{document.request.reference}_{document.role}.{extension}"


def document_response(document: RequestDocument, *, inline: bool = False) -> FileResponse:
    """The stored file in the type read at upload, never sniffed nor cached by others.

    An attachment, except `inline` for staff's queue, where documents open in
    the browser: safe to show because the type was read from the bytes at
    upload (PDF, JPEG or PNG only) and the browser may not guess another.
    """
    response = FileResponse(
        document.file.open("rb"),
        as_attachment=not inline,
        filename=document_file_name(document),
        content_type=document.content_type,
    )
    response["X-Content-Type-Options"] = "nosniff"
    response["Cache-Control"] = "private, no-store"
    return response
