"""Pages of the Procedures section (included from selfcare/urls.py): requests and activation orders."""

from __future__ import annotations

from django.urls import URLPattern, URLResolver

from procedures import urls_activation, urls_requests

app_name = "procedures"

urlpatterns: list[URLPattern | URLResolver] = [*urls_requests.urlpatterns, *urls_activation.urlpatterns]
