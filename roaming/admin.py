"""Staff maintain the roaming price list here: zones, each country's zone, rates with their validity.

A rate already in force (valid from today or earlier) is read-only and
cannot be deleted: a new price list is a new row valid from a later day,
so that what past days cost never changes (docs/roaming.md).
"""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import admin
from django.core.exceptions import ValidationError
from django.http import HttpRequest
from django.utils import timezone

from roaming.models import LineRoaming, RoamingCountry, RoamingRate, RoamingSpendMonth, RoamingZone
from roaming.services import roaming_rate_check_valid_from
from selfcare.admin_base import ReadOnlyModelAdmin


def _in_force(rate: RoamingRate | None) -> bool:
    return rate is not None and rate.pk is not None and rate.valid_from <= timezone.localdate()


class RoamingRateForm(forms.ModelForm[RoamingRate]):
    class Meta:
        model = RoamingRate
        fields = [
            "zone",
            "valid_from",
            "call_made_per_minute",
            "call_received_per_minute",
            "sms",
            "data_per_mb",
        ]

    def clean_valid_from(self) -> Any:
        valid_from = self.cleaned_data["valid_from"]
        try:
            roaming_rate_check_valid_from(valid_from=valid_from, today=timezone.localdate())
        except ValidationError as error:
            raise ValidationError(error.message_dict["valid_from"]) from error
        return valid_from


class RoamingCountryInline(admin.TabularInline[RoamingCountry, RoamingZone]):
    model = RoamingCountry
    extra = 0
    fields = ["country"]
    ordering = ["country"]


@admin.register(RoamingZone)
class RoamingZoneAdmin(admin.ModelAdmin[RoamingZone]):
    list_display = ["code", "name_it", "name_en", "kind", "position"]
    list_filter = ["kind"]
    search_fields = ["code", "name_it", "name_en"]
    inlines = [RoamingCountryInline]


@admin.register(RoamingCountry)
class RoamingCountryAdmin(admin.ModelAdmin[RoamingCountry]):
    list_display = ["country", "zone"]
    list_filter = ["zone"]
    list_select_related = ["zone"]
    search_fields = ["country"]


@admin.register(RoamingRate)
class RoamingRateAdmin(admin.ModelAdmin[RoamingRate]):
    form = RoamingRateForm
    list_display = [
        "zone",
        "valid_from",
        "call_made_per_minute",
        "call_received_per_minute",
        "sms",
        "data_per_mb",
    ]
    list_filter = ["zone"]
    list_select_related = ["zone"]
    date_hierarchy = "valid_from"

    def has_change_permission(self, request: HttpRequest, obj: RoamingRate | None = None) -> bool:
        # A rate in force priced days already gone: it is kept as it is.
        return super().has_change_permission(request, obj) and not _in_force(obj)

    def has_delete_permission(self, request: HttpRequest, obj: RoamingRate | None = None) -> bool:
        return super().has_delete_permission(request, obj) and not _in_force(obj)


@admin.register(LineRoaming)
class LineRoamingAdmin(admin.ModelAdmin[LineRoaming]):
    """The cap is staff's to raise; the switches change through the portal, recorded in the line's history."""

    list_display = [
        "line",
        "roaming_enabled",
        "data_enabled",
        "spending_cap",
        "spending_cap_granted",
        "updated_at",
    ]
    list_filter = ["roaming_enabled", "data_enabled"]
    search_fields = ["line__number", "line__company__name"]
    list_select_related = ["line"]
    raw_id_fields = ["line"]
    readonly_fields = [
        "roaming_enabled",
        "data_enabled",
        "spending_cap_granted",
        "spending_cap_changed_at",
        "spending_cap_changed_by",
        "updated_at",
    ]

    def save_model(self, request: HttpRequest, obj: LineRoaming, form: Any, change: bool) -> None:
        if "spending_cap" in form.changed_data:
            # The cap staff set is the one granted: the company may lower its own and come back up to it.
            obj.spending_cap_granted = obj.spending_cap
            obj.spending_cap_changed_at = timezone.now()
            obj.spending_cap_changed_by = request.user  # type: ignore[assignment]
        super().save_model(request, obj, form, change)


@admin.register(RoamingSpendMonth)
class RoamingSpendMonthAdmin(ReadOnlyModelAdmin[RoamingSpendMonth]):
    """Written by the rating of roaming traffic: staff read it."""

    list_display = [
        "month",
        "line",
        "chargeable_spend",
        "data_spend",
        "alert_80_at",
        "alert_100_at",
        "data_stopped",
        "continued_at",
    ]
    list_filter = ["month", "data_stopped"]
    search_fields = ["line__number", "line__company__name"]
    list_select_related = ["line"]
