"""Payments through the payment provider and the provider's callbacks, for staff: read-only.

A payment changes only through the provider's signed callback
(billing.services); staff look, filter and search, and never edit.
"""

from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.http import HttpRequest

from billing.models import Payment, PaymentEvent


class _ReadOnlyAdmin(admin.ModelAdmin[Any]):
    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


class PaymentEventInline(admin.TabularInline[PaymentEvent, Payment]):
    model = PaymentEvent
    extra = 0
    fields = ["provider", "event_id", "outcome", "received_at"]
    readonly_fields = ["provider", "event_id", "outcome", "received_at"]
    can_delete = False
    show_change_link = True

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


@admin.register(Payment)
class PaymentAdmin(_ReadOnlyAdmin):
    list_display = [
        "reference",
        "company",
        "purpose",
        "line",
        "amount",
        "status",
        "provider",
        "receipt_number",
        "created_at",
    ]
    list_filter = ["status", "purpose", "provider", "created_at"]
    search_fields = ["=reference", "receipt_number", "provider_reference", "line__number", "company__name"]
    list_select_related = ["company", "line"]
    date_hierarchy = "created_at"
    inlines = [PaymentEventInline]


@admin.register(PaymentEvent)
class PaymentEventAdmin(_ReadOnlyAdmin):
    list_display = ["provider", "event_id", "payment", "outcome", "received_at"]
    list_filter = ["provider", "outcome", "received_at"]
    search_fields = ["=event_id", "=payment__reference", "payment__receipt_number"]
    list_select_related = ["payment"]
