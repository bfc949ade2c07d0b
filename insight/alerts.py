"""Insight alerts: setting them, and checking them after each billing run and traffic import (docs/insight.md).

Who sets them: a company's administrators and legal representatives
(selfcare.permissions.can_manage_billing: the company's money); a line user
may not. The rules read the aggregates the charts read, set-based, a fixed
number of queries per check whatever the number of alerts:

- monthly spend (cost centre or line): the invoices' lines net of VAT,
  concession fee and stamp duty, credit notes subtracted, the cost centre as
  billed, i.e. the figures of the "last three billing cycles" charts;
- "above": the month's spend is strictly more than the amount;
- "jump": the month's spend is strictly more than the average of the three
  months before it by more than N% (spend > average x (1 + N/100)); the
  average is the mean of the three calendar months before, counted only when
  the company was invoiced for each of them and the target is on each of
  those invoices, and it is above zero;
- daily data (line): the line's data bytes of a Rome day in
  `TrafficDailyTotal`, both directions, strictly more than N GB (10^9 bytes).

A crossing is recorded once per alert and period (InsightAlertHit, unique)
and told once (notify's key is the alert and the period): a repeated check, a
replayed traffic file or a repeated billing run tells nobody twice.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _

from billing.taxes import to_cents
from insight import selectors
from insight.models import (
    AMOUNT_KINDS,
    COST_CENTRE_KINDS,
    DATA_KINDS,
    JUMP_KINDS,
    LINE_KINDS,
    AlertKind,
    InsightAlert,
    InsightAlertHit,
)
from selfcare import permissions
from selfcare.models import Line, Membership, User
from selfcare.selectors.companies import company_managers
from selfcare.services.audit import audit_record
from selfcare.services.notifications import notify

logger = logging.getLogger(__name__)

EVENT = "insight_alert"
GIGABYTE = 1_000_000_000  # 10^9 bytes, as docs/fair_use.md counts a GB
JUMP_MONTHS = 3
SPEND_KINDS = (*AMOUNT_KINDS, *JUMP_KINDS)


# ---------------------------------------------------------------------------
# Setting them
# ---------------------------------------------------------------------------


def insight_alert_cost_centres(*, membership: Membership) -> list[str]:
    """The cost centres an alert may watch: those of the company's lines; one query."""
    return sorted(
        set(
            Line.objects.visible_to(membership)
            .exclude(cost_centre="")
            .values_list("cost_centre", flat=True)
            .distinct()
        )
    )


def insight_alert_save(
    *,
    membership: Membership,
    alert: InsightAlert | None = None,
    kind: str,
    cost_centre: str = "",
    line_id: int | None = None,
    amount: Decimal | None = None,
    percent: Decimal | None = None,
    gigabytes: Decimal | None = None,
    enabled: bool = True,
) -> InsightAlert:
    """Create (`alert` None) or change an alert of the membership's company.

    PermissionDenied for a line user; ValidationError, by field, for a line
    the membership cannot see (another company's), a cost centre of none of
    the company's lines, or a missing or non-positive threshold of the kind.
    The fields the kind does not use are cleared.
    """
    if not permissions.can_manage_billing(membership):
        raise PermissionDenied(_("Only the company's administrators and legal representatives set alerts."))
    if alert is not None and alert.company_id != membership.company_id:
        raise PermissionDenied
    errors: dict[str, str] = {}
    if kind not in AlertKind.values:
        errors["kind"] = _("Choose what the alert watches.")
    line = None
    if kind in LINE_KINDS:
        cost_centre = ""
        # Loaded through visible_to: another company's line is refused like an unknown one.
        line = None if line_id is None else Line.objects.visible_to(membership).filter(pk=line_id).first()
        if line_id is None:
            errors["line"] = _("Choose the line the alert watches.")
        elif line is None:
            errors["line"] = _("This line is not one of your company's lines.")
    elif kind in COST_CENTRE_KINDS:
        if not cost_centre:
            errors["cost_centre"] = _("Choose the cost centre the alert watches.")
        elif cost_centre not in insight_alert_cost_centres(membership=membership):
            errors["cost_centre"] = _("No line of your company has this cost centre.")
    thresholds: dict[str, Decimal | None] = {"amount": None, "percent": None, "gigabytes": None}
    wanted = "amount" if kind in AMOUNT_KINDS else "percent" if kind in JUMP_KINDS else "gigabytes"
    value = {"amount": amount, "percent": percent, "gigabytes": gigabytes}[wanted]
    if value is None:
        errors[wanted] = {
            "amount": _("Give the amount in euros."),
            "percent": _("Give the percentage."),
            "gigabytes": _("Give the GB of data in a day."),
        }[wanted]
    elif value <= 0:
        errors[wanted] = {
            "amount": _("The amount must be more than zero."),
            "percent": _("The percentage must be more than zero."),
            "gigabytes": _("The GB must be more than zero."),
        }[wanted]
    thresholds[wanted] = value
    if errors:
        raise ValidationError(errors)
    creating = alert is None
    if alert is None:
        alert = InsightAlert(company_id=membership.company_id, created_by=membership.user)
    alert.kind = kind
    alert.cost_centre = cost_centre
    alert.line = line
    alert.amount, alert.percent, alert.gigabytes = (
        thresholds["amount"],
        thresholds["percent"],
        thresholds["gigabytes"],
    )
    alert.enabled = enabled
    with transaction.atomic():
        alert.save()
        audit_record(
            actor=membership.user,
            target=alert,
            event="insight_alert_created" if creating else "insight_alert_changed",
            details={"kind": kind, "target": alert.target, "threshold": alert.threshold, "enabled": enabled},
        )
    return alert


