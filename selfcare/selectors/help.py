"""Reads about the help pages: the index by category, one page, the search from the header."""

from __future__ import annotations

from dataclasses import dataclass

from django.contrib.postgres.search import SearchQuery, SearchRank, SearchVector
from django.db import connection
from django.db.models import Q
from django.shortcuts import get_object_or_404

from selfcare.models import HelpCategory, HelpPage

# The longest query searched: a longer one is cut, never refused (it comes from a GET box).
QUERY_MAX_LENGTH = 200


@dataclass(frozen=True)
class HelpCategoryPages:
    category: HelpCategory
    pages: list[HelpPage]


def _is_italian(language: str) -> bool:
    return language.startswith("it")


def help_pages_by_category(*, language: str) -> list[HelpCategoryPages]:
    """The published pages grouped by category, in the order of HelpCategory; empty categories left out."""
    title = "title_it" if _is_italian(language) else "title_en"
    pages = list(HelpPage.objects.filter(published=True).order_by("position", title, "slug"))
    return [
        HelpCategoryPages(category=category, pages=in_category)
        for category in HelpCategory
        if (in_category := [page for page in pages if page.category == category])
    ]


def help_page_published(*, slug: str) -> HelpPage:
    """The published page with this slug, or 404: an unpublished page does not exist for visitors."""
    return get_object_or_404(HelpPage, slug=slug, published=True)


def help_pages_search(*, query: str, language: str) -> list[HelpPage]:
    """Published pages matching `query` in `language`'s title and text, best first.

    PostgreSQL's full-text search with the language's dictionary, so that
    "segreterie" finds "segreteria" and "settings" finds "setting"; a match
    in the title ranks above one in the text. On SQLite (the embedded `make
    run`) a plain substring search stands in.
    """
    query = query.strip()[:QUERY_MAX_LENGTH]
    if not query:
        return []
    if connection.vendor != "postgresql":
        return help_pages_search_simple(query=query, language=language)
    italian = _is_italian(language)
    config = "italian" if italian else "english"
    vector = SearchVector("title_it" if italian else "title_en", weight="A", config=config) + SearchVector(
        "body_it" if italian else "body_en", weight="B", config=config
    )
    # websearch: what people type in a search box ("quoted phrases", -not,
    # or) is understood, and no input is a syntax error.
    search_query = SearchQuery(query, search_type="websearch", config=config)
    return list(
        HelpPage.objects.filter(published=True)
        .annotate(document=vector, rank=SearchRank(vector, search_query))
        .filter(document=search_query)
        .order_by("-rank", "position", "slug")
    )


def help_pages_search_simple(*, query: str, language: str) -> list[HelpPage]:
    """Published pages whose title or text contains every word of `query`; title matches first.

    The fallback for databases without full-text search: no stemming, case-insensitive.
    """
    words = query.split()
    if not words:
        return []
    italian = _is_italian(language)
    title, body = ("title_it", "body_it") if italian else ("title_en", "body_en")
    matching = Q()
    for word in words:
        matching &= Q(**{f"{title}__icontains": word}) | Q(**{f"{body}__icontains": word})
    pages = list(HelpPage.objects.filter(matching, published=True).order_by("position", "slug"))

    def in_title(page: HelpPage) -> bool:
        return any(word.casefold() in getattr(page, title).casefold() for word in words)

    # sorted() is stable: within each group the database order stays.
    return sorted(pages, key=lambda page: not in_title(page))
