"""The API of requests: list, detail and create; documents (multipart) and messages of one request.

Routes under /api/v1/requests/ (selfcare.api.urls). Every member may call
them and sees what the pages show (Request.visible_to); what a role may
submit and every rule are procedures.services', the same the pages call.
A create takes `kind` and `data` (the kind's form fields) as JSON; a kind
whose documents come with the form takes a multipart body instead, with
`data` as a JSON string and each file as `document_<role>`. Documents
after submission go to /api/v1/requests/{id}/documents/.
"""

from __future__ import annotations

import json
from typing import Any

import django_filters
from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.core.exceptions import ValidationError as DjangoValidationError
from django.db.models import Prefetch, QuerySet
from django.http import FileResponse
from django.urls import reverse
from django.utils.translation import gettext_lazy as _
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiResponse, extend_schema, extend_schema_field
from rest_framework import mixins, serializers, status, viewsets
from rest_framework.exceptions import PermissionDenied, ValidationError
from rest_framework.generics import GenericAPIView
from rest_framework.parsers import FormParser, JSONParser, MultiPartParser
from rest_framework.request import Request as ApiRequest
from rest_framework.response import Response

from procedures.documents import document_response
from procedures.kinds import registered_handlers
from procedures.models import (
    Request,
    RequestDocument,
    RequestEvent,
    RequestKind,
    RequestMessage,
    RequestStatus,
)
from procedures.services import (
    RequestInvalidError,
    request_document_add,
    request_message_send,
    request_submit,
)
from selfcare.api.base import TenantAPIMixin
from selfcare.api.pagination import StableCursorPagination
from selfcare.models import Line


class RequestDocumentSerializer(serializers.ModelSerializer[RequestDocument]):
    download_url = serializers.SerializerMethodField()

    class Meta:
        model = RequestDocument
        fields = [
            "id",
            "role",
            "original_name",
            "content_type",
            "size",
            "sha256",
            "generated",
            "uploaded_at",
            "download_url",
        ]
        read_only_fields = fields

    def get_download_url(self, document: RequestDocument) -> str:
        path = reverse("api:request-document-file", args=[document.pk])
        request = self.context.get("request")
        return request.build_absolute_uri(path) if request is not None else path


class RequestEventSerializer(serializers.ModelSerializer[RequestEvent]):
    by_staff = serializers.SerializerMethodField(help_text=_("true for a step of the operator's staff."))

    class Meta:
        model = RequestEvent
        fields = ["at", "action", "status_from", "status_to", "by_staff"]
        read_only_fields = fields

    def get_by_staff(self, event: RequestEvent) -> bool:
        return bool(event.by is not None and event.by.is_staff)


class RequestMessageSerializer(serializers.ModelSerializer[RequestMessage]):
    author = serializers.SerializerMethodField(
        help_text=_("The customer's name; empty for the operator's staff.")
    )

    class Meta:
        model = RequestMessage
        fields = ["id", "from_staff", "author", "body", "sent_at"]
        read_only_fields = ["id", "from_staff", "author", "sent_at"]

    def get_author(self, message: RequestMessage) -> str:
        return "" if message.from_staff else (message.author.name or message.author.email)


class RequestSerializer(serializers.ModelSerializer[Request]):
    """A request with its lines, data, documents, history and messages."""

    kind_label = serializers.CharField(source="get_kind_display", read_only=True)
    submitted_by = serializers.SerializerMethodField()
    lines = serializers.SerializerMethodField()
    documents = RequestDocumentSerializer(many=True, read_only=True)
    history = RequestEventSerializer(source="events", many=True, read_only=True)
    messages = RequestMessageSerializer(many=True, read_only=True)

    class Meta:
        model = Request
        fields = [
            "id",
            "reference",
            "kind",
            "kind_label",
            "status",
            "submitted_at",
            "submitted_by",
            "lines",
            "data",
            "due_on",
            "decided_at",
            "documents",
            "history",
            "messages",
        ]
        read_only_fields = fields

    def get_submitted_by(self, request: Request) -> str:
        return request.submitted_by.name or request.submitted_by.email

    @extend_schema_field(
        {
            "type": "array",
            "items": {
                "type": "object",
                "properties": {"id": {"type": "integer"}, "number": {"type": "string"}},
                "required": ["id", "number"],
            },
        }
    )
    def get_lines(self, request: Request) -> list[dict[str, Any]]:
        return [{"id": line.pk, "number": line.number} for line in request.lines.all()]


class RequestCreateSerializer(serializers.Serializer[Any]):
    kind = serializers.ChoiceField(choices=RequestKind.choices)
    data = serializers.JSONField(  # type: ignore[assignment]  # a field named like Serializer.data, on purpose: the API's word
        help_text=_("The kind's form fields, by name; in a multipart body, a JSON string."), required=False
    )

    def validate_data(self, value: Any) -> dict[str, Any]:
        if isinstance(value, str):
            try:
                value = json.loads(value)
            except ValueError as error:
                raise serializers.ValidationError(_("Give the data as a JSON object.")) from error
        if not isinstance(value, dict):
            raise serializers.ValidationError(_("Give the data as a JSON object."))
        return value


class RequestFilter(django_filters.FilterSet):
    kind = django_filters.ChoiceFilter(choices=RequestKind.choices)
    status = django_filters.ChoiceFilter(choices=RequestStatus.choices)

    class Meta:
        model = Request
        fields = ["kind", "status"]


class RequestPagination(StableCursorPagination):
    """Newest first, on the id, which never changes: a cursor keeps its place."""

    ordering = "-id"
    page_size = 50
    page_size_query_param = "page_size"
    max_page_size = 200


