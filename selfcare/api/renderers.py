"""Renderers for API endpoints that answer with a file (CSV, PDF, XML, XLSX).

The file itself is a streamed or file response that passes the renderers
by; they let a client's `Accept` name the file's type, and they write the
errors such an endpoint can answer (400, 403, 404…) as plain `key: value`
lines.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from rest_framework.renderers import BaseRenderer


class FileRenderer(BaseRenderer):
    charset = "utf-8"

    def render(
        self,
        data: Any,
        accepted_media_type: str | None = None,
        renderer_context: Mapping[str, Any] | None = None,
    ) -> bytes:
        if isinstance(data, Mapping):
            return "\n".join(f"{key}: {value}" for key, value in data.items()).encode()
        return str(data).encode()


class CSVRenderer(FileRenderer):
    media_type = "text/csv"
    format = "csv"


class PdfRenderer(FileRenderer):
    media_type = "application/pdf"
    format = "pdf"


class XmlRenderer(FileRenderer):
    media_type = "application/xml"
    format = "xml"


class XlsxRenderer(FileRenderer):
    media_type = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    format = "xlsx"