def insight_alert_delete(*, membership: Membership, alert: InsightAlert) -> None:
    """Delete an alert of the membership's company, with its crossings; PermissionDenied for a line user."""
    if not permissions.can_manage_billing(membership) or alert.company_id != membership.company_id:
        raise PermissionDenied(_("Only the company's administrators and legal representatives set alerts."))
    with transaction.atomic():
        audit_record(
            actor=membership.user,
            target=alert,
            event="insight_alert_deleted",
            details={"kind": alert.kind, "target": alert.target, "threshold": alert.threshold},
        )
        alert.delete()


# ---------------------------------------------------------------------------
# Checking them
# ---------------------------------------------------------------------------


def _months_before(month: date, count: int) -> list[date]:
    """The `count` calendar months before `month` (first days), oldest first."""
    months = []
    year, number = month.year, month.month
    for _step in range(count):
        year, number = (year - 1, 12) if number == 1 else (year, number - 1)
        months.append(date(year, number, 1))
    return sorted(months)


@dataclass(frozen=True)
class Crossing:
    alert: InsightAlert
    period: date
    value: Decimal
    baseline: Decimal | None = None


def _spend_crossings(*, month: date, company_ids: list[int] | None) -> list[Crossing]:
    """The enabled spend alerts that `month`'s invoices cross; four queries, whatever their number."""
    alerts = InsightAlert.objects.filter(enabled=True, kind__in=SPEND_KINDS).select_related("line", "company")
    if company_ids is not None:
        alerts = alerts.filter(company_id__in=company_ids)
    alerts_list = list(alerts)
    if not alerts_list:
        return []
    companies = sorted({alert.company_id for alert in alerts_list})
    previous = _months_before(month, JUMP_MONTHS)
    window = [*previous, month]
    invoiced = selectors.invoiced_months(company_ids=companies, months=window)
    spend: dict[tuple[int, Any, date], Decimal] = {}
    spend.update(
        selectors.net_spend_by_month(
            company_ids=companies,
            months=window,
            by="line",
            targets=sorted({a.line_id for a in alerts_list if a.kind in LINE_KINDS}),
        )
    )
    spend.update(
        selectors.net_spend_by_month(
            company_ids=companies,
            months=window,
            by="cost_centre",
            targets=sorted({a.cost_centre for a in alerts_list if a.kind in COST_CENTRE_KINDS}),
        )
    )
    crossings = []
    for alert in alerts_list:
        if (alert.company_id, month) not in invoiced:
            continue  # the month is not billed yet for this company
        target: Any = alert.line_id if alert.kind in LINE_KINDS else alert.cost_centre
        value = spend.get((alert.company_id, target, month), Decimal("0.00"))
        if alert.kind in AMOUNT_KINDS:
            # The constraint insight_alert_one_threshold guarantees the amount of these kinds.
            if alert.amount is not None and value > alert.amount:
                crossings.append(Crossing(alert=alert, period=month, value=value))
            continue
        before = [spend.get((alert.company_id, target, m)) for m in previous]
        if any((alert.company_id, m) not in invoiced for m in previous) or any(v is None for v in before):
            continue  # no average of three invoiced months to compare with
        total = sum((v for v in before if v is not None), Decimal("0"))
        percent = alert.percent or Decimal("0")
        # value > total/3 * (1 + p/100), in exact arithmetic: no rounding decides a crossing.
        if total > 0 and value * JUMP_MONTHS * 100 > total * (100 + percent):
            crossings.append(
                Crossing(
                    alert=alert,
                    period=month,
                    value=value,
                    baseline=to_cents(total / JUMP_MONTHS),
                )
            )
    return crossings