def _with_details(requests: QuerySet[Request]) -> QuerySet[Request]:
    return requests.select_related("submitted_by").prefetch_related(
        Prefetch("lines", queryset=Line.objects.order_by("number")),
        "documents",
        Prefetch("events", queryset=RequestEvent.objects.select_related("by")),
        Prefetch("messages", queryset=RequestMessage.objects.select_related("author")),
    )


class RequestViewSet(
    TenantAPIMixin[Request],
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    mixins.CreateModelMixin,
    viewsets.GenericViewSet[Request],
):
    """The company's requests (a line user's: their own); a new request of a kind the role may submit."""

    tenant_model = Request
    serializer_class = RequestSerializer
    filterset_class = RequestFilter
    pagination_class = RequestPagination
    parser_classes = [JSONParser, MultiPartParser, FormParser]

    def get_queryset(self) -> QuerySet[Request]:
        return _with_details(super().get_queryset())

    @extend_schema(request=RequestCreateSerializer, responses={201: RequestSerializer})
    def create(self, request: ApiRequest, *args: Any, **kwargs: Any) -> Response:
        incoming = RequestCreateSerializer(data=request.data)
        incoming.is_valid(raise_exception=True)
        kind = incoming.validated_data["kind"]
        if kind not in {handler.kind for handler in registered_handlers()}:
            raise ValidationError({"kind": [_("There is no request of this kind.")]})
        try:
            created = request_submit(
                membership=self.get_current_membership(),
                kind=kind,
                data=incoming.validated_data.get("data") or {},
                files=request.FILES,
            )
        except DjangoPermissionDenied as error:
            raise PermissionDenied(str(error)) from error
        except RequestInvalidError as error:
            raise ValidationError({"data": error.message_dict}) from error
        output = self.get_serializer(_with_details(Request.objects.filter(pk=created.pk)).get())
        return Response(output.data, status=status.HTTP_201_CREATED)


class RequestDocumentUploadSerializer(serializers.Serializer[Any]):
    role = serializers.CharField(
        help_text=_("A document the kind takes after submission (e.g. police_complaint), or additional.")
    )
    file = serializers.FileField(
        help_text=_("PDF, JPEG or PNG, at most 10 MB: the type is read from the content.")
    )


class RequestDocumentsAPIView(TenantAPIMixin[Request], GenericAPIView[Request]):
    """GET: the request's documents. POST (multipart): add one to an open request."""

    tenant_model = Request
    pagination_class = None
    parser_classes = [MultiPartParser, FormParser]

    @extend_schema(responses={200: RequestDocumentSerializer(many=True)})
    def get(self, request: ApiRequest, pk: int) -> Response:
        documents = self.get_object().documents.all()
        return Response(RequestDocumentSerializer(documents, many=True, context={"request": request}).data)

    @extend_schema(
        request={"multipart/form-data": RequestDocumentUploadSerializer},
        responses={201: RequestDocumentSerializer},
    )
    def post(self, request: ApiRequest, pk: int) -> Response:
        incoming = RequestDocumentUploadSerializer(data=request.data)
        incoming.is_valid(raise_exception=True)
        try:
            document = request_document_add(
                request=self.get_object(),
                membership=self.get_current_membership(),
                role=incoming.validated_data["role"],
                upload=incoming.validated_data["file"],
            )
        except DjangoValidationError as error:
            raise ValidationError(_drf_errors(error)) from error
        return Response(
            RequestDocumentSerializer(document, context={"request": request}).data,
            status=status.HTTP_201_CREATED,
        )


class RequestDocumentFileAPIView(TenantAPIMixin[RequestDocument], GenericAPIView[RequestDocument]):
    """One document's file (or the receipt), as an attachment in the type read from its bytes.

    Named by the document's own id: RequestDocument.visible_to scopes it to the requests the caller sees.
    """

    tenant_model = RequestDocument
    pagination_class = None

    def get_queryset(self) -> QuerySet[RequestDocument]:
        return super().get_queryset().select_related("request")

    @extend_schema(
        operation_id="requests_documents_file",
        # The file in its own type, not JSON.
        responses={
            (200, media_type): OpenApiResponse(
                response=OpenApiTypes.BINARY, description=str(_("PDF, JPEG or PNG."))
            )
            for media_type in ("application/pdf", "image/jpeg", "image/png")
        },
    )
    def get(self, request: ApiRequest, pk: int) -> FileResponse:
        return document_response(self.get_object())


class RequestMessagesAPIView(TenantAPIMixin[Request], GenericAPIView[Request]):
    """GET: the messages of a request. POST: write to staff about an open request."""

    tenant_model = Request
    pagination_class = None

    @extend_schema(responses={200: RequestMessageSerializer(many=True)})
    def get(self, request: ApiRequest, pk: int) -> Response:
        messages = self.get_object().messages.select_related("author")
        return Response(RequestMessageSerializer(messages, many=True).data)

    @extend_schema(request=RequestMessageSerializer, responses={201: RequestMessageSerializer})
    def post(self, request: ApiRequest, pk: int) -> Response:
        incoming = RequestMessageSerializer(data=request.data)
        incoming.is_valid(raise_exception=True)
        try:
            message = request_message_send(
                request=self.get_object(),
                membership=self.get_current_membership(),
                body=incoming.validated_data["body"],
            )
        except DjangoValidationError as error:
            raise ValidationError(_drf_errors(error)) from error
        return Response(RequestMessageSerializer(message).data, status=status.HTTP_201_CREATED)


def _drf_errors(error: DjangoValidationError) -> Any:
    if hasattr(error, "error_dict"):
        return {
            ("body" if field == "message" else field): messages
            for field, messages in error.message_dict.items()
        }
    return {"detail": error.messages}
