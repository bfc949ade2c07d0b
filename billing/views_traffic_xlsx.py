"""The traffic report as XLSX on the portal: the download, the progress of a large one, the user's exports.

`/traffic/export.xlsx?<filters>` builds a small report at once and sends it;
a large one becomes an export built in the background, and the user lands on
its progress page, which htmx refreshes every 2 s. An export is its
requester's only (TrafficExport.visible_to): another user's id, in the same
company or another, is a 404 (selfcare.views.base.CompanyView). Files stream
from private storage with `Cache-Control: private, no-store`.
"""

from __future__ import annotations

from pathlib import Path

from django.http import FileResponse, Http404, HttpRequest, HttpResponse, HttpResponseBase
from django.shortcuts import redirect, render
from django.utils import translation

from billing.forms_traffic import TrafficFilterForm
from billing.models import TrafficExport, TrafficExportStatus
from billing.traffic_xlsx import (
    XLSX_CONTENT_TYPE,
    filters_from_json,
    traffic_export_download,
    traffic_exports_of,
    traffic_xlsx_file_name,
    traffic_xlsx_request,
)
from selfcare.models import User
from selfcare.views.base import CompanyView


def xlsx_file_response(path: Path, *, filename: str) -> FileResponse:
    """A report built in the request, sent and then gone: the open file outlives its name."""
    content = path.open("rb")
    path.unlink(missing_ok=True)
    response = FileResponse(content, as_attachment=True, filename=filename, content_type=XLSX_CONTENT_TYPE)
    response["Cache-Control"] = "private, no-store"
    return response


def export_file_response(export: TrafficExport) -> FileResponse:
    response = FileResponse(
        export.file.open("rb"),
        as_attachment=True,
        filename=traffic_xlsx_file_name(filters_from_json(export.filters)),
        content_type=XLSX_CONTENT_TYPE,
    )
    response["Cache-Control"] = "private, no-store"
    return response


def _user(request: HttpRequest) -> User | None:
    return request.user if isinstance(request.user, User) else None


class TrafficXlsxExportView(CompanyView):
    """The report with the page's filters: the file now if small, else the progress page of its export."""

    def get(self, request: HttpRequest) -> HttpResponseBase:
        form = TrafficFilterForm(request.GET, membership=self.membership)
        if not form.is_valid():
            return render(request, "billing/traffic/xlsx/invalid.html", {"form": form}, status=400)
        filters = form.filters()
        outcome = traffic_xlsx_request(
            membership=self.membership,
            filters=filters,
            language=translation.get_language() or "it",
            by=_user(request),
        )
        if outcome.export is not None:
            # Too large for a request: built in the background, followed on its progress page.
            return redirect("billing:traffic-export", pk=outcome.export.pk)
        if outcome.path is None:
            raise RuntimeError("traffic_xlsx_request returned neither a file nor an export")
        return xlsx_file_response(outcome.path, filename=traffic_xlsx_file_name(filters))


class TrafficExportListView(CompanyView):
    """The user's newest exports, with their state and a download link when ready."""

    def get(self, request: HttpRequest) -> HttpResponse:
        return render(
            request,
            "billing/traffic/xlsx/list.html",
            {"exports": traffic_exports_of(membership=self.membership)},
        )


class TrafficExportView(CompanyView):
    """One export's progress; with htmx, only the block it polls."""

    tenant_model = TrafficExport

    def get(self, request: HttpRequest, pk: int) -> HttpResponse:
        export: TrafficExport = self.object
        template = (
            "billing/traffic/xlsx/_progress.html"
            if getattr(request, "htmx", False)
            else "billing/traffic/xlsx/export.html"
        )
        return render(request, template, {"export": export})


class TrafficExportFileView(CompanyView):
    """A ready export's file; each download of one holding numbers in clear is audited."""

    tenant_model = TrafficExport

    def get(self, request: HttpRequest, pk: int) -> FileResponse:
        export: TrafficExport = self.object
        if export.status != TrafficExportStatus.READY or not export.file:
            raise Http404
        traffic_export_download(export=export, by=_user(request))
        return export_file_response(export)
