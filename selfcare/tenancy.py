"""Tenancy, one mechanism: every row a customer reaches is loaded through `visible_to`.

Each model that belongs to a company has a queryset with
`visible_to(membership)`, which returns only the rows that membership may see
(the company's rows and, for a line user, only those of assigned lines).
Views, API views and forms load objects through `get_visible_or_404` or a
selector built on `visible_to`; `Model.objects.get(pk=…)` in a view is a bug.
The request's membership is set by `MembershipMiddleware` (pages) or by the
API token (the API).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Generic, TypeVar

from django.core.exceptions import ObjectDoesNotExist
from django.db import models
from django.http import Http404

if TYPE_CHECKING:
    from selfcare.models import Membership

_M = TypeVar("_M", bound=models.Model)


class TenantQuerySet(models.QuerySet[_M], Generic[_M]):
    def visible_to(self, membership: Membership) -> TenantQuerySet[_M]:
        raise NotImplementedError(f"{self.model.__name__} must say which rows a membership may see")


def visible(model: type[_M], *, membership: Membership) -> TenantQuerySet[_M]:
    """The rows of `model` that `membership` may see."""
    queryset = model._default_manager.all()
    if not isinstance(queryset, TenantQuerySet):
        raise TypeError(f"{model.__name__} is not a tenant model: give it a TenantQuerySet")
    return queryset.visible_to(membership)


def get_visible_or_404(model: type[_M], *, membership: Membership | None, **lookup: Any) -> _M:
    """One row that `membership` may see, or 404: never 403, which would tell that it exists."""
    if membership is None:
        raise Http404
    try:
        return visible(model, membership=membership).get(**lookup)
    except (ObjectDoesNotExist, ValueError, TypeError) as error:
        raise Http404 from error
