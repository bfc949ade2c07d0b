"""The base of every API view: the caller's membership, scoped rows, capabilities."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, ClassVar, Generic, TypeVar

from django.db import models
from django.db.models import QuerySet
from django.utils.translation import gettext_lazy as _
from rest_framework.exceptions import NotAuthenticated
from rest_framework.generics import GenericAPIView
from rest_framework.permissions import BasePermission
from rest_framework.request import Request
from rest_framework.views import APIView

from selfcare.api.auth import token_of
from selfcare.models import (
    Membership,
)
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

    The checks run in the order of selfcare.views.base.CompanyView: a caller
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


class IsNotTokenCall(BasePermission):
    """Refuses calls authenticated with an API token.

    A token must not mint tokens: a leaked key would let whoever holds it
    make keys that outlive its revocation. New tokens are made by a person
    logged in (the portal page, or a session call) or by an operator.
    """

    message = _("API tokens are created by a person logged in to the portal, not with another token.")

    def has_permission(self, request: Request, view: APIView) -> bool:
        return token_of(request) is None