def _data_crossings(*, days: list[date], company_ids: list[int] | None) -> list[Crossing]:
    """The enabled daily-data alerts that the days' traffic crosses; two queries."""
    alerts = InsightAlert.objects.filter(enabled=True, kind__in=DATA_KINDS).select_related("line", "company")
    if company_ids is not None:
        alerts = alerts.filter(company_id__in=company_ids)
    alerts_list = list(alerts)
    if not alerts_list or not days:
        return []
    volumes = selectors.data_bytes_by_line_and_day(
        line_ids=sorted({a.line_id for a in alerts_list if a.line_id is not None}), days=days
    )
    crossings = []
    for alert in alerts_list:
        if alert.gigabytes is None or alert.line_id is None:
            continue  # never: insight_alert_one_threshold, insight_alert_one_target
        for day in days:
            volume = volumes.get((alert.company_id, alert.line_id, day), 0)
            if volume > alert.gigabytes * GIGABYTE:
                crossings.append(
                    Crossing(
                        alert=alert, period=day, value=(Decimal(volume) / GIGABYTE).quantize(Decimal("0.001"))
                    )
                )
    return crossings


def insight_alerts_check(
    *,
    months: Iterable[date] = (),
    days: Iterable[date] = (),
    company_ids: Iterable[int] | None = None,
    now: datetime | None = None,
) -> list[InsightAlertHit]:
    """Check the enabled alerts for the billed `months` and the traffic `days`; the crossings told now.

    `company_ids` narrows to those companies (a traffic file touches a few);
    None checks every company (a billing run bills them all). Each crossing
    not recorded yet gets its InsightAlertHit and its notification, in one
    transaction; a recorded one is left alone. Idempotent.
    """
    ids = None if company_ids is None else sorted(set(company_ids))
    if ids == []:
        return []
    crossings: list[Crossing] = []
    for month in sorted({m.replace(day=1) for m in months}):
        crossings += _spend_crossings(month=month, company_ids=ids)
    crossings += _data_crossings(days=sorted(set(days)), company_ids=ids)
    if not crossings:
        return []
    now = now or timezone.now()
    told = set(
        InsightAlertHit.objects.filter(
            alert_id__in={c.alert.pk for c in crossings}, period__in={c.period for c in crossings}
        ).values_list("alert_id", "period")
    )
    new = [c for c in crossings if (c.alert.pk, c.period) not in told]
    if not new:
        return []
    hits = []
    managers: dict[int, list[User]] = {}
    with transaction.atomic():
        # A concurrent check may record the same crossing: the constraint keeps
        # one row, and notify's key keeps one message per recipient.
        InsightAlertHit.objects.bulk_create(
            [
                InsightAlertHit(
                    alert=c.alert, period=c.period, value=c.value, baseline=c.baseline, notified_at=now
                )
                for c in new
            ],
            ignore_conflicts=True,
        )
        for crossing in new:
            alert = crossing.alert
            if alert.company_id not in managers:
                managers[alert.company_id] = company_managers(company=alert.company)
            _notify(crossing, managers[alert.company_id])
        hits = list(
            InsightAlertHit.objects.filter(
                alert_id__in={c.alert.pk for c in new}, period__in={c.period for c in new}
            ).select_related("alert")
        )
    return [hit for hit in hits if (hit.alert_id, hit.period) in {(c.alert.pk, c.period) for c in new}]


def _notify(crossing: Crossing, managers: list[User]) -> None:
    """The alert's creator and the company's managers; the creator only while still a manager of the company."""
    alert = crossing.alert
    rise = None
    if crossing.baseline:
        rise = ((crossing.value / crossing.baseline - 1) * 100).quantize(Decimal("0.1"))
    notify(
        company=alert.company,
        event=EVENT,
        key=f"alert-{alert.pk}-{crossing.period.isoformat()}",
        recipients=managers,
        context={
            "alert": alert,
            "target": alert.target,
            "period": crossing.period,
            "monthly": alert.kind in SPEND_KINDS,
            "jump": alert.kind in JUMP_KINDS,
            "data": alert.kind in DATA_KINDS,
            "line_alert": alert.kind in LINE_KINDS,
            "value": crossing.value,
            "baseline": crossing.baseline,
            "rise": rise,
        },
        link=reverse("insight:alerts"),
    )
