"""Pages of the procedures' activation (joined into procedures/urls.py under the "procedures" namespace)."""

from __future__ import annotations

from django.urls import URLPattern, URLResolver, path

from procedures import views_activation

urlpatterns: list[URLPattern | URLResolver] = [
    path("activations/", views_activation.ActivationListView.as_view(), name="activation-list"),
    path("activations/<int:pk>/", views_activation.ActivationDetailView.as_view(), name="activation-detail"),
    path(
        "activations/<int:pk>/keep-me-updated/",
        views_activation.ActivationUpdatesView.as_view(),
        name="activation-updates",
    ),
]
