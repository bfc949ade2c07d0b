"""Services and settings → API tokens: a user's own tokens for the selected company.

The key of a new token is shown once, in the response to the form that made
it, and never stored: the page is not cached anywhere (`no-store`), so the
key cannot be found later in a browser's or a proxy's cache.
"""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse, HttpResponseBase
from django.shortcuts import redirect, render
from django.utils.cache import add_never_cache_headers, patch_cache_control
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from selfcare import permissions
from selfcare.models import ApiToken, User
from selfcare.services.tokens import NAME_MAX_LENGTH, api_token_create, api_token_revoke
from selfcare.tenancy import visible
from selfcare.views.base import CompanyView


class ApiTokenCreateForm(forms.Form):
    name = forms.CharField(
        label=gettext_lazy("Name"),
        max_length=NAME_MAX_LENGTH,
        help_text=gettext_lazy("What the token is for, for example “Accounting integration”."),
    )


class _ApiTokenPage(CompanyView):
    """Any membership has tokens; no response of these pages is ever cached (a key, the keys' prefixes)."""

    capability = permissions.can_use_api_tokens

    def dispatch(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponseBase:
        response = super().dispatch(request, *args, **kwargs)
        add_never_cache_headers(response)
        patch_cache_control(response, no_store=True)
        return response


class ApiTokenListView(_ApiTokenPage):
    def _render(
        self,
        request: HttpRequest,
        form: ApiTokenCreateForm,
        *,
        new_token: ApiToken | None = None,
        new_key: str = "",
        status: int = 200,
    ) -> HttpResponse:
        tokens = visible(ApiToken, membership=self.membership).order_by("-created_at", "-id")
        return render(
            request,
            "selfcare/api_tokens.html",
            {"tokens": tokens, "form": form, "new_token": new_token, "new_key": new_key},
            status=status,
        )

    def get(self, request: HttpRequest) -> HttpResponse:
        return self._render(request, ApiTokenCreateForm())

    def post(self, request: HttpRequest) -> HttpResponse:
        form = ApiTokenCreateForm(request.POST)
        if form.is_valid():
            user = request.user
            try:
                token, key = api_token_create(
                    membership=self.membership,
                    name=form.cleaned_data["name"],
                    created_by=user if isinstance(user, User) else None,
                )
            except ValidationError as error:
                form.add_error(None, error)
            else:
                # Rendered, not redirected: the key must not travel through
                # the session or a URL to reach the next page.
                return self._render(request, ApiTokenCreateForm(), new_token=token, new_key=key)
        return self._render(request, form, status=400)


class ApiTokenRevokeView(_ApiTokenPage):
    tenant_model = ApiToken
    object: ApiToken

    def get(self, request: HttpRequest, pk: int) -> HttpResponse:
        return render(request, "selfcare/api_tokens_revoke.html", {"token": self.object})

    def post(self, request: HttpRequest, pk: int) -> HttpResponse:
        user = request.user
        if isinstance(user, User):
            api_token_revoke(token=self.object, user=user)
            messages.success(
                request,
                _("The token “%(name)s” is revoked: calls that use it are refused from now on.")
                % {"name": self.object.name},
            )
        return redirect("selfcare:api-tokens")
