"""The base of every company page: login, a selected company, the role's capability, scoped lookups.

A view declares what it shows and who may see it; the base does the rest:

    class MemberEditView(CompanyView):
        capability = permissions.can_manage_users
        tenant_model = Membership        # loads self.object from kwargs["pk"], or 404

Objects named in the URL are loaded before the capability is checked, so
another company's id is always a 404 and never tells that it exists.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, ClassVar

from django.contrib.auth.mixins import LoginRequiredMixin
from django.core.exceptions import PermissionDenied
from django.db import models
from django.http import HttpRequest, HttpResponseBase
from django.shortcuts import redirect
from django.views import View

from selfcare.models import Membership
from selfcare.tenancy import get_visible_or_404


class CompanyView(LoginRequiredMixin, View):
    capability: ClassVar[Callable[[Membership | None], bool] | None] = None
    tenant_model: ClassVar[type[models.Model] | None] = None
    membership: Membership
    object: Any

    def dispatch(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponseBase:
        if not request.user.is_authenticated:
            return self.handle_no_permission()
        membership: Membership | None = getattr(request, "membership", None)
        if membership is None:
            return redirect("selfcare:no-company")
        self.membership = membership
        if self.tenant_model is not None and "pk" in kwargs:
            self.object = get_visible_or_404(self.tenant_model, membership=membership, pk=kwargs["pk"])
        capability = type(self).capability
        if capability is not None and not capability(membership):
            raise PermissionDenied
        return super().dispatch(request, *args, **kwargs)

    def get_visible(self, model: type[models.Model], **lookup: Any) -> Any:
        return get_visible_or_404(model, membership=self.membership, **lookup)
