"""Base classes shared by the apps' admin modules."""

from __future__ import annotations

from typing import Any, Generic, TypeVar

from django.contrib import admin
from django.db import models
from django.http import HttpRequest

_M = TypeVar("_M", bound=models.Model)


class ReadOnlyModelAdmin(admin.ModelAdmin[_M], Generic[_M]):
    """Records the portal writes itself (histories, movements, provider events): staff read them only."""

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False
