"""Pages of the core app."""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_not_required, login_required
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect, render
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET, require_POST
from django.views.generic import TemplateView

from selfcare import health
from selfcare.forms import CompanySwitchForm
from selfcare.middleware import SESSION_MEMBERSHIP_KEY
from selfcare.navigation import SECTIONS_BY_SLUG
from selfcare.selectors.companies import memberships_of
from selfcare.selectors.system import heartbeat_last_seen
from selfcare.tasks import WORKER_HEARTBEAT
from selfcare.views.base import CompanyView


class DashboardView(TemplateView):
    template_name = "selfcare/dashboard.html"


class SectionView(TemplateView):
    template_name = "selfcare/section.html"

    def get_context_data(self, **kwargs: Any) -> dict[str, Any]:
        context = super().get_context_data(**kwargs)
        section = SECTIONS_BY_SLUG.get(kwargs["slug"])
        if section is None:
            raise Http404
        context["section"] = section
        return context


@require_POST
@login_required
def company_switch(request: HttpRequest) -> HttpResponse:
    """Work in another of the user's companies; the choice is kept in the session."""
    form = CompanySwitchForm(request.POST)
    chosen = None
    if form.is_valid():
        chosen = memberships_of(user=request.user).filter(pk=form.cleaned_data["membership"]).first()  # type: ignore[arg-type]
    if chosen is None:
        messages.error(request, _("Choose one of your companies."))
        return redirect("selfcare:dashboard")
    request.session[SESSION_MEMBERSHIP_KEY] = chosen.pk
    messages.success(request, _("You are now working for %(company)s.") % {"company": chosen.company.name})
    # Back where the user was, unless that page was about an object of the
    # previous company: the dashboard is always safe.
    next_url = request.POST.get("next", "")
    if not url_has_allowed_host_and_scheme(next_url, allowed_hosts={request.get_host()}) or any(
        ch.isdigit() for ch in next_url
    ):
        next_url = "/"
    return redirect(next_url)


@login_required
def no_company(request: HttpRequest) -> HttpResponse:
    """A user with no company (or staff) has nothing to manage here."""
    if getattr(request, "membership", None) is not None:
        return redirect("selfcare:dashboard")
    return render(request, "selfcare/no_company.html")


class SettingsView(CompanyView):
    """Services and settings: the company's users, API tokens, the user's own security."""

    def get(self, request: HttpRequest) -> HttpResponse:
        return render(request, "selfcare/settings.html")


@login_not_required
@never_cache
@require_GET
def healthz(request: HttpRequest) -> JsonResponse:
    """200 when the database, the cache and the broker answer, 503 otherwise."""
    states = health.run_checks()
    healthy = all(state == "ok" for state in states.values())
    last_seen = None
    if states["database"] == "ok":
        seen_at = heartbeat_last_seen(name=WORKER_HEARTBEAT)
        last_seen = seen_at.isoformat() if seen_at else None
    return JsonResponse(
        {"status": "ok" if healthy else "down", "checks": states, "worker_last_seen": last_seen},
        status=200 if healthy else 503,
    )
