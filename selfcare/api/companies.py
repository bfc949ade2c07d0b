"""The API of the caller, their companies, the company's users and API tokens."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from django.core.exceptions import ValidationError as DjangoValidationError
from django.db.models import QuerySet
from django.utils.translation import gettext_lazy as _
from drf_spectacular.utils import extend_schema
from rest_framework import mixins, serializers, status, viewsets
from rest_framework.decorators import action
from rest_framework.exceptions import NotAuthenticated
from rest_framework.generics import ListAPIView, RetrieveAPIView
from rest_framework.request import Request
from rest_framework.response import Response

from selfcare import permissions
from selfcare.api.auth import token_of
from selfcare.models import (
    ApiToken,
    Company,
    Membership,
    User,
)
from selfcare.selectors.companies import memberships_of
from selfcare.services.tokens import NAME_MAX_LENGTH, api_token_create, api_token_revoke

if TYPE_CHECKING:
    from rest_framework.permissions import _SupportsHasPermission

from selfcare.api.base import Capability, IsNotTokenCall, TenantAPIMixin


class CompanySummarySerializer(serializers.ModelSerializer[Company]):
    class Meta:
        model = Company
        fields = ["id", "name", "vat_number"]


class CompanySerializer(serializers.ModelSerializer[Company]):
    class Meta:
        model = Company
        fields = ["id", "name", "vat_number", "tax_code", "pec", "recipient_code", "registered_office"]


class UserSerializer(serializers.ModelSerializer[User]):
    class Meta:
        model = User
        fields = ["id", "email", "name", "language"]


class MembershipSerializer(serializers.ModelSerializer[Membership]):
    """One of the caller's own memberships: a company they may work in, with their role there."""

    company = CompanySummarySerializer(read_only=True)
    current = serializers.SerializerMethodField(help_text=_("Whether this call works in this company."))

    class Meta:
        model = Membership
        fields = ["id", "role", "company", "current"]

    def get_current(self, membership: Membership) -> bool:
        current = self.context.get("membership")
        return current is not None and current.pk == membership.pk


class CompanyUserSerializer(serializers.ModelSerializer[Membership]):
    """A user of the company, with their role in it."""

    email = serializers.EmailField(source="user.email", read_only=True)
    name = serializers.CharField(source="user.name", read_only=True)

    class Meta:
        model = Membership
        fields = ["id", "email", "name", "role", "created_at"]


@dataclass(frozen=True)
class Me:
    user: User
    membership: Membership
    authentication: str
    capabilities: dict[str, bool]


class MeSerializer(serializers.Serializer[Me]):
    user = UserSerializer(read_only=True)
    membership = MembershipSerializer(read_only=True)
    authentication = serializers.ChoiceField(
        choices=["token", "session"], read_only=True, help_text=_("How this call was authenticated.")
    )
    capabilities = serializers.DictField(
        child=serializers.BooleanField(),
        read_only=True,
        help_text=_("What the membership may do in its company (the portal shows and refuses the same)."),
    )


class ApiTokenSerializer(serializers.ModelSerializer[ApiToken]):
    is_active = serializers.SerializerMethodField(help_text=_("False once the token is revoked."))

    class Meta:
        model = ApiToken
        fields = ["id", "name", "prefix", "created_at", "last_used_at", "revoked_at", "is_active"]

    def get_is_active(self, token: ApiToken) -> bool:
        return token.revoked_at is None


class ApiTokenCreateSerializer(serializers.Serializer[ApiToken]):
    name = serializers.CharField(max_length=NAME_MAX_LENGTH, help_text=_("What the token is for."))


class ApiTokenCreatedSerializer(ApiTokenSerializer):
    key = serializers.SerializerMethodField(
        help_text=_("The key, for the header `Authorization: Token <key>`. Shown only in this response.")
    )

    class Meta(ApiTokenSerializer.Meta):
        fields = [*ApiTokenSerializer.Meta.fields, "key"]

    def get_key(self, token: ApiToken) -> str:
        return str(self.context["key"])


