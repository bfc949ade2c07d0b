"""Writes about the help pages: loading the starting content."""

from __future__ import annotations

from collections.abc import Iterable
from typing import TypedDict

from django.db import transaction

from selfcare.models import HelpPage


class HelpPageData(TypedDict):
    """One help page as selfcare/help_content.py writes it: the fields of HelpPage, in both languages."""

    slug: str
    category: str
    position: int
    title_it: str
    title_en: str
    body_it: str
    body_en: str


@transaction.atomic
def help_pages_load(*, pages: Iterable[HelpPageData]) -> int:
    """Add the pages whose slug is not in the database yet; the number added.

    A page already there is left exactly as it is, even when its text here
    has changed: once loaded, a page belongs to staff, who edit it (or
    unpublish it) in the admin, and a later load must not undo their work.
    Deleting a page in the admin and loading again brings the original back.
    """
    pages = list(pages)
    existing = set(
        HelpPage.objects.filter(slug__in=[page["slug"] for page in pages]).values_list("slug", flat=True)
    )
    missing = [HelpPage(**page) for page in pages if page["slug"] not in existing]
    # ignore_conflicts: two loads at once (a deploy's migration and a
    # seed_demo) each insert what the other has not, and neither fails.
    HelpPage.objects.bulk_create(missing, ignore_conflicts=True)
    return len(missing)
