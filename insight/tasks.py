"""Background work of Insight: checking the alerts (insight.alerts) after a billing run or a traffic import."""

from __future__ import annotations

from datetime import date, timedelta

from django.utils import timezone

from insight import alerts
from insight.models import InsightAlert
from selfcare.celery import resumable_task


# Idempotent: a crossing is recorded and told once, so a retry or a second
# delivery of the same message tells nobody twice.
@resumable_task()
def insight_alerts_check(
    months: list[str] | None = None, days: list[str] | None = None, company_ids: list[int] | None = None
) -> None:
    """Check the alerts for the billed months and traffic days given (ISO dates), of those companies or all."""
    alerts.insight_alerts_check(
        months=[date.fromisoformat(m) for m in months or []],
        days=[date.fromisoformat(d) for d in days or []],
        company_ids=company_ids,
    )


@resumable_task()
def insight_alerts_sweep() -> None:
    """Daily, in case a check was never queued (broker down): the last billed month, yesterday and today."""
    from billing.models import Invoice, InvoiceKind

    if not InsightAlert.objects.filter(enabled=True).exists():
        return
    today = timezone.localdate()
    last_month = (
        Invoice.objects.filter(kind=InvoiceKind.INVOICE)
        .order_by("-period_start")
        .values_list("period_start", flat=True)
        .first()
    )
    alerts.insight_alerts_check(
        months=[last_month] if last_month else [], days=[today - timedelta(days=1), today]
    )
