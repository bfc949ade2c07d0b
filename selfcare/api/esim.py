"""The API of eSIM profiles: a line's profiles, requesting one, and the network's activation report.

The activation code itself is never returned by the API. Showing it needs the
password confirmed again (re-authentication), a step of a person in a
browser that a token cannot take: the code is shown only on the portal's page,
at most three times.
"""

from __future__ import annotations

from typing import Any, cast

from django.core.exceptions import ValidationError as DjangoValidationError
from django.utils.translation import gettext_lazy as _
from drf_spectacular.utils import extend_schema
from rest_framework import serializers, status
from rest_framework.exceptions import NotFound
from rest_framework.exceptions import ValidationError as DRFValidationError
from rest_framework.generics import GenericAPIView
from rest_framework.permissions import BasePermission
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from selfcare.api.base import TenantAPIMixin
from selfcare.models import EsimProfile, Line, User
from selfcare.services.esim import esim_activate, esim_request, esim_views_left
from selfcare.validators import normalize_eid, validate_eid

NO_CODE_THROUGH_THE_API = (
    "The activation code is never returned by the API: showing it needs the password confirmed "
    "again (re-authentication), a step a person takes in the browser and a token cannot. "
    "It is shown only on the portal's eSIM page, at most three times."
)


class EsimProfileSerializer(serializers.ModelSerializer[EsimProfile]):
    views_left = serializers.SerializerMethodField(help_text=_("How many more times the code can be shown."))

    class Meta:
        model = EsimProfile
        # Never `activation_code`: see NO_CODE_THROUGH_THE_API.
        fields = [
            "id",
            "eid",
            "smdp_address",
            "status",
            "is_swap",
            "views",
            "views_left",
            "created_at",
            "activated_at",
            "reissued_from",
        ]
        read_only_fields = fields

    def get_views_left(self, profile: EsimProfile) -> int:
        return esim_views_left(profile=profile)


class EsimRequestSerializer(serializers.Serializer[Any]):
    eid = serializers.CharField(
        max_length=64,
        help_text=_("The 32-digit EID of the device (dial *#06# on it); spaces are ignored."),
    )

    def validate_eid(self, value: str) -> str:
        eid = normalize_eid(value)
        try:
            validate_eid(eid)
        except DjangoValidationError as error:
            raise DRFValidationError(error.messages) from error
        return eid


def _drf_error(error: DjangoValidationError) -> DRFValidationError:
    if hasattr(error, "error_dict"):
        return DRFValidationError(
            {field: [str(e) for e in errors] for field, errors in error.message_dict.items()}
        )
    return DRFValidationError({"non_field_errors": error.messages})


class LineEsimProfilesView(TenantAPIMixin[Line], GenericAPIView[Line]):
    """The eSIM profiles of a line the caller sees; POST requests a new one (or a swap from a physical SIM)."""

    tenant_model = Line
    pagination_class = None

    @extend_schema(
        summary="eSIM profiles of a line",
        description="Newest first. " + NO_CODE_THROUGH_THE_API,
        responses=EsimProfileSerializer(many=True),
    )
    def get(self, request: Request, pk: int) -> Response:
        line = self.get_object()
        profiles = line.esim_profiles.order_by("-created_at", "-id")
        return Response(EsimProfileSerializer(profiles, many=True).data)

    @extend_schema(
        summary="Request an eSIM",
        description=(
            "A new eSIM profile for the device with this EID; for a line with a physical SIM, "
            "a swap (the physical SIM stops working once the eSIM is installed). Refused while "
            "the line has a profile ready to install. " + NO_CODE_THROUGH_THE_API
        ),
        request=EsimRequestSerializer,
        responses={201: EsimProfileSerializer},
    )
    def post(self, request: Request, pk: int) -> Response:
        line = self.get_object()
        body = EsimRequestSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        try:
            profile = esim_request(line=line, eid=body.validated_data["eid"], actor=cast(User, request.user))
        except DjangoValidationError as error:
            raise _drf_error(error) from error
        return Response(EsimProfileSerializer(profile).data, status=status.HTTP_201_CREATED)


# ---------------------------------------------------------------------------
# The provisioning system (staff): the network reports a profile installed
# ---------------------------------------------------------------------------
class IsStaffWhoChangesEsimProfiles(BasePermission):
    message = _("Only the operator's staff report eSIM activations.")

    def has_permission(self, request: Request, view: APIView) -> bool:
        user = request.user
        return bool(
            user and user.is_authenticated and user.is_staff and user.has_perm("selfcare.change_esimprofile")
        )


class EsimActivationSerializer(serializers.Serializer[Any]):
    profile = serializers.IntegerField(help_text=_("The id of the eSIM profile."))
    eid = serializers.CharField(max_length=64, help_text=_("The EID of the device that installed it."))


class EsimActivationView(APIView):
    """The provisioning system reports that a device installed an eSIM profile (staff only)."""

    permission_classes = [IsStaffWhoChangesEsimProfiles]

    @extend_schema(
        summary="Report an eSIM profile installed (operator staff)",
        description=(
            "For the operator's provisioning system, with a staff login that may change eSIM "
            "profiles. The profile is activated; for a swap, the line's physical SIM stops working."
        ),
        request=EsimActivationSerializer,
        responses={200: EsimProfileSerializer},
    )
    def post(self, request: Request) -> Response:
        body = EsimActivationSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        # Staff work across companies: the profile is found by id alone.
        profile = EsimProfile.objects.select_related("line").filter(pk=body.validated_data["profile"]).first()
        if profile is None:
            raise NotFound
        if normalize_eid(body.validated_data["eid"]) != profile.eid:
            raise DRFValidationError({"eid": [_("This is not the EID the profile was made for.")]})
        try:
            esim_activate(profile=profile, actor=cast(User, request.user))
        except DjangoValidationError as error:
            raise _drf_error(error) from error
        return Response(EsimProfileSerializer(profile).data)
