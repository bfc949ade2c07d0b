"""Insight pages (included from selfcare/urls.py): the charts, and each chart's table as CSV and XLSX.

One route per chart and format, with no parameter: the cross-company walk
(tests/tenancy_walk.py) fetches each of them as every role.
"""

from __future__ import annotations

from django.urls import URLPattern, path

from insight import views
from insight.reports import CHARTS

app_name = "insight"

urlpatterns: list[URLPattern] = [
    path("insight/", views.InsightView.as_view(), name="dashboard"),
    path("insight/alerts/", views.InsightAlertListView.as_view(), name="alerts"),
    path("insight/alerts/new/", views.InsightAlertCreateView.as_view(), name="alert-create"),
    path("insight/alerts/<int:pk>/", views.InsightAlertEditView.as_view(), name="alert-edit"),
    path("insight/alerts/<int:pk>/delete/", views.InsightAlertDeleteView.as_view(), name="alert-delete"),
    *(
        path(
            f"insight/{chart.slug}.{file_format}",
            views.InsightExportView.as_view(chart=chart.slug, file_format=file_format),
            name=f"export-{chart.slug}-{file_format}",
        )
        for chart in CHARTS
        for file_format in ("csv", "xlsx")
    ),
]
