"""Insight alerts: thresholds a company sets on its spend and data use, and the crossings already told (docs/insight.md).

An alert watches one cost centre or one line. After each billing run and
each traffic import a task (insight.tasks) checks the enabled alerts over the
same aggregates the charts read; a crossing writes one `InsightAlertHit` per
alert and period, unique, so a repeated check, a replayed file or a repeated
run tells nobody twice.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from selfcare import permissions
from selfcare.models import Company, Line, Membership
from selfcare.tenancy import TenantQuerySet


class AlertKind(models.TextChoices):
    COST_CENTRE_SPEND_ABOVE = "cost_centre_spend_above", _("A cost centre's monthly spend above an amount")
    LINE_SPEND_ABOVE = "line_spend_above", _("A line's monthly spend above an amount")
    COST_CENTRE_SPEND_JUMP = (
        "cost_centre_spend_jump",
        _("A cost centre's monthly spend up by more than a percentage on its three-month average"),
    )
    LINE_SPEND_JUMP = (
        "line_spend_jump",
        _("A line's monthly spend up by more than a percentage on its three-month average"),
    )
    LINE_DAILY_DATA_ABOVE = "line_daily_data_above", _("A line's data in a day above a number of GB")


COST_CENTRE_KINDS = (AlertKind.COST_CENTRE_SPEND_ABOVE, AlertKind.COST_CENTRE_SPEND_JUMP)
LINE_KINDS = (AlertKind.LINE_SPEND_ABOVE, AlertKind.LINE_SPEND_JUMP, AlertKind.LINE_DAILY_DATA_ABOVE)
AMOUNT_KINDS = (AlertKind.COST_CENTRE_SPEND_ABOVE, AlertKind.LINE_SPEND_ABOVE)
JUMP_KINDS = (AlertKind.COST_CENTRE_SPEND_JUMP, AlertKind.LINE_SPEND_JUMP)
DATA_KINDS = (AlertKind.LINE_DAILY_DATA_ABOVE,)


class InsightAlertQuerySet(TenantQuerySet["InsightAlert"]):
    def visible_to(self, membership: Membership) -> InsightAlertQuerySet:
        """The company's alerts, for those who set them (admins, legal representatives); none for a line user."""
        if not permissions.can_manage_billing(membership):
            return self.none()
        return self.filter(company_id=membership.company_id)


class InsightAlert(models.Model):
    """A threshold on a cost centre's or a line's spend, or on a line's daily data; one kind, one target."""

    company = models.ForeignKey(
        Company, on_delete=models.CASCADE, related_name="insight_alerts", verbose_name=_("company")
    )
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("created by"),
    )
    kind = models.CharField(_("kind"), max_length=30, choices=AlertKind.choices)
    cost_centre = models.CharField(_("cost centre"), max_length=100, blank=True)
    line = models.ForeignKey(
        Line, on_delete=models.CASCADE, null=True, blank=True, related_name="+", verbose_name=_("line")
    )
    amount = models.DecimalField(
        _("amount (€, VAT excluded)"), max_digits=12, decimal_places=2, null=True, blank=True
    )
    percent = models.DecimalField(_("percentage"), max_digits=7, decimal_places=2, null=True, blank=True)
    gigabytes = models.DecimalField(_("GB"), max_digits=9, decimal_places=3, null=True, blank=True)
    enabled = models.BooleanField(_("enabled"), default=True)
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)
    updated_at = models.DateTimeField(_("updated at"), auto_now=True)

    objects = InsightAlertQuerySet.as_manager()

    class Meta:
        verbose_name = _("insight alert")
        verbose_name_plural = _("insight alerts")
        ordering = ["company", "pk"]
        constraints = [
            # One target, matching the kind; one threshold, matching the kind, above zero.
            models.CheckConstraint(
                condition=(Q(kind__in=COST_CENTRE_KINDS) & ~Q(cost_centre="") & Q(line__isnull=True))
                | (Q(kind__in=LINE_KINDS) & Q(cost_centre="") & Q(line__isnull=False)),
                name="insight_alert_one_target",
            ),
            models.CheckConstraint(
                condition=(
                    Q(kind__in=AMOUNT_KINDS, amount__gt=0, percent__isnull=True, gigabytes__isnull=True)
                    | Q(kind__in=JUMP_KINDS, percent__gt=0, amount__isnull=True, gigabytes__isnull=True)
                    | Q(kind__in=DATA_KINDS, gigabytes__gt=0, amount__isnull=True, percent__isnull=True)
                ),
                name="insight_alert_one_threshold",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} ({self.target})"

    @property
    def target(self) -> str:
        return self.line.number if self.line is not None else self.cost_centre

    @property
    def threshold(self) -> str:
        """The threshold as the pages write it (unlocalised: templates localise the numbers themselves)."""
        if self.kind in AMOUNT_KINDS:
            return f"€ {self.amount}"
        if self.kind in JUMP_KINDS:
            return f"+{self.percent}%"
        return f"{self.gigabytes} GB"


class InsightAlertHit(models.Model):
    """An alert's crossing in one period (a billed month, or a Rome day), told once."""

    alert = models.ForeignKey(
        InsightAlert, on_delete=models.CASCADE, related_name="hits", verbose_name=_("alert")
    )
    # The month's first day for the spend kinds, the day for daily data.
    period = models.DateField(_("period"))
    # Euros (spend) or GB (data), as measured when the crossing was found.
    value = models.DecimalField(_("value"), max_digits=14, decimal_places=3)
    # The jump kinds: the three months' average it was compared with.
    baseline = models.DecimalField(
        _("average of the previous three months"), max_digits=14, decimal_places=2, null=True
    )
    notified_at = models.DateTimeField(_("notified at"))

    class Meta:
        verbose_name = _("insight alert crossing")
        verbose_name_plural = _("insight alert crossings")
        ordering = ["-period", "pk"]
        constraints = [
            models.UniqueConstraint(fields=["alert", "period"], name="insight_alert_hit_once_per_period")
        ]

    def __str__(self) -> str:
        return f"{self.alert_id} {self.period}"
