"""Template context every page needs."""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest

from selfcare.navigation import SECTIONS
from selfcare.permissions import capabilities_of


def portal(request: HttpRequest) -> dict[str, Any]:
    membership = getattr(request, "membership", None)
    return {
        "sections": SECTIONS,
        "membership": membership,
        # What the selected membership may do, from selfcare.permissions.
        "capabilities": capabilities_of(membership),
        # django-htmx's script tag reads the CSP nonce under this name.
        "csp_nonce": getattr(request, "csp_nonce", ""),
    }
