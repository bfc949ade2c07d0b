"""Template context every page needs."""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest

from selfcare.navigation import SECTIONS


def portal(request: HttpRequest) -> dict[str, Any]:
    return {
        "sections": SECTIONS,
        # django-htmx's script tag reads the CSP nonce under this name.
        "csp_nonce": getattr(request, "csp_nonce", ""),
    }
