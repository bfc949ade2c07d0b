"""Request middleware of the portal."""

from __future__ import annotations

from collections.abc import Callable

from django.http import HttpRequest, HttpResponse

from selfcare.selectors.companies import membership_for_session

SESSION_MEMBERSHIP_KEY = "selfcare_membership_id"


class MembershipMiddleware:
    """Puts the selected membership (a user in a company) on `request.membership`.

    The choice is kept in the session; a user with one company needs no
    choice, and a stale or foreign id in the session falls back to the user's
    first membership. Anonymous users and staff without a company get None.
    """

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        request.membership = None  # type: ignore[attr-defined]
        if request.user.is_authenticated:
            membership = membership_for_session(
                user=request.user, membership_id=request.session.get(SESSION_MEMBERSHIP_KEY)
            )
            request.membership = membership  # type: ignore[attr-defined]
            if membership is not None and request.session.get(SESSION_MEMBERSHIP_KEY) != membership.pk:
                request.session[SESSION_MEMBERSHIP_KEY] = membership.pk
        return self.get_response(request)
