"""The API of a line's services: VoLTE, premium services (VAS) barring and their history.

Each route names the line; it is loaded through `visible()` before anything
else (TenantAPIMixin), so a line of another company, or a line not assigned
to a line user, is 404 on every method.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django.core.exceptions import ValidationError as DjangoValidationError
from django.utils.translation import gettext_lazy as _
from drf_spectacular.utils import extend_schema
from rest_framework import serializers, status
from rest_framework.exceptions import Throttled
from rest_framework.generics import GenericAPIView
from rest_framework.request import Request
from rest_framework.response import Response

from selfcare.api.base import TenantAPIMixin
from selfcare.models import Line, LineServiceChange
from selfcare.services.line_services import (
    CODE_DIGITS,
    THROTTLED,
    line_service_history,
    line_volte_set,
    vas_barring_lift,
    vas_barring_restore,
    vas_code_pending,
    vas_unlock_code_send,
)


class LineServiceChangeSerializer(serializers.ModelSerializer[LineServiceChange]):
    changed_by = serializers.CharField(
        source="changed_by.get_full_name",
        read_only=True,
        allow_null=True,
        help_text=_("Who made the change; null when the operator made it."),
    )

    class Meta:
        model = LineServiceChange
        fields = ["id", "service", "enabled_before", "enabled_after", "changed_by", "changed_at"]
        extra_kwargs = {
            "enabled_before": {"help_text": _("For VoLTE: on. For premium services barring: barred.")},
            "enabled_after": {"help_text": _("For VoLTE: on. For premium services barring: barred.")},
        }


@dataclass(frozen=True)
class LineServicesState:
    line: Line
    vas_code_pending: bool
    history: list[LineServiceChange]


class LineServicesSerializer(serializers.Serializer[LineServicesState]):
    id = serializers.IntegerField(source="line.pk", read_only=True)
    number = serializers.CharField(source="line.number", read_only=True)
    kind = serializers.CharField(source="line.kind", read_only=True)
    volte_enabled = serializers.BooleanField(source="line.volte_enabled", read_only=True)
    vas_barred = serializers.BooleanField(
        source="line.vas_barred", read_only=True, help_text=_("Whether premium services (VAS) are barred.")
    )
    vas_code_pending = serializers.BooleanField(
        read_only=True, help_text=_("Whether a code sent by SMS can still be used to lift the barring.")
    )
    history = LineServiceChangeSerializer(
        many=True, read_only=True, help_text=_("The latest 20 changes, newest first.")
    )


class VolteSerializer(serializers.Serializer[Any]):
    enabled = serializers.BooleanField(help_text=_("True to switch VoLTE on, false to switch it off."))


class VasCodeSerializer(serializers.Serializer[Any]):
    code = serializers.CharField(
        max_length=20,
        help_text=_("The %(digits)d-digit code sent by SMS to the line.") % {"digits": CODE_DIGITS},
    )


class VasCodeSentSerializer(serializers.Serializer[Any]):
    detail = serializers.CharField(read_only=True)
    expires_at = serializers.DateTimeField(read_only=True)


def _refusal(error: DjangoValidationError, *, field: str | None = None) -> Exception:
    """A service's refusal as the API's: 429 for a send over the limits, otherwise 400."""
    if getattr(error, "code", None) == THROTTLED:
        return Throttled(detail=" ".join(error.messages))
    return serializers.ValidationError({field: error.messages} if field else error.messages)


class _LineServicesBase(TenantAPIMixin[Line], GenericAPIView[Line]):
    tenant_model = Line
    serializer_class = LineServicesSerializer  # type: ignore[assignment]  # a view of the line, not the line

    def state(self) -> Response:
        line = self.get_object()
        line.refresh_from_db()
        state = LineServicesState(
            line=line,
            vas_code_pending=line.vas_barred and vas_code_pending(line=line) is not None,
            history=list(line_service_history(line=line)),
        )
        return Response(LineServicesSerializer(state).data)


class LineServicesView(_LineServicesBase):
    """A line's services and the history of their changes."""

    @extend_schema(responses=LineServicesSerializer)
    def get(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        return self.state()


class LineVolteView(_LineServicesBase):
    """Switch VoLTE on or off. Switching to the state the line already has is a 400."""

    @extend_schema(request=VolteSerializer, responses=LineServicesSerializer)
    def post(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        form = VolteSerializer(data=request.data)
        form.is_valid(raise_exception=True)
        try:
            line_volte_set(
                line=self.get_object(),
                enabled=form.validated_data["enabled"],
                actor=self.get_current_membership(),
            )
        except DjangoValidationError as error:
            raise _refusal(error) from error
        return self.state()


class LineVasCodeView(_LineServicesBase):
    """Send by SMS to the line a one-time code that lifts premium services barring.

    At most one code a minute and five an hour per line (429 beyond). The code
    is never in a response: whoever holds the SIM reads it.
    """

    @extend_schema(request=None, responses={202: VasCodeSentSerializer})
    def post(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        line = self.get_object()
        try:
            unlock = vas_unlock_code_send(line=line, actor=self.get_current_membership())
        except DjangoValidationError as error:
            raise _refusal(error) from error
        sent = {
            "detail": _("A code has been sent by SMS to %(number)s.") % {"number": line.number},
            "expires_at": unlock.expires_at,
        }
        return Response(VasCodeSentSerializer(sent).data, status=status.HTTP_202_ACCEPTED)


class LineVasLiftView(_LineServicesBase):
    """Allow premium services with the code of the newest SMS (five attempts, ten minutes)."""

    @extend_schema(request=VasCodeSerializer, responses=LineServicesSerializer)
    def post(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        form = VasCodeSerializer(data=request.data)
        form.is_valid(raise_exception=True)
        try:
            vas_barring_lift(
                line=self.get_object(), code=form.validated_data["code"], actor=self.get_current_membership()
            )
        except DjangoValidationError as error:
            raise _refusal(error, field="code") from error
        return self.state()


class LineVasRestoreView(_LineServicesBase):
    """Bar premium services again; no code is needed."""

    @extend_schema(request=None, responses=LineServicesSerializer)
    def post(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        try:
            vas_barring_restore(line=self.get_object(), actor=self.get_current_membership())
        except DjangoValidationError as error:
            raise _refusal(error) from error
        return self.state()
