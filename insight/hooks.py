"""What billing calls when its data change: the Reports page's cache and the alerts' check (docs/insight.md).

One call at the end of a billing run and one at the end of each traffic
file's import; insight builds on billing, not the reverse, so billing
imports these inside its functions.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from datetime import date
from typing import Any

from django.db import transaction

from insight.alerts import SPEND_KINDS
from insight.cache import insight_traffic_changed
from insight.models import DATA_KINDS, InsightAlert
from selfcare.celery import ENQUEUE_RETRY_POLICY

logger = logging.getLogger(__name__)


def _alerts_check_enqueue(**kwargs: Any) -> None:
    from insight.tasks import insight_alerts_check as task  # the tasks module imports the alerts

    try:
        task.apply_async(kwargs=kwargs, retry_policy=ENQUEUE_RETRY_POLICY)
    except Exception:  # any failure to publish: the daily sweep (insight-alerts-sweep) checks again
        logger.warning(
            "could not queue the insight alerts check %s; the daily sweep will", kwargs, exc_info=True
        )


def insight_after_billing_run(*, month: date) -> None:
    """Queue the check of the month's spend alerts once the run's work is committed (if any alert is enabled).

    The page's cache needs nothing: its key holds the company's invoices as they stand.
    """
    # No task for nothing to check: most runs, and every test of billing, have no alert.
    if InsightAlert.objects.filter(enabled=True, kind__in=SPEND_KINDS).exists():
        transaction.on_commit(lambda: _alerts_check_enqueue(months=[month.replace(day=1).isoformat()]))


def insight_after_traffic_import(*, touched: Iterable[tuple[int, int, date]]) -> None:
    """A traffic file's (company, line, day) are committed: renew those companies' cache, check their alerts."""
    rows = list(touched)
    if not rows:
        return
    # SQLite's import may read its days back as text; both print as ISO dates.
    days = sorted({str(day) for _company, _line, day in rows})
    companies = sorted({company_id for company_id, _line, _day in rows})
    insight_traffic_changed(company_ids=companies)
    if InsightAlert.objects.filter(enabled=True, kind__in=DATA_KINDS, company_id__in=companies).exists():
        transaction.on_commit(lambda: _alerts_check_enqueue(days=days, company_ids=companies))
