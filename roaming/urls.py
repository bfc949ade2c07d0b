"""Pages of the Abroad section (included from selfcare/urls.py)."""

from __future__ import annotations

from django.urls import path

from roaming import views

app_name = "roaming"

urlpatterns = [
    path("abroad/", views.AbroadView.as_view(), name="abroad"),
    # Public (CONTRACTS.md, "HTTP"): the roaming rates, and the calculator that prices them.
    path("abroad/rates/", views.rates, name="rates"),
    path("abroad/calculator/", views.calculator, name="calculator"),
    path("abroad/lines/<int:pk>/", views.LineAbroadView.as_view(), name="line"),
    path("abroad/lines/<int:pk>/roaming/", views.LineRoamingView.as_view(), name="line-roaming"),
    path("abroad/lines/<int:pk>/data/", views.LineDataRoamingView.as_view(), name="line-data"),
    path("abroad/lines/<int:pk>/cap/", views.LineSpendingCapView.as_view(), name="line-cap"),
    path("abroad/lines/<int:pk>/continue/", views.LineContinueView.as_view(), name="line-continue"),
]
