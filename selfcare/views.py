"""Pages of the core app."""

from __future__ import annotations

from typing import Any

from django.http import Http404, HttpRequest, JsonResponse
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET
from django.views.generic import TemplateView

from selfcare import health
from selfcare.navigation import SECTIONS_BY_SLUG
from selfcare.selectors.system import heartbeat_last_seen
from selfcare.tasks import WORKER_HEARTBEAT


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
