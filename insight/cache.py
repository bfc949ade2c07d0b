"""The Reports page's charts, cached per company until its invoices or its traffic change (docs/insight.md, "Speed").

The traffic charts sum 90 days of per-line daily totals: at 2,000 lines
that is close to a million rows and about a second of database work per
view, ten times QUALITY.md's page target; drawing seven charts and their
tables takes another hundred milliseconds. The figures change only when
the company is invoiced (a billing run, a credit note) or a traffic file
with its lines is imported, so the page keeps its charts, drawn (the HTML
of the charts' part of the page, the request's CSP nonce left as a
placeholder that each view fills in), in the cache under a key made of:

- the company, the filters, the language and the 90-day window (so a new
  day is a new key);
- the company's invoices as they stand, read from the database with each
  view (their number and the last id: issued invoices never change, a
  credit note is a new one), so a billing run needs no invalidation;
- the company's traffic token, a random value the import replaces for each
  company it touched (`insight_traffic_changed`); an absent token (never
  set, or evicted) is made anew, which misses every older entry;
- the lines the viewer sees, with their numbers, cost centres and offers
  (a digest of the filter choices the page reads anyway), and whether the
  view is the company's own (with VAT and stamp duty): two views share an
  entry only when they cover exactly the same lines the same way. A line
  user's view is cached like a manager's, and a line assigned, renamed or
  moved to another cost centre is a new key.

Entries also expire after CACHE_SECONDS, a bound on anything the key
misses (none is known: rates never change the past). A cache that fails
is skipped: the page draws its charts.
"""

from __future__ import annotations

import hashlib
import logging
import uuid
from collections.abc import Callable, Iterable, Sequence
from datetime import date
from typing import Any

from django.core.cache import cache
from django.db.models import Count, Max
from django.utils.translation import get_language

from billing.models import Invoice
from insight.selectors import InsightScope, traffic_window

logger = logging.getLogger(__name__)

CACHE_SECONDS = 15 * 60
_TOKEN_SECONDS = 7 * 24 * 3600


def _token_key(company_id: int) -> str:
    return f"insight:traffic-token:{company_id}"


def insight_traffic_changed(*, company_ids: Iterable[int]) -> None:
    """The companies' traffic changed (a file imported): their cached tables are no longer used."""
    tokens = {_token_key(company_id): uuid.uuid4().hex for company_id in set(company_ids)}
    if not tokens:
        return
    try:
        cache.set_many(tokens, timeout=_TOKEN_SECONDS)
    except Exception:  # the cache down: delete what we can; entries expire after CACHE_SECONDS anyway
        logger.warning(
            "could not renew the insight traffic tokens of %d companies", len(tokens), exc_info=True
        )


def _traffic_token(company_id: int) -> str:
    key = _token_key(company_id)
    token = cache.get(key)
    if token is None:
        # First view, or evicted: a new token, so no entry made under an older one is read.
        cache.add(key, uuid.uuid4().hex, timeout=_TOKEN_SECONDS)
        token = cache.get(key)
    return str(token)


def _invoices_stamp(company_id: int) -> str:
    """The company's invoices as they stand: how many, and the last id; one query."""
    stamp = Invoice.objects.filter(company_id=company_id).aggregate(count=Count("pk"), last=Max("pk"))
    return f"{stamp['count']}-{stamp['last']}"


def insight_page_cached(
    *,
    scope: InsightScope,
    lines: Sequence[tuple[Any, ...]],
    build: Callable[[], str],
    today: date | None = None,
) -> str:
    """The page's charts (their HTML, `build()`), from the cache when the same figures were drawn before.

    `lines` are the lines the membership sees, as the filters list them (id,
    number, cost centre, offer): their digest is part of the key, so a view
    is shared only by views of exactly the same lines.
    """
    digest = hashlib.sha256(repr(list(lines)).encode()).hexdigest()[:32]
    first, last = traffic_window(today=today)
    filters = scope.filters
    try:
        key = ":".join(
            [
                "insight:charts",
                str(scope.company_id),
                "company" if scope.whole_company else "lines",
                digest,
                _invoices_stamp(scope.company_id),
                _traffic_token(scope.company_id),
                f"{first:%Y%m%d}-{last:%Y%m%d}",
                get_language() or "",
                filters.cost_centre.encode().hex(),
                str(filters.offer_id or ""),
                str(filters.line_id or ""),
            ]
        )
        html: str | None = cache.get(key)
    except Exception:  # a cache that fails must not fail the page
        logger.warning("insight cache unavailable", exc_info=True)
        return build()
    if html is None:
        html = build()
        try:
            cache.set(key, html, timeout=CACHE_SECONDS)
        except Exception:
            logger.warning("could not cache the insight charts", exc_info=True)
    return html
