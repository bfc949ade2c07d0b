"""The API of the invoice's files: its PDF, its electronic invoice (FatturaPA XML), and copies.

Routes under /api/v1/invoices/{id}/, and a copy's file at
/api/v1/invoices/copies/{id}/pdf/ (selfcare.api.urls). For admins and
legal representatives, like the invoices themselves; another company's
invoice or copy is 404 for every role and method (selfcare.api.base.TenantAPIMixin).
"""

from __future__ import annotations

from typing import Any

from django.db.models import QuerySet
from django.http import FileResponse
from django.urls import reverse
from django.utils.translation import gettext_lazy as _
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import serializers, status
from rest_framework.exceptions import APIException
from rest_framework.generics import GenericAPIView
from rest_framework.renderers import JSONRenderer
from rest_framework.request import Request
from rest_framework.response import Response

from billing.documents import (
    invoice_copy_request,
    invoice_file_name,
    invoice_pdf_document,
    invoice_xml_document,
)
from billing.fatturapa import FatturaPAError
from billing.models import Invoice, InvoiceDocument, InvoiceDocumentKind, InvoiceDocumentStatus
from billing.views_documents import document_response
from selfcare import permissions
from selfcare.api.base import TenantAPIMixin
from selfcare.api.pagination import StableCursorPagination
from selfcare.api.renderers import PdfRenderer, XmlRenderer
from selfcare.models import User


class ElectronicInvoiceUnavailable(APIException):
    status_code = status.HTTP_503_SERVICE_UNAVAILABLE
    default_detail = _(
        "The electronic invoice is not available yet: our staff have been told. Try again later."
    )
    default_code = "electronic_invoice_unavailable"


def _user(request: Request) -> User | None:
    return request.user if isinstance(request.user, User) else None


class InvoicePdfAPIView(TenantAPIMixin[Invoice], GenericAPIView[Invoice]):
    """The invoice's PDF."""

    tenant_model = Invoice
    required_capability = permissions.can_manage_billing
    pagination_class = None
    renderer_classes = [JSONRenderer, PdfRenderer]

    @extend_schema(
        operation_id="invoices_pdf",
        responses={
            (200, "application/pdf"): OpenApiResponse(
                response=OpenApiTypes.BINARY, description=str(_("The invoice's PDF, a courtesy copy."))
            )
        },
    )
    def get(self, request: Request, pk: int) -> FileResponse:
        invoice = self.get_object()
        document = invoice_pdf_document(invoice=invoice, by=_user(request))
        return document_response(
            document, filename=invoice_file_name(invoice, extension="pdf"), content_type="application/pdf"
        )


class InvoiceXmlAPIView(TenantAPIMixin[Invoice], GenericAPIView[Invoice]):
    """The electronic invoice (FatturaPA 1.2.2 XML), the file sent to the exchange (SdI)."""

    tenant_model = Invoice
    required_capability = permissions.can_manage_billing
    pagination_class = None
    renderer_classes = [JSONRenderer, XmlRenderer]

    @extend_schema(
        operation_id="invoices_xml",
        responses={
            (200, "application/xml"): OpenApiResponse(
                response=OpenApiTypes.BINARY, description=str(_("The FatturaPA XML document."))
            ),
            503: OpenApiResponse(description=str(ElectronicInvoiceUnavailable.default_detail)),
        },
    )
    def get(self, request: Request, pk: int) -> FileResponse:
        invoice = self.get_object()
        try:
            document = invoice_xml_document(invoice=invoice, by=_user(request))
        except FatturaPAError as error:
            raise ElectronicInvoiceUnavailable from error
        return document_response(
            document, filename=invoice_file_name(invoice, extension="xml"), content_type="application/xml"
        )


class InvoiceCopySerializer(serializers.ModelSerializer[InvoiceDocument]):
    download = serializers.SerializerMethodField(
        help_text=_("Where the copy's PDF is downloaded from, once ready; null before.")
    )

    class Meta:
        model = InvoiceDocument
        fields = ["id", "status", "requested_at", "ready_at", "download"]
        read_only_fields = fields

    def get_download(self, document: InvoiceDocument) -> str | None:
        if document.status != InvoiceDocumentStatus.READY:
            return None
        path = reverse("api:invoice-copy-pdf", kwargs={"pk": document.pk})
        request = self.context.get("request")
        return request.build_absolute_uri(path) if request is not None else path


class InvoiceCopyPagination(StableCursorPagination):
    ordering = "-id"
    page_size = 20
    page_size_query_param = "page_size"
    max_page_size = 100


class InvoiceCopiesAPIView(TenantAPIMixin[Invoice], GenericAPIView[Invoice]):
    """The invoice's copies, newest first; POST asks for a new one (or joins the one being prepared)."""

    tenant_model = Invoice
    required_capability = permissions.can_manage_billing
    serializer_class = InvoiceCopySerializer  # type: ignore[assignment]  # lists copies of the invoice in the URL
    pagination_class = InvoiceCopyPagination
    filter_backends: list[Any] = []

    def copies(self, invoice: Invoice) -> QuerySet[InvoiceDocument]:
        # The invoice came through the tenancy scope: its documents are the caller's company's.
        return InvoiceDocument.objects.filter(invoice=invoice, kind=InvoiceDocumentKind.DUPLICATE)

    @extend_schema(operation_id="invoices_copies_list", responses=InvoiceCopySerializer(many=True))
    def get(self, request: Request, pk: int) -> Response:
        # Pages of the invoice's copies, not of invoices: the paginator is used directly.
        paginator = InvoiceCopyPagination()
        page = paginator.paginate_queryset(self.copies(self.get_object()), request, view=self)
        serializer = InvoiceCopySerializer(page, many=True, context=self.get_serializer_context())
        return paginator.get_paginated_response(serializer.data)

    @extend_schema(
        operation_id="invoices_copies_create",
        request=None,
        responses={
            202: OpenApiResponse(
                InvoiceCopySerializer, description=str(_("A copy is being prepared for you."))
            ),
            200: OpenApiResponse(
                InvoiceCopySerializer, description=str(_("A copy was already being prepared: that one."))
            ),
        },
    )
    def post(self, request: Request, pk: int) -> Response:
        document, created = invoice_copy_request(invoice=self.get_object(), by=_user(request))
        serializer = InvoiceCopySerializer(document, context=self.get_serializer_context())
        return Response(serializer.data, status=status.HTTP_202_ACCEPTED if created else status.HTTP_200_OK)


class InvoiceCopyPdfAPIView(TenantAPIMixin[InvoiceDocument], GenericAPIView[InvoiceDocument]):
    """A ready copy of the invoice: the PDF marked as a duplicate."""

    tenant_model = InvoiceDocument
    required_capability = permissions.can_manage_billing
    pagination_class = None
    renderer_classes = [JSONRenderer, PdfRenderer]

    def get_queryset(self) -> QuerySet[InvoiceDocument]:
        return (
            super()
            .get_queryset()
            .filter(kind=InvoiceDocumentKind.DUPLICATE, status=InvoiceDocumentStatus.READY)
            .select_related("invoice")
        )

    @extend_schema(
        operation_id="invoices_copies_pdf",
        responses={
            (200, "application/pdf"): OpenApiResponse(
                response=OpenApiTypes.BINARY,
                description=str(_("The copy: the invoice's PDF marked as a duplicate.")),
            )
        },
    )
    def get(self, request: Request, pk: int) -> FileResponse:
        document = self.get_object()
        return document_response(
            document,
            filename=invoice_file_name(document.invoice, extension="pdf", duplicate=True),
            content_type="application/pdf",
        )
