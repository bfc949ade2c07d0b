"""The API of the requests for numbers in clear: the company's grants, and the legal representative's new request.

GET for admins and legal representatives (who see the numbers in clear once
a request is approved); POST for the legal representative only. A new
request goes through the procedures (procedures.services.request_submit with
the kind clear_numbers), like the page's form: it gets a reference, a
receipt and staff's review; billing.clear_numbers holds the rules.
"""

from __future__ import annotations

from typing import Any

from django.core.exceptions import ValidationError as DjangoValidationError
from django.db.models import QuerySet
from django.utils.translation import gettext_lazy as _
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import serializers, status
from rest_framework.exceptions import PermissionDenied
from rest_framework.generics import GenericAPIView
from rest_framework.request import Request
from rest_framework.response import Response

from billing.clear_numbers import (
    ClearNumbersNotAllowedError,
    clear_numbers_check_may_ask,
    clear_numbers_requests,
)
from billing.models import ClearNumbersRequest
from procedures.kinds.clear_numbers import GRANT_KEY as CLEAR_NUMBERS_GRANT_KEY
from procedures.models import RequestKind
from procedures.services import request_submit
from selfcare import permissions
from selfcare.api.base import TenantAPIMixin
from selfcare.api.pagination import StableCursorPagination
from selfcare.models import Line


class ClearNumbersLineSerializer(serializers.ModelSerializer[Line]):
    class Meta:
        model = Line
        fields = ["id", "number"]
        read_only_fields = fields


class ClearNumbersRequestSerializer(serializers.ModelSerializer[ClearNumbersRequest]):
    """A request as the company sees it: what was asked, by whom, and the decision."""

    lines = ClearNumbersLineSerializer(many=True, read_only=True)
    requested_by = serializers.SerializerMethodField(help_text=_("The requester's name, or e-mail address."))
    rejection_reason = serializers.CharField(
        read_only=True, help_text=_("Why staff rejected it; empty otherwise.")
    )

    class Meta:
        model = ClearNumbersRequest
        fields = [
            "id",
            "status",
            "lines",
            "period_start",
            "period_end",
            "users_informed",
            "requested_by",
            "requested_at",
            "decided_at",
            "rejection_reason",
        ]
        read_only_fields = fields

    def get_requested_by(self, request: ClearNumbersRequest) -> str:
        return request.requested_by.name or request.requested_by.email


class ClearNumbersAskSerializer(serializers.Serializer[Any]):
    """A new request: the company's lines, a period of invoiced traffic of the last six months, the declaration."""

    lines = serializers.ListField(
        child=serializers.IntegerField(min_value=1),
        allow_empty=False,
        max_length=10_000,
        help_text=_("Ids of the company's lines (GET /api/v1/lines/)."),
    )
    period_start = serializers.DateField(help_text=_("First day (Rome): not before six months ago."))
    period_end = serializers.DateField(help_text=_("Last day (Rome): not after the last invoiced month."))
    users_informed = serializers.BooleanField(
        help_text=_(
            "true: the legal representative declares that the users of these lines have been informed."
        )
    )


class ClearNumbersPagination(StableCursorPagination):
    """Newest first, on the primary key (see selfcare.api.pagination.StableCursorPagination)."""

    ordering = "-id"
    page_size = 50
    page_size_query_param = "page_size"
    max_page_size = 200


class ClearNumbersRequestListView(TenantAPIMixin[ClearNumbersRequest], GenericAPIView[ClearNumbersRequest]):
    """The company's requests for numbers in clear, newest first; POST asks for a new one (legal rep only)."""

    tenant_model = ClearNumbersRequest
    required_capability = permissions.can_manage_billing
    serializer_class = ClearNumbersRequestSerializer
    pagination_class = ClearNumbersPagination
    filter_backends: list[Any] = []

    def get_required_capability(self) -> Any:
        # POST is checked by the service's own rule, whose message says who may ask.
        return None if self.request.method == "POST" else super().get_required_capability()

    def get_queryset(self) -> QuerySet[ClearNumbersRequest]:
        if self.membership is None:
            return super().get_queryset()
        return clear_numbers_requests(membership=self.membership)

    @extend_schema(responses=ClearNumbersRequestSerializer(many=True))
    def get(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        page = self.paginate_queryset(self.get_queryset())
        return self.get_paginated_response(ClearNumbersRequestSerializer(page, many=True).data)

    @extend_schema(
        request=ClearNumbersAskSerializer,
        responses={
            201: ClearNumbersRequestSerializer,
            400: OpenApiResponse(description=_("The errors, by field.")),
            403: OpenApiResponse(description=_("Only the company's legal representative can ask.")),
        },
    )
    def post(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        membership = self.get_current_membership()
        try:
            clear_numbers_check_may_ask(membership)
        except ClearNumbersNotAllowedError as error:
            raise PermissionDenied(str(error)) from error
        ask = ClearNumbersAskSerializer(data=request.data)
        ask.is_valid(raise_exception=True)
        data = ask.validated_data
        try:
            submitted = request_submit(
                membership=membership,
                kind=RequestKind.CLEAR_NUMBERS,
                data={
                    "lines": [str(line_id) for line_id in data["lines"]],
                    "period_start": data["period_start"].isoformat(),
                    "period_end": data["period_end"].isoformat(),
                    "users_informed": "on" if data["users_informed"] else "",
                },
            )
        except DjangoValidationError as error:
            raise serializers.ValidationError(error.message_dict) from error
        # The grant was made by the kind's on_submitted, in the submission's transaction.
        grant_id = submitted.data.get(CLEAR_NUMBERS_GRANT_KEY)
        asked = clear_numbers_requests(membership=membership).get(pk=grant_id)
        return Response(ClearNumbersRequestSerializer(asked).data, status=status.HTTP_201_CREATED)
