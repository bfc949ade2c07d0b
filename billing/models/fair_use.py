"""Fair use: the policy's rules as data, the runs that check them, their findings and staff's measures.

The rules are the operator's policy (DOMAIN.md, "Fair use"): which offers
each applies to, its limits and the minimum bases of its shares are rows that
staff read and change in the admin, seeded by migration 0012 with the
policy's figures. What a rule means (the SQL that measures it) is code:
`billing.fair_use_checks`.
"""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from billing.models.traffic import TrafficQuerySet
from selfcare.models import Company, Line, Offer


class FairUsePeriod(models.TextChoices):
    DAY = "day", _("Day")
    MONTH = "month", _("Month")


class FairUseScope(models.TextChoices):
    """Which offers a rule applies to, by what the line's offer includes when the check runs."""

    LIMITED_VOICE_SMS = "limited_voice_sms", _("Offers without unlimited calls and SMS")
    ALL = "all", _("All offers")
    UNLIMITED_VOICE_SMS = "unlimited_voice_sms", _("Offers with unlimited calls and SMS")
    UNLIMITED_DATA = "unlimited_data", _("Offers with unlimited data")


class FairUseRuleCode(models.TextChoices):
    """The rules of the policy, by the numbers the policy gives them (DOMAIN.md's table)."""

    R1 = "1", _("Daily outgoing traffic")
    R2 = "2", _("Monthly outgoing traffic")
    R3 = "3", _("Outgoing traffic to other operators")
    R4 = "4", _("Outgoing traffic to a single other operator")
    R5 = "5", _("Outgoing traffic within the network")
    R6 = "6", _("Traffic for automatic top-up")
    R7 = "7", _("Unlimited offers: calls and SMS to other operators")
    R8 = "8", _("Unlimited offers: outgoing against incoming from other operators")
    D1 = "D1", _("Unlimited data: volume against the offer's average")
    D2 = "D2", _("Unlimited data: above the average for three months")
    # Not the operator's policy but the EU's: Implementing Regulation (EU) 2016/2286 art. 4(2)-(3).
    ROAMING = "R", _("Roaming in the EU/EEA: presence and consumption abroad")


class FairUseMetric(models.TextChoices):
    """A measured figure. Minutes are seconds / 60; shares are fractions; volumes are GB (10⁹ bytes)."""

    VOICE_MINUTES = "voice_minutes", _("Outgoing call minutes")
    SMS_COUNT = "sms_count", _("Outgoing SMS and MMS")
    VOICE_OFF_SHARE = "voice_off_share", _("Share of call minutes to other operators")
    VOICE_OFF_MOBILE_SHARE = "voice_off_mobile_share", _("Share of call minutes to other operators' mobiles")
    SMS_OFF_SHARE = "sms_off_share", _("Share of SMS and MMS to other operators")
    SMS_OFF_MOBILE_SHARE = "sms_off_mobile_share", _("Share of SMS and MMS to other operators' mobiles")
    VOICE_OPERATOR_SHARE = "voice_operator_share", _("Share of call minutes to one other operator")
    VOICE_OPERATOR_MOBILE_SHARE = (
        "voice_operator_mobile_share",
        _("Share of call minutes to one other operator's mobiles"),
    )
    SMS_OPERATOR_SHARE = "sms_operator_share", _("Share of SMS and MMS to one other operator")
    SMS_OPERATOR_MOBILE_SHARE = (
        "sms_operator_mobile_share",
        _("Share of SMS and MMS to one other operator's mobiles"),
    )
    VOICE_OWN_SHARE = "voice_own_share", _("Share of call minutes within the network")
    SMS_OWN_SHARE = "sms_own_share", _("Share of SMS and MMS within the network")
    TOPUP_VOICE_MINUTES = "topup_voice_minutes", _("Call minutes for automatic top-up")
    TOPUP_SMS_COUNT = "topup_sms_count", _("SMS and MMS for automatic top-up")
    CALLS_OFF_SHARE = "calls_off_share", _("Share of outgoing calls to other operators")
    OFF_NET_OUTGOING = (
        "off_net_outgoing",
        _("Outgoing calls and SMS to other operators"),
    )
    DATA_VOLUME_GB = "data_volume_gb", _("Data volume (GB)")
    MONTHS_ABOVE_AVERAGE = "months_above_average", _("Consecutive months above the average")
    # Roaming fair use (rule R): each figure abroad is compared with the same figure in Italy.
    ROAMING_DAYS = "roaming_days", _("Days in the EU/EEA outside Italy")
    ROAMING_VOICE_MINUTES = (
        "roaming_voice_minutes",
        _("Call minutes in the EU/EEA outside Italy"),
    )
    ROAMING_SMS_COUNT = (
        "roaming_sms_count",
        _("SMS and MMS sent in the EU/EEA outside Italy"),
    )
    ROAMING_DATA_MB = "roaming_data_mb", _("Data in the EU/EEA outside Italy (MB)")
    OBSERVATION_MONTHS = "observation_months", _("Months observed")