# ---------------------------------------------------------------------------
# Filters
# ---------------------------------------------------------------------------
class MeView(TenantAPIMixin[Membership]):
    """The caller: their user, the membership (company and role) this call works in, and what it may do."""

    tenant_model = Membership

    @extend_schema(responses=MeSerializer)
    def get(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        membership = self.get_current_membership()
        me = Me(
            user=membership.user,
            membership=membership,
            authentication="token" if token_of(request) else "session",
            capabilities=permissions.capabilities_of(membership),
        )
        return Response(MeSerializer(me, context={"membership": membership}).data)


class MembershipListView(TenantAPIMixin[Membership], ListAPIView[Membership]):
    """The companies the caller may work in. With a token, only the token's own membership."""

    tenant_model = Membership
    serializer_class = MembershipSerializer
    # A person belongs to a handful of companies: one page.
    pagination_class = None

    def get_queryset(self) -> QuerySet[Membership]:
        membership = self.membership
        user = self.request.user
        if membership is None or not isinstance(user, User):
            return Membership.objects.none()
        # Not `visible()`: these are the caller's own memberships in every
        # company (the company switcher), not rows of the current company.
        # A token is bound to one company and must not reveal the others.
        mine = memberships_of(user=user)
        if token_of(self.request) is not None:
            return mine.filter(pk=membership.pk)
        return mine

    def get_serializer_context(self) -> dict[str, Any]:
        return {**super().get_serializer_context(), "membership": self.membership}


class CurrentCompanyView(TenantAPIMixin[Company], RetrieveAPIView[Company]):
    """The registry data of the company this call works in."""

    tenant_model = Company
    serializer_class = CompanySerializer

    def get_queryset(self) -> QuerySet[Company]:
        # Company has no `visible_to`: it is the tenant itself.
        if self.membership is None:
            return Company.objects.none()
        return Company.objects.filter(pk=self.membership.company_id)

    def get_object(self) -> Company:
        return self.get_current_membership().company


class CompanyUserViewSet(TenantAPIMixin[Membership], viewsets.ReadOnlyModelViewSet[Membership]):
    """The users of the company and their roles.

    The list is for administrators and legal representatives. By id, a line
    user may read only their own membership.
    """

    # One user by id is loaded through `visible()` like any row, so that an
    # id of another company answers 404 to every role, never 403.
    # Inviting users, changing roles and removing access belong here, as
    # `create` / `partial_update` / `destroy` that call the membership
    # services (selfcare.services.members: member_invite, member_change_role,
    # member_assign_lines, member_remove), which hold the rules of
    # selfcare.permissions.can_change_membership and roles_grantable_by.

    tenant_model = Membership
    serializer_class = CompanyUserSerializer

    def get_required_capability(self) -> Capability | None:
        return permissions.can_manage_users if self.action == "list" else None

    def get_queryset(self) -> QuerySet[Membership]:
        return super().get_queryset().select_related("user")


class ApiTokenViewSet(
    TenantAPIMixin[ApiToken],
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    viewsets.GenericViewSet[ApiToken],
):
    """The caller's own API tokens in this company: list, create (the key is shown once), revoke."""

    tenant_model = ApiToken
    serializer_class = ApiTokenSerializer
    # A person's own tokens: a handful, one page.
    pagination_class = None

    def get_permissions(self) -> list[_SupportsHasPermission]:
        checks = super().get_permissions()
        if self.action == "create":
            checks.append(IsNotTokenCall())
        return checks

    @extend_schema(request=ApiTokenCreateSerializer, responses={201: ApiTokenCreatedSerializer})
    def create(self, request: Request) -> Response:
        form = ApiTokenCreateSerializer(data=request.data)
        form.is_valid(raise_exception=True)
        user = request.user
        try:
            token, key = api_token_create(
                membership=self.get_current_membership(),
                name=form.validated_data["name"],
                created_by=user if isinstance(user, User) else None,
            )
        except DjangoValidationError as error:
            detail = error.message_dict if hasattr(error, "error_dict") else error.messages
            raise serializers.ValidationError(detail) from error
        created = ApiTokenCreatedSerializer(token, context={**self.get_serializer_context(), "key": key})
        return Response(created.data, status=status.HTTP_201_CREATED, headers={"Cache-Control": "no-store"})

    @extend_schema(request=None, responses=ApiTokenSerializer)
    @action(detail=True, methods=["post"])
    def revoke(self, request: Request, pk: str | None = None) -> Response:
        """Revoke the token at once; integrations using it are refused from the next call."""
        token = self.get_object()
        user = request.user
        if not isinstance(user, User):
            raise NotAuthenticated
        token = api_token_revoke(token=token, user=user)
        return Response(ApiTokenSerializer(token).data)
