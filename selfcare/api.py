"""The REST API of the core app: who am I, the company, its users and lines, API tokens.

Every view here works inside one membership (a user in one company), taken
from the API token for token calls and from the session's selected company
for session calls, and reaches rows only through `selfcare.tenancy.visible`.
`TenantAPIMixin` does both; a new endpoint in any app starts from it:

    class InvoiceViewSet(TenantAPIMixin[Invoice], viewsets.ReadOnlyModelViewSet[Invoice]):
        tenant_model = Invoice
        serializer_class = InvoiceSerializer
        required_capability = permissions.can_manage_billing

        def get_queryset(self) -> QuerySet[Invoice]:
            return super().get_queryset().select_related("company")

An id of another company then answers 404, never 403, on every detail route.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, ClassVar, Generic, TypeVar

import django_filters
from django.core.exceptions import ValidationError as DjangoValidationError
from django.db import models
from django.db.models import QuerySet
from django.utils.translation import gettext_lazy as _
from drf_spectacular.utils import extend_schema
from rest_framework import mixins, serializers, status, viewsets
from rest_framework.decorators import action
from rest_framework.exceptions import NotAuthenticated
from rest_framework.generics import GenericAPIView, ListAPIView, RetrieveAPIView
from rest_framework.permissions import BasePermission
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from selfcare import permissions
from selfcare.api_auth import token_of
from selfcare.models import (
    ApiToken,
    Company,
    Line,
    LineKind,
    LineStatus,
    Membership,
    Offer,
    User,
)
from selfcare.selectors.companies import memberships_of
from selfcare.services.tokens import NAME_MAX_LENGTH, api_token_create, api_token_revoke
from selfcare.tenancy import visible

if TYPE_CHECKING:
    from rest_framework.permissions import _SupportsHasPermission

_M = TypeVar("_M", bound=models.Model)

Capability = Callable[[Membership | None], bool]


# ---------------------------------------------------------------------------
# The base of every tenant-scoped endpoint
# ---------------------------------------------------------------------------
def membership_of_api_request(request: Request) -> Membership | None:
    """The membership an API call works in.

    A token belongs to one membership: its calls work there, whatever
    company the same person has selected in a browser session. A session call
    works in the company selected in the portal (MembershipMiddleware).
    """
    token = token_of(request)
    if token is not None:
        return token.membership
    if not request.user or not request.user.is_authenticated:
        return None
    membership: Membership | None = getattr(request._request, "membership", None)
    # The middleware chose it for the session's user; a session user is the
    # same user DRF authenticated, but checking costs nothing.
    if membership is not None and membership.user_id != request.user.pk:
        return None
    return membership


class HasMembership(BasePermission):
    """The caller works inside a company: staff without one, for example, do not."""

    message = _("This call works inside a company, and your login has none selected.")

    def has_permission(self, request: Request, view: APIView) -> bool:
        return getattr(view, "membership", None) is not None


class HasCapability(BasePermission):
    """The membership has the capability (selfcare.permissions) the view asks for."""

    message = _("Your role in this company does not allow this.")

    def __init__(self, capability: Capability) -> None:
        self.capability = capability

    def has_permission(self, request: Request, view: APIView) -> bool:
        return self.capability(getattr(view, "membership", None))


class TenantAPIMixin(GenericAPIView[_M], Generic[_M]):
    """Sets `self.membership` (and `request.membership`) and loads rows through `visible()` only.

    - `tenant_model`: the model whose `visible_to(membership)` scopes every
      row; `get_queryset` returns exactly that, so `get_object` answers 404
      for another company's id (and for a line user's unassigned line).
      Override `get_queryset` to add `select_related`, calling `super()`.
    - `required_capability`: a function of selfcare.permissions; without it
      any membership may call the view. Override `get_required_capability`
      to vary it by action.

    The checks run in the order of selfcare.views_base.CompanyView: a caller
    with a company (401, 403), then the row the URL names (404), and only
    then the role's capability and the HTTP method (403, 405). Another
    company's id is thus 404 for every role and every method: a 403 or a 405
    would tell that the row exists.
    """

    tenant_model: type[_M]
    required_capability: ClassVar[Capability | None] = None
    membership: Membership | None = None
    _object_in_url: _M | None = None

    def perform_authentication(self, request: Request) -> None:
        super().perform_authentication(request)
        self.membership = membership_of_api_request(request)
        # Code shared with the pages (templates, selectors) reads it there.
        request._request.membership = self.membership  # type: ignore[attr-defined]

    def get_required_capability(self) -> Capability | None:
        # Through the class: read through the instance, a plain function
        # would become a method and receive the view as its membership.
        return type(self).required_capability

    def get_permissions(self) -> list[_SupportsHasPermission]:
        return [*super().get_permissions(), HasMembership()]

    def check_permissions(self, request: Request) -> None:
        super().check_permissions(request)
        if (self.lookup_url_kwarg or self.lookup_field) in self.kwargs:
            self.get_object()
        capability = self.get_required_capability()
        if capability is not None:
            permission = HasCapability(capability)
            if not permission.has_permission(request, self):
                self.permission_denied(request, message=str(permission.message))

    def get_object(self) -> _M:
        # Loaded once, by check_permissions, before the method's handler runs.
        if self._object_in_url is None:
            self._object_in_url = super().get_object()
        return self._object_in_url

    def get_current_membership(self) -> Membership:
        """The membership, for code that runs after the permission checks."""
        if self.membership is None:
            raise NotAuthenticated
        return self.membership

    def get_queryset(self) -> QuerySet[_M]:
        if self.membership is None:
            # drf-spectacular builds the schema from a view with no caller.
            return self.tenant_model._default_manager.none()
        return visible(self.tenant_model, membership=self.membership)


# ---------------------------------------------------------------------------
# Serializers: read-only views of rows the caller may already see
# ---------------------------------------------------------------------------
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


class OfferSerializer(serializers.ModelSerializer[Offer]):
    class Meta:
        model = Offer
        fields = ["code", "name", "payment"]


class LineSerializer(serializers.ModelSerializer[Line]):
    offer = OfferSerializer(read_only=True)
    assigned_to = CompanyUserSerializer(read_only=True, allow_null=True)

    class Meta:
        model = Line
        fields = [
            "id",
            "number",
            "kind",
            "sim",
            "iccid",
            "offer",
            "cost_centre",
            "status",
            "activated_on",
            "ceased_on",
            "assigned_to",
        ]


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
class LineFilter(django_filters.FilterSet):
    status = django_filters.MultipleChoiceFilter(choices=LineStatus.choices, help_text=_("Repeatable."))
    kind = django_filters.ChoiceFilter(choices=LineKind.choices)
    offer = django_filters.CharFilter(field_name="offer__code", help_text=_("The offer's code."))
    cost_centre = django_filters.CharFilter()

    class Meta:
        model = Line
        fields = ["status", "kind", "offer", "cost_centre"]


# ---------------------------------------------------------------------------
# Views
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


class LineViewSet(TenantAPIMixin[Line], viewsets.ReadOnlyModelViewSet[Line]):
    """The company's lines; a line user sees only the lines assigned to them."""

    tenant_model = Line
    serializer_class = LineSerializer
    filterset_class = LineFilter

    def get_queryset(self) -> QuerySet[Line]:
        return super().get_queryset().select_related("offer", "assigned_to__user")


class IsNotTokenCall(BasePermission):
    """Refuses calls authenticated with an API token.

    A token must not mint tokens: a leaked key would let whoever holds it
    make keys that outlive its revocation. New tokens are made by a person
    logged in (the portal page, or a session call) or by an operator.
    """

    message = _("API tokens are created by a person logged in to the portal, not with another token.")

    def has_permission(self, request: Request, view: APIView) -> bool:
        return token_of(request) is None


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