class FairUseRule(models.Model):
    """One rule of the policy: whom it applies to, whether it warns by itself, the minimum bases of its shares."""

    code = models.CharField(_("rule"), max_length=2, choices=FairUseRuleCode.choices, unique=True)
    scope = models.CharField(_("applies to"), max_length=20, choices=FairUseScope.choices)
    enabled = models.BooleanField(_("checked"), default=True)
    # Rules 1-7 warn the company by themselves; rule 8 and the data rules wait for staff (DOMAIN.md).
    warns_automatically = models.BooleanField(_("warns the company automatically"), default=True)
    # DOMAIN.md: a share is evaluated only when its base reaches this (minutes for
    # calls, items for SMS/MMS and call counts); below it, the share breaches nothing.
    minimum_base_day = models.DecimalField(
        _("minimum base of a share, day"), max_digits=10, decimal_places=2, default=Decimal(10)
    )
    minimum_base_month = models.DecimalField(
        _("minimum base of a share, month"), max_digits=10, decimal_places=2, default=Decimal(60)
    )

    class Meta:
        verbose_name = _("fair-use rule")
        verbose_name_plural = _("fair-use rules")
        ordering = ["code"]

    def __str__(self) -> str:
        return f"{self.code}: {self.get_code_display()}"

    def minimum_base(self, period: str) -> Decimal:
        return self.minimum_base_day if period == FairUsePeriod.DAY else self.minimum_base_month


class FairUseLimit(models.Model):
    """A limit of a rule over one period. Inclusive: a line at exactly the limit is fine.

    The unit is the metric's: minutes, items, a fraction (0.60 for 60%), or for
    rule 8 and the data rules a multiple (3 times what was received, 5 times the
    offer's average, 3 months).
    """

    rule = models.ForeignKey(
        FairUseRule, on_delete=models.CASCADE, related_name="limits", verbose_name=_("rule")
    )
    period = models.CharField(_("period"), max_length=5, choices=FairUsePeriod.choices)
    metric = models.CharField(_("metric"), max_length=40, choices=FairUseMetric.choices)
    limit = models.DecimalField(_("limit"), max_digits=14, decimal_places=4)

    class Meta:
        verbose_name = _("fair-use limit")
        verbose_name_plural = _("fair-use limits")
        ordering = ["rule", "period", "metric"]
        constraints = [
            models.UniqueConstraint(
                fields=["rule", "period", "metric"], name="fair_use_limit_one_per_metric"
            ),
            models.CheckConstraint(condition=Q(limit__gte=0), name="fair_use_limit_not_negative"),
        ]

    def __str__(self) -> str:
        return f"{self.rule.code} {self.period} {self.metric} ≤ {self.limit.normalize()}"


# Implementing Regulation (EU) 2016/2286 art. 4(3): a customer alerted of a roaming pattern has at
# least two weeks to change it before a surcharge may apply (DOMAIN.md, "Roaming").
ROAMING_CHANGE_DAYS = 14


class FairUseRunStatus(models.TextChoices):
    RUNNING = "running", _("Running")
    DONE = "done", _("Done")


class FairUseRun(models.Model):
    """The checks of one period, with their progress in their chunks: a run whose worker died resumes from them.

    At most one run of a period is running; a rerun of a finished period is a
    new run, which finds the same breaches and adds no finding twice.
    """

    period = models.CharField(_("period"), max_length=5, choices=FairUsePeriod.choices)
    period_start = models.DateField(_("first day of the period"))
    status = models.CharField(
        _("status"), max_length=10, choices=FairUseRunStatus.choices, default=FairUseRunStatus.RUNNING
    )
    started_at = models.DateTimeField(_("started at"), default=timezone.now)
    finished_at = models.DateTimeField(_("finished at"), null=True, blank=True)
    chunks_total = models.PositiveIntegerField(_("chunks"), default=0)
    chunks_done = models.PositiveIntegerField(_("chunks done"), default=0)
    findings_new = models.PositiveIntegerField(_("new findings"), default=0)
    # D1 and D2 compare a line with its offer's average over every line of the
    # offer, not only a chunk's: summed once when a monthly run opens, and read
    # by each chunk, {offer id: [[lines, volume], …] for the month and those before}.
    data_averages = models.JSONField(_("offers' data averages"), null=True, blank=True, editable=False)

    class Meta:
        verbose_name = _("fair-use run")
        verbose_name_plural = _("fair-use runs")
        ordering = ["-started_at", "-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["period", "period_start"],
                condition=Q(status="running"),
                name="fair_use_run_one_running_per_period",
            ),
        ]

    def __str__(self) -> str:
        return f"{period_label(self.period, self.period_start)} ({self.status})"


