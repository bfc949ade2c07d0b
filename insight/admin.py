"""Staff read the companies' insight alerts and their crossings; the companies set them (insight.alerts)."""

from __future__ import annotations

from django.contrib import admin
from django.http import HttpRequest

from insight.models import InsightAlert, InsightAlertHit
from selfcare.admin_base import ReadOnlyModelAdmin


class InsightAlertHitInline(admin.TabularInline[InsightAlertHit, InsightAlert]):
    model = InsightAlertHit
    fields = ["period", "value", "baseline", "notified_at"]
    readonly_fields = ["period", "value", "baseline", "notified_at"]
    extra = 0
    can_delete = False
    ordering = ["-period"]

    def has_add_permission(self, request: HttpRequest, obj: InsightAlert | None = None) -> bool:
        return False


@admin.register(InsightAlert)
class InsightAlertAdmin(ReadOnlyModelAdmin[InsightAlert]):
    list_display = [
        "company",
        "kind",
        "cost_centre",
        "line",
        "amount",
        "percent",
        "gigabytes",
        "enabled",
        "created_at",
    ]
    list_filter = ["kind", "enabled"]
    search_fields = ["company__name", "company__vat_number", "line__number", "cost_centre"]
    list_select_related = ["company", "line"]
    raw_id_fields = ["company", "line", "created_by"]
    inlines = [InsightAlertHitInline]


@admin.register(InsightAlertHit)
class InsightAlertHitAdmin(ReadOnlyModelAdmin[InsightAlertHit]):
    list_display = ["alert", "period", "value", "baseline", "notified_at"]
    list_select_related = ["alert__company", "alert__line"]
    search_fields = ["alert__company__name", "alert__line__number", "alert__cost_centre"]
    date_hierarchy = "period"
