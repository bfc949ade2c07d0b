"""The portal's URLs: pages under /, staff under /admin/, the API under /api/v1/."""

from django.contrib import admin
from django.urls import include, path

from selfcare import views

selfcare_patterns = [
    path("", views.DashboardView.as_view(), name="dashboard"),
    path("sections/<slug:slug>/", views.SectionView.as_view(), name="section"),
]

urlpatterns = [
    path("", include((selfcare_patterns, "selfcare"))),
    path("healthz", views.healthz, name="healthz"),
    path("accounts/", include("allauth.urls")),
    path("i18n/", include("django.conf.urls.i18n")),
    path("admin/", admin.site.urls),
]