class FairUseChunkStatus(models.TextChoices):
    PENDING = "pending", _("To do")
    DONE = "done", _("Done")


class FairUseChunk(models.Model):
    """The lines of a run with ids in [first_line_id, last_line_id].

    A worker claims a chunk with SELECT … FOR UPDATE SKIP LOCKED and checks it
    in that one transaction, marking it done at the end: a worker that dies
    mid-chunk leaves it pending with nothing written, and its lock goes with
    its connection, so the next worker takes it.
    """

    run = models.ForeignKey(
        FairUseRun, on_delete=models.CASCADE, related_name="chunks", verbose_name=_("run")
    )
    first_line_id = models.BigIntegerField(_("first line id"))
    last_line_id = models.BigIntegerField(_("last line id"))
    status = models.CharField(
        _("status"), max_length=10, choices=FairUseChunkStatus.choices, default=FairUseChunkStatus.PENDING
    )
    findings_new = models.PositiveIntegerField(_("new findings"), default=0)
    finished_at = models.DateTimeField(_("finished at"), null=True, blank=True)

    class Meta:
        verbose_name = _("fair-use run chunk")
        verbose_name_plural = _("fair-use run chunks")
        ordering = ["run", "first_line_id"]

    def __str__(self) -> str:
        return f"{self.run} [{self.first_line_id}-{self.last_line_id}] {self.status}"


class FairUseFindingStatus(models.TextChoices):
    OPEN = "open", _("To review")
    WARNED = "warned", _("Warning sent")
    MEASURE = "measure", _("Measure taken")
    DISMISSED = "dismissed", _("Dismissed")


class FairUseFindingQuerySet(TrafficQuerySet["FairUseFinding"]):
    pass


class FairUseFinding(models.Model):
    """A line's breach of one rule in one period: never two for the same line, rule and period.

    `metrics` holds every measured figure that broke its limit, in the shape of
    CONTRACTS.md: `[{"metric": "voice_minutes", "measured": "161.00", "limit": "160"}]`,
    with `"operator"` for rule 4 and `"month"` for D2.
    """

    company = models.ForeignKey(
        Company, on_delete=models.PROTECT, related_name="fair_use_findings", verbose_name=_("company")
    )
    line = models.ForeignKey(
        Line, on_delete=models.PROTECT, related_name="fair_use_findings", verbose_name=_("line")
    )
    rule = models.ForeignKey(
        FairUseRule, on_delete=models.PROTECT, related_name="findings", verbose_name=_("rule")
    )
    period = models.CharField(_("period"), max_length=5, choices=FairUsePeriod.choices)
    period_start = models.DateField(_("first day of the period"))
    metrics = models.JSONField(_("figures over the limit"), default=list)
    status = models.CharField(
        _("status"), max_length=10, choices=FairUseFindingStatus.choices, default=FairUseFindingStatus.OPEN
    )
    created_at = models.DateTimeField(_("found at"), default=timezone.now)
    run = models.ForeignKey(
        FairUseRun,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="findings",
        verbose_name=_("found by run"),
    )
    warned_at = models.DateTimeField(_("warning sent at"), null=True, blank=True)
    decided_at = models.DateTimeField(_("decided at"), null=True, blank=True)
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("decided by"),
    )
    dismissal_reason = models.TextField(_("reason for dismissal"), blank=True)

    objects = FairUseFindingQuerySet.as_manager()

    class Meta:
        verbose_name = _("fair-use finding")
        verbose_name_plural = _("fair-use findings")
        ordering = ["-period_start", "line", "rule"]
        constraints = [
            models.UniqueConstraint(
                fields=["line", "rule", "period", "period_start"], name="fair_use_finding_one_per_period"
            ),
        ]
        indexes = [
            models.Index(fields=["company", "-period_start"], name="fair_use_finding_company"),
            models.Index(fields=["status", "-period_start"], name="fair_use_finding_status"),
        ]

    def __str__(self) -> str:
        return f"{self.line.number} rule {self.rule.code} {self.period_label}"

    @property
    def period_label(self) -> str:
        return period_label(self.period, self.period_start)

    @property
    def roaming_change_by(self) -> date | None:
        """For a warned roaming finding (rule R): the last day (Rome) to change the pattern, else None.

        Implementing Regulation (EU) 2016/2286 art. 4(3): no surcharge before
        ROAMING_CHANGE_DAYS days from the warning. Reads the finding's rule:
        select it with the finding.
        """
        if self.warned_at is None or self.rule.code != FairUseRuleCode.ROAMING:
            return None
        return timezone.localdate(self.warned_at) + timedelta(days=ROAMING_CHANGE_DAYS)


