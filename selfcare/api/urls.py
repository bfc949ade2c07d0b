"""Routes of the REST API, mounted at /api/v1/ (CONTRACTS.md, "HTTP").

The one place where API routes are registered, for every app: register a
viewset on the router, or add a path below. Every route appears in the
OpenAPI schema at /api/schema/ (a test fails otherwise).
"""

from __future__ import annotations

from django.urls import URLPattern, URLResolver, path
from rest_framework.routers import SimpleRouter

from selfcare.api import companies, lines

app_name = "api"

# SimpleRouter, not DefaultRouter: no browsable root view, whose listing the
# schema would not describe.
router = SimpleRouter()
router.register("company/users", companies.CompanyUserViewSet, basename="company-user")
router.register("lines", lines.LineViewSet, basename="line")
router.register("tokens", companies.ApiTokenViewSet, basename="token")

urlpatterns: list[URLPattern | URLResolver] = [
    path("me/", companies.MeView.as_view(), name="me"),
    path("memberships/", companies.MembershipListView.as_view(), name="membership-list"),
    path("company/", companies.CurrentCompanyView.as_view(), name="company"),
    *router.urls,
]
