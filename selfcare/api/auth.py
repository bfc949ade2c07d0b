"""Token authentication of the API: `Authorization: Token <key>`.

This module is named in REST_FRAMEWORK["DEFAULT_AUTHENTICATION_CLASSES"], which
DRF imports while it defines its own view classes: it must not import
`rest_framework.views` or `rest_framework.generics`, or the import would be
circular.
"""

from __future__ import annotations

from django.utils.translation import gettext_lazy as _
from rest_framework import exceptions
from rest_framework.authentication import TokenAuthentication
from rest_framework.request import Request

from selfcare.models import ApiToken, User
from selfcare.services.tokens import api_token_key_hash, api_token_record_use


class ApiTokenAuthentication(TokenAuthentication):
    """A token of selfcare.models.ApiToken, found by the hash of its key.

    The header parsing and its error messages come from DRF's own
    TokenAuthentication (which drf-spectacular also knows how to describe);
    only the lookup is ours, since we store a hash and not the key.
    """

    keyword = "Token"

    def authenticate_credentials(self, key: str) -> tuple[User, ApiToken]:
        token = (
            ApiToken.objects.select_related("membership__user", "membership__company")
            .filter(key_hash=api_token_key_hash(key))
            .first()
        )
        if token is None:
            raise exceptions.AuthenticationFailed(_("Invalid token."))
        if token.revoked_at is not None:
            raise exceptions.AuthenticationFailed(_("This token has been revoked."))
        user = token.membership.user
        if not user.is_active:
            raise exceptions.AuthenticationFailed(_("User inactive or deleted."))
        api_token_record_use(token=token)
        return user, token


def token_of(request: Request) -> ApiToken | None:
    """The token a request was authenticated with; None for a session (or no) login."""
    return request.auth if isinstance(request.auth, ApiToken) else None