class FairUseMeasureKind(models.TextChoices):
    WARNING = "warning", _("Warning")
    SPEED_LIMIT = "speed_limit", _("Temporary data speed limit")
    SUSPENSION = "suspension", _("Suspension with prior notice")
    PLAN_CHANGE = "plan_change", _("Change of plan")


class FairUseMeasureQuerySet(TrafficQuerySet["FairUseMeasure"]):
    pass


class FairUseMeasure(models.Model):
    """What staff (or, for a warning of rules 1-7, the run) decided on a finding; audited, and told to the company.

    A measure entitles the customer to withdraw at once without penalties
    (the operator's policy; DOMAIN.md): the notice says so and links the form.
    """

    finding = models.ForeignKey(
        FairUseFinding, on_delete=models.PROTECT, related_name="measures", verbose_name=_("finding")
    )
    company = models.ForeignKey(
        Company, on_delete=models.PROTECT, related_name="fair_use_measures", verbose_name=_("company")
    )
    line = models.ForeignKey(
        Line, on_delete=models.PROTECT, related_name="fair_use_measures", verbose_name=_("line")
    )
    kind = models.CharField(_("measure"), max_length=12, choices=FairUseMeasureKind.choices)
    # Speed limit: from starts_on to ends_on inclusive. Suspension: the customer is
    # told on notice_on and the line stops on effective_on.
    starts_on = models.DateField(_("from"), null=True, blank=True)
    ends_on = models.DateField(_("until"), null=True, blank=True)
    notice_on = models.DateField(_("notice given on"), null=True, blank=True)
    effective_on = models.DateField(_("effective on"), null=True, blank=True)
    applied_at = models.DateTimeField(_("applied at"), null=True, blank=True)
    old_offer = models.ForeignKey(
        Offer,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("previous offer"),
    )
    new_offer = models.ForeignKey(
        Offer, on_delete=models.PROTECT, null=True, blank=True, related_name="+", verbose_name=_("new offer")
    )
    note = models.TextField(_("note to the customer"), blank=True)
    created_at = models.DateTimeField(_("decided at"), default=timezone.now)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("decided by"),
    )

    objects = FairUseMeasureQuerySet.as_manager()

    class Meta:
        verbose_name = _("fair-use measure")
        verbose_name_plural = _("fair-use measures")
        ordering = ["-created_at", "-id"]
        constraints = [
            models.CheckConstraint(
                condition=~Q(kind="speed_limit") | Q(starts_on__isnull=False, ends_on__isnull=False),
                name="fair_use_speed_limit_has_dates",
            ),
            models.CheckConstraint(
                condition=~Q(kind="suspension") | Q(notice_on__isnull=False, effective_on__isnull=False),
                name="fair_use_suspension_has_dates",
            ),
            models.CheckConstraint(
                condition=~Q(kind="plan_change") | Q(new_offer__isnull=False),
                name="fair_use_plan_change_has_offer",
            ),
        ]
        indexes = [models.Index(fields=["company", "-created_at"], name="fair_use_measure_company")]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} on {self.line.number}"

    @property
    def entitles_withdrawal(self) -> bool:
        """The policy: a customer hit by a measure (not a mere warning) may withdraw at once without penalties."""
        return self.kind != FairUseMeasureKind.WARNING


def period_label(period: str, period_start: date) -> str:
    """A period as CONTRACTS.md writes it: `YYYY-MM-DD` for a day, `YYYY-MM` for a month."""
    return f"{period_start:%Y-%m-%d}" if period == FairUsePeriod.DAY else f"{period_start:%Y-%m}"
