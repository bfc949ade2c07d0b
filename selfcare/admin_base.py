"""Base classes shared by the apps' admin modules."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, ClassVar, Generic, TypeVar

from django import forms
from django.contrib import admin, messages
from django.contrib.admin.options import IS_POPUP_VAR
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import models
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseRedirect
from django.template.response import TemplateResponse
from django.utils.functional import Promise

from selfcare.forms import form_errors_from
from selfcare.models import User

_M = TypeVar("_M", bound=models.Model)


class ReadOnlyModelAdmin(admin.ModelAdmin[_M], Generic[_M]):
    """Records the portal writes itself (histories, movements, provider events): staff read them only."""

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


def admin_staff_user(request: HttpRequest) -> User:
    """The staff member behind an admin request, for the services' `by=`."""
    user = request.user
    if not isinstance(user, User):  # the admin site lets only signed-in staff here
        raise PermissionDenied
    return user


@dataclass(frozen=True)
class AdminStep(Generic[_M]):
    """A step staff take on an object from its admin page, each on a form page of its own.

    `apply` calls the service with the form's cleaned data and returns the
    message to show. A ValidationError it raises goes back onto the form; an
    error of the admin's `step_refusals` (the object moved on meanwhile) is
    shown as a warning on the object's page.
    """

    slug: str
    title: str | Promise
    button: str | Promise
    form_class: type[forms.Form]
    from_statuses: tuple[str, ...]
    apply: Callable[[_M, User, dict[str, Any]], str]


class StepsAdminMixin(Generic[_M]):
    """The form pages of an admin's steps (a request's review, a fair-use finding's decisions).

    The admin names its steps, the template of their page, what is said when
    the object's status no longer allows a step, and who may take them; its
    own `get_urls` routes to `step_view` and says where a step's page is
    (`step_url`). The objects have a `status` with its display.
    """

    steps: ClassVar[dict[str, AdminStep[Any]]]
    step_template: ClassVar[str]
    # %(status)s is the object's status, in words.
    step_not_possible: ClassVar[str | Promise]
    step_refusals: ClassVar[tuple[type[Exception], ...]] = ()

    # Provided by admin.ModelAdmin.
    admin_site: admin.AdminSite
    model: type[_M]
    get_object: Callable[..., _M | None]
    message_user: Callable[..., None]
    has_view_permission: Callable[..., bool]

    def has_step_permission(self, request: HttpRequest) -> bool:
        raise NotImplementedError

    def step_url(self, obj: _M, slug: str) -> str:
        raise NotImplementedError

    def change_url(self, obj: _M) -> str:
        raise NotImplementedError

    def step_form(self, request: HttpRequest, obj: _M, step: AdminStep[_M]) -> forms.Form:
        """The step's form, bound on POST. Override for initial values or form arguments."""
        return step.form_class(request.POST) if request.method == "POST" else step.form_class()

    def step_context(self, request: HttpRequest, obj: _M, step: AdminStep[_M]) -> dict[str, Any]:
        """What the step's page shows of the object, its title included."""
        raise NotImplementedError

    def step_links(self, request: HttpRequest, obj: _M | None) -> list[tuple[str | Promise, str]]:
        """The steps the object can take now, as (title, address), for its change page."""
        if obj is None or not self.has_step_permission(request):
            return []
        status = obj.status  # type: ignore[attr-defined]
        return [
            (step.title, self.step_url(obj, slug))
            for slug, step in self.steps.items()
            if status in step.from_statuses
        ]

    def step_view(self, request: HttpRequest, object_id: str, slug: str) -> HttpResponse:
        if not self.has_step_permission(request):
            raise PermissionDenied
        step = self.steps.get(slug)
        obj = self.get_object(request, object_id)
        if step is None or obj is None:
            raise Http404
        change_url = self.change_url(obj)
        if obj.status not in step.from_statuses:  # type: ignore[attr-defined]
            self.message_user(
                request,
                str(self.step_not_possible) % {"status": obj.get_status_display()},  # type: ignore[attr-defined]
                messages.WARNING,
            )
            return HttpResponseRedirect(change_url)
        form = self.step_form(request, obj, step)
        if request.method == "POST" and form.is_valid():
            try:
                message = step.apply(obj, admin_staff_user(request), form.cleaned_data)
            except self.step_refusals as error:
                # Before ValidationError: a refusal may be one (the request's state error is).
                self.message_user(
                    request, " ".join(getattr(error, "messages", [str(error)])), messages.WARNING
                )
                return HttpResponseRedirect(change_url)
            except ValidationError as error:
                form_errors_from(error, form)
            else:
                self.message_user(request, message, messages.SUCCESS)
                return HttpResponseRedirect(change_url)
        context = {
            **self.admin_site.each_context(request),
            "opts": self.model._meta,
            "original": obj,
            "step": step,
            "form": form,
            "is_popup": IS_POPUP_VAR in request.GET,
            "has_view_permission": self.has_view_permission(request, obj),
            **self.step_context(request, obj, step),
        }
        return TemplateResponse(request, self.step_template, context)
