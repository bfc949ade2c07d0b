"""Help and contacts: public pages, readable without logging in (CONTRACTS.md, "HTTP")."""

from __future__ import annotations

from django.contrib.auth.decorators import login_not_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import get_language
from django.views.decorators.http import require_GET

from selfcare.selectors.help import (
    QUERY_MAX_LENGTH,
    help_page_published,
    help_pages_by_category,
    help_pages_search,
)


def _language() -> str:
    return get_language() or "it"


@login_not_required
@require_GET
def help_index(request: HttpRequest) -> HttpResponse:
    """The help pages by category, with the contacts."""
    return render(
        request,
        "selfcare/help/index.html",
        {"categories": help_pages_by_category(language=_language()), "query_max_length": QUERY_MAX_LENGTH},
    )


@login_not_required
@require_GET
def help_page(request: HttpRequest, slug: str) -> HttpResponse:
    """One help page in the current language."""
    return render(request, "selfcare/help/page.html", {"page": help_page_published(slug=slug)})


@login_not_required
@require_GET
def help_search(request: HttpRequest) -> HttpResponse:
    """The pages matching `q`; an empty search is the help index."""
    query = request.GET.get("q", "").strip()[:QUERY_MAX_LENGTH]
    if not query:
        return redirect("selfcare:help")
    return render(
        request,
        "selfcare/help/search.html",
        {
            "query": query,
            "results": help_pages_search(query=query, language=_language()),
            "query_max_length": QUERY_MAX_LENGTH,
        },
    )
