"""Pages of the procedures' requests (joined into procedures/urls.py under the "procedures" namespace)."""

from __future__ import annotations

from django.urls import URLPattern, URLResolver, path

from procedures import views_requests as views

urlpatterns: list[URLPattern | URLResolver] = [
    path("requests/", views.RequestListView.as_view(), name="request-list"),
    path("requests/new/", views.RequestNewView.as_view(), name="request-new"),
    path("requests/new/<slug:kind>/", views.RequestCreateView.as_view(), name="request-create"),
    path("requests/<int:pk>/", views.RequestDetailView.as_view(), name="request-detail"),
    path("requests/<int:pk>/answer/", views.RequestAnswerView.as_view(), name="request-answer"),
    path("requests/<int:pk>/documents/", views.RequestDocumentAddView.as_view(), name="request-document-add"),
    path("requests/<int:pk>/messages/", views.RequestMessageView.as_view(), name="request-message"),
    path(
        "requests/<int:pk>/documents/<int:document_pk>/",
        views.RequestDocumentView.as_view(),
        name="request-document",
    ),
]
