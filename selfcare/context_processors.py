"""Template context every page needs."""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest
from django.utils.functional import SimpleLazyObject

from selfcare.navigation import SECTIONS
from selfcare.permissions import capabilities_of
from selfcare.selectors.companies import memberships_of


def _section_of(path: str) -> str:
    """The section whose URL (or one of its other paths) is the longest prefix of `path`."""
    matches = [
        (len(prefix), section.slug)
        for section in SECTIONS
        for prefix in (section.url, *section.also_under)
        if prefix != "/" and path.startswith(prefix)
    ]
    return max(matches)[1] if matches else ""


def portal(request: HttpRequest) -> dict[str, Any]:
    membership = getattr(request, "membership", None)
    return {
        "sections": SECTIONS,
        # The section the page belongs to, highlighted in the navigation.
        "current_section": SimpleLazyObject(lambda: _section_of(request.path)),
        "membership": membership,
        # What the selected membership may do, from selfcare.permissions.
        "capabilities": capabilities_of(membership),
        # The company switcher's choices: queried only by pages that show it.
        "user_memberships": SimpleLazyObject(
            lambda: list(memberships_of(user=request.user)) if request.user.is_authenticated else []
        ),
        # django-htmx's script tag reads the CSP nonce under this name.
        "csp_nonce": getattr(request, "csp_nonce", ""),
    }
