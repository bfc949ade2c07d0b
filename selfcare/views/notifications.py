"""The in-portal inbox: a user's notifications in the selected company, and its header badge."""

from __future__ import annotations

from functools import cached_property
from typing import Any

from django.core.paginator import Page, Paginator
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import render
from django.urls import reverse

from selfcare.models import Membership, Notification
from selfcare.selectors.notifications import notifications_inbox, notifications_unread_count
from selfcare.services.notifications import notification_mark_read, notifications_mark_all_read
from selfcare.views.base import CompanyView

INBOX_PAGE_SIZE = 20


class InboxSummary:
    """What the header badge shows, counted only when a template asks for it.

    Pages that do not show the badge (no membership, an htmx fragment) run no
    query; those that do run one, however often the template reads it.
    """

    def __init__(self, membership: Membership | None) -> None:
        self.membership = membership

    @cached_property
    def unread_count(self) -> int:
        if self.membership is None:
            return 0
        return notifications_unread_count(membership=self.membership)


def inbox(request: HttpRequest) -> dict[str, Any]:
    """Context processor: `inbox.unread_count` for the header badge."""
    return {"inbox": InboxSummary(getattr(request, "membership", None))}


def _inbox_page(*, membership: Membership, number: str | None) -> Page[Notification]:
    paginator = Paginator(notifications_inbox(membership=membership), INBOX_PAGE_SIZE)
    # get_page: a missing, malformed or too large number shows a page, never an error.
    return paginator.get_page(number)


def _back_to_inbox(request: HttpRequest) -> HttpResponseRedirect:
    page = request.POST.get("page", "")
    url = reverse("selfcare:inbox")
    return HttpResponseRedirect(f"{url}?page={page}" if page.isdigit() else url)


class InboxView(CompanyView):
    """The user's messages in the selected company, newest first, unread ones marked."""

    def get(self, request: HttpRequest) -> HttpResponse:
        page = _inbox_page(membership=self.membership, number=request.GET.get("page"))
        return render(request, "notifications/inbox.html", {"page": page})


class InboxMarkReadView(CompanyView):
    # Loaded through get_visible_or_404: another user's or company's message is a 404.
    tenant_model = Notification

    def post(self, request: HttpRequest, pk: int) -> HttpResponse:
        notification = notification_mark_read(notification=self.object)
        if request.htmx:  # type: ignore[attr-defined]  # set by django-htmx's middleware
            # The message, now read, in place of the old one, and the badge's new count.
            return render(request, "notifications/_mark_read.html", {"notification": notification})
        return _back_to_inbox(request)


class InboxMarkAllReadView(CompanyView):
    def post(self, request: HttpRequest) -> HttpResponse:
        notifications_mark_all_read(membership=self.membership)
        if request.htmx:  # type: ignore[attr-defined]  # set by django-htmx's middleware
            page = _inbox_page(membership=self.membership, number=request.POST.get("page"))
            return render(request, "notifications/_mark_all_read.html", {"page": page})
        return _back_to_inbox(request)
