"""Traffic records from the network feed, their record ids and their daily per-line totals.

On PostgreSQL `billing_trafficrecord` is partitioned by `day` (declarative
range partitioning, one partition per Rome day, created by the importer as
needed, no default partition): the 90-day report reads a few partitions and
retention drops whole ones. Django sees it as a model with `id` as its
primary key; the table's real key is (id, day), because PostgreSQL wants the
partition key in every unique constraint. That is also why a record's
`record_id` is made unique in a table of its own, `TrafficRecordId`, which
the purge leaves alone, so a record replayed after it is still a duplicate.
On SQLite (the embedded mode) the same tables are plain ones.
"""

from __future__ import annotations

from typing import Generic, TypeVar

from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from selfcare import permissions
from selfcare.models import Company, Line, Membership
from selfcare.tenancy import TenantQuerySet


class TrafficDirection(models.TextChoices):
    OUT = "out", _("Outgoing")
    IN = "in", _("Incoming")


class TrafficService(models.TextChoices):
    VOICE = "voice", _("Calls")
    SMS = "sms", _("SMS")
    MMS = "mms", _("MMS")
    DATA = "data", _("Data")


class OtherNetwork(models.TextChoices):
    MOBILE = "mobile", _("Mobile")
    FIXED = "fixed", _("Fixed")
    INTERNATIONAL = "international", _("International")
    SPECIAL = "special", _("Special numbers")


# `other_operator` of traffic within the operator's own network (CONTRACTS.md).
OWN_OPERATOR = "own"


_R = TypeVar("_R", bound=models.Model)


class TrafficQuerySet(TenantQuerySet[_R], Generic[_R]):
    """Traffic of the company as it was when it happened; a line user's of assigned lines only."""

    def visible_to(self, membership: Membership) -> TrafficQuerySet[_R]:
        mine = self.filter(company_id=membership.company_id)
        if permissions.can_see_all_lines(membership):
            return mine
        # Lines the user may see now: after a takeover, the outgoing
        # company's records stay with it and the line's new user sees none.
        return mine.filter(line__in=Line.objects.visible_to(membership))


class TrafficRecordQuerySet(TrafficQuerySet["TrafficRecord"]):
    pass


class TrafficRecord(models.Model):
    """One call, SMS/MMS or data session of a line, as the network reported it.

    `company` is the company the line belonged to when it happened, so a
    takeover leaves the earlier traffic with the outgoing company. `day` is
    the Rome calendar day of `started_at`: the partition key, and the day
    the fair-use rules and the reports count it in.
    """

    id = models.BigAutoField(primary_key=True)
    record_id = models.CharField(_("record id"), max_length=64)
    # No database foreign keys from the partitioned table: they would be
    # checked on every row of a multi-million-row COPY and block dropping
    # a partition. The importer only writes ids it has just matched, and
    # companies and lines are never deleted (PROTECT everywhere else).
    company = models.ForeignKey(
        Company, on_delete=models.DO_NOTHING, db_constraint=False, related_name="+", verbose_name=_("company")
    )
    line = models.ForeignKey(
        Line, on_delete=models.DO_NOTHING, db_constraint=False, related_name="+", verbose_name=_("line")
    )
    started_at = models.DateTimeField(_("started at"))
    day = models.DateField(_("day"))
    direction = models.CharField(_("direction"), max_length=3, choices=TrafficDirection.choices)
    service = models.CharField(_("service"), max_length=5, choices=TrafficService.choices)
    other_party = models.CharField(_("other party"), max_length=32, blank=True)
    other_operator = models.CharField(_("other operator"), max_length=20, blank=True)
    other_network = models.CharField(
        _("other network"), max_length=13, choices=OtherNetwork.choices, blank=True
    )
    duration_s = models.IntegerField(_("duration (seconds)"), default=0)
    volume_bytes = models.BigIntegerField(_("volume (bytes)"), default=0)
    country = models.CharField(_("country"), max_length=2)
    topup = models.BooleanField(_("feeds automatic top-up"), default=False)

    objects = TrafficRecordQuerySet.as_manager()

    class Meta:
        verbose_name = _("traffic record")
        verbose_name_plural = _("traffic records")
        ordering = ["started_at", "id"]
        # Created by hand on PostgreSQL (migration 0007), on the partitioned parent, so
        # every partition gets them: keep the names in step with that migration.
        indexes = [
            models.Index(fields=["company", "day", "started_at"], name="traffic_company_day"),
            models.Index(fields=["line", "day", "started_at"], name="traffic_line_day"),
        ]

    def __str__(self) -> str:
        return f"{self.record_id} {self.service} {self.started_at:%Y-%m-%d %H:%M}"


class TrafficRecordId(models.Model):
    """Every record id ever imported, with a fingerprint of its content; never purged.

    A record id seen again with the same fingerprint is a duplicate; with a
    different one, a conflict, rejected (CONTRACTS.md).
    """

    record_id = models.CharField(_("record id"), max_length=64, primary_key=True)
    fingerprint = models.CharField(_("fingerprint of the content"), max_length=32)
    day = models.DateField(_("day"))
    imported_at = models.DateTimeField(_("imported at"), auto_now_add=True)

    class Meta:
        verbose_name = _("traffic record id")
        verbose_name_plural = _("traffic record ids")

    def __str__(self) -> str:
        return self.record_id


class TrafficDailyTotalQuerySet(TrafficQuerySet["TrafficDailyTotal"]):
    pass


class TrafficDailyTotal(models.Model):
    """A line's traffic of one Rome day, summed per kind of traffic; kept by the import, never purged.

    One row per line, day and combination of the dimensions the rules and
    reports group by (service, direction, other operator and network,
    country, top-up): every fair-use share, roaming figure and chart is a
    sum over these rows, and they outlive the raw records (DOMAIN.md, "Retention").
    """

    # No database foreign keys, as on the records: an import adds hundreds of
    # thousands of rows here, and their checks (deferred to the commit) cost as
    # much as a fifth of it. Only the importer writes these, with the line and
    # company it has just matched; PROTECT still guards deletes in the ORM. No
    # index of their own either: the unique constraint starts with the line and
    # traffic_total_company_day with the company, and every index slows the import.
    company = models.ForeignKey(
        Company,
        on_delete=models.PROTECT,
        db_constraint=False,
        db_index=False,
        related_name="+",
        verbose_name=_("company"),
    )
    line = models.ForeignKey(
        Line,
        on_delete=models.PROTECT,
        db_constraint=False,
        db_index=False,
        related_name="+",
        verbose_name=_("line"),
    )
    day = models.DateField(_("day"))
    service = models.CharField(_("service"), max_length=5, choices=TrafficService.choices)
    direction = models.CharField(_("direction"), max_length=3, choices=TrafficDirection.choices)
    other_operator = models.CharField(_("other operator"), max_length=20, blank=True)
    other_network = models.CharField(
        _("other network"), max_length=13, choices=OtherNetwork.choices, blank=True
    )
    country = models.CharField(_("country"), max_length=2)
    topup = models.BooleanField(_("feeds automatic top-up"), default=False)
    records = models.IntegerField(_("records"), default=0)
    duration_s = models.BigIntegerField(_("duration (seconds)"), default=0)
    volume_bytes = models.BigIntegerField(_("volume (bytes)"), default=0)

    objects = TrafficDailyTotalQuerySet.as_manager()

    class Meta:
        verbose_name = _("daily traffic total")
        verbose_name_plural = _("daily traffic totals")
        ordering = ["day", "line"]
        constraints = [
            # The import adds to the row with ON CONFLICT … DO UPDATE on exactly these columns.
            models.UniqueConstraint(
                fields=[
                    "line",
                    "day",
                    "company",
                    "service",
                    "direction",
                    "other_operator",
                    "other_network",
                    "country",
                    "topup",
                ],
                name="traffic_daily_total_one_per_kind",
            ),
            models.CheckConstraint(
                condition=Q(records__gte=0) & Q(duration_s__gte=0) & Q(volume_bytes__gte=0),
                name="traffic_daily_total_not_negative",
            ),
        ]
        indexes = [
            models.Index(fields=["company", "day"], name="traffic_total_company_day"),
            models.Index(fields=["day", "line"], name="traffic_total_day_line"),
        ]

    def __str__(self) -> str:
        return f"{self.line_id} {self.day} {self.service} {self.direction}"


# ---------------------------------------------------------------------------
# The other party's number in clear (privacy code, art. 124), and reports
# built in the background
# ---------------------------------------------------------------------------


class ClearNumbersStatus(models.TextChoices):
    PENDING = "pending", _("Waiting for approval")
    APPROVED = "approved", _("Approved")
    REJECTED = "rejected", _("Rejected")


class ClearNumbersRequestQuerySet(TenantQuerySet["ClearNumbersRequest"]):
    def visible_to(self, membership: Membership) -> ClearNumbersRequestQuerySet:
        """The company's requests, for those who act for it (billing.clear_numbers); none for a line user."""
        if not permissions.can_manage_billing(membership):
            return self.none()
        return self.filter(company_id=membership.company_id)


class ClearNumbersRequest(models.Model):
    """A legal representative's written request for the other party's numbers in clear (docs/traffic.md).

    It covers `lines` from `period_start` to `period_end` (Rome days), which
    must be invoiced traffic of the last six months, and records that the
    requester declared the line users informed. Once staff approve it,
    downloads of exactly those lines and days show full numbers, each one
    audited. Kept small on purpose: the procedures issue moves the request
    and its review onto its own request mechanism.
    """

    company = models.ForeignKey(
        Company, on_delete=models.PROTECT, related_name="clear_numbers_requests", verbose_name=_("company")
    )
    requested_by = models.ForeignKey(
        "selfcare.User", on_delete=models.PROTECT, related_name="+", verbose_name=_("requested by")
    )
    requested_at = models.DateTimeField(_("requested at"), auto_now_add=True)
    lines = models.ManyToManyField(Line, related_name="+", verbose_name=_("lines"))
    period_start = models.DateField(_("from"))
    period_end = models.DateField(_("to"))
    users_informed = models.BooleanField(
        _("the line users have been informed"),
        default=False,
        help_text=_("The legal representative's declaration, required to ask."),
    )
    status = models.CharField(
        _("status"), max_length=8, choices=ClearNumbersStatus.choices, default=ClearNumbersStatus.PENDING
    )
    decided_by = models.ForeignKey(
        "selfcare.User",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("decided by"),
    )
    decided_at = models.DateTimeField(_("decided at"), null=True, blank=True)
    rejection_reason = models.TextField(_("reason for the rejection"), blank=True)

    objects = ClearNumbersRequestQuerySet.as_manager()

    class Meta:
        verbose_name = _("request for numbers in clear")
        verbose_name_plural = _("requests for numbers in clear")
        ordering = ["-requested_at", "-id"]
        constraints = [
            models.CheckConstraint(
                condition=Q(period_end__gte=models.F("period_start")), name="clear_numbers_period_in_order"
            ),
            models.CheckConstraint(condition=Q(users_informed=True), name="clear_numbers_users_informed"),
        ]
        indexes = [models.Index(fields=["company", "status"], name="clear_numbers_company_status")]

    def __str__(self) -> str:
        return f"{self.company_id} {self.period_start} to {self.period_end} {self.status}"


class TrafficExportStatus(models.TextChoices):
    PENDING = "pending", _("Waiting")
    RUNNING = "running", _("Being built")
    READY = "ready", _("Ready")
    FAILED = "failed", _("Failed")


class TrafficExportQuerySet(TenantQuerySet["TrafficExport"]):
    def visible_to(self, membership: Membership) -> TrafficExportQuerySet:
        """A report built in the background is its requester's only: it holds what their role let them see."""
        return self.filter(company_id=membership.company_id, membership_id=membership.pk)


class TrafficExport(models.Model):
    """A traffic report (XLSX) too large to build in the request, built by a Celery task with its progress.

    The row is the outbox of the work (ARCHITECTURE.md): written in the
    request, its commit enqueues the task. The task runs the report as
    `membership` would see it with `filters`, in `language`.
    """

    company = models.ForeignKey(
        Company, on_delete=models.CASCADE, related_name="+", verbose_name=_("company")
    )
    membership = models.ForeignKey(
        Membership, on_delete=models.CASCADE, related_name="+", verbose_name=_("requested by")
    )
    requested_at = models.DateTimeField(_("requested at"), auto_now_add=True)
    filters = models.JSONField(_("filters"), default=dict)
    language = models.CharField(_("language"), max_length=8)
    status = models.CharField(
        _("status"), max_length=8, choices=TrafficExportStatus.choices, default=TrafficExportStatus.PENDING
    )
    rows_total = models.BigIntegerField(_("rows in all"), default=0)
    rows_done = models.BigIntegerField(_("rows written"), default=0)
    in_clear = models.BooleanField(_("numbers in clear"), default=False)
    file = models.FileField(_("file"), upload_to="traffic/%Y/%m/", blank=True)
    # Written with each progress update: a running export silent for minutes has lost its worker.
    heartbeat_at = models.DateTimeField(_("last progress at"), null=True, blank=True)
    finished_at = models.DateTimeField(_("finished at"), null=True, blank=True)

    objects = TrafficExportQuerySet.as_manager()

    class Meta:
        verbose_name = _("traffic report in the background")
        verbose_name_plural = _("traffic reports in the background")
        ordering = ["-requested_at", "-id"]

    def __str__(self) -> str:
        return f"{self.company_id} {self.requested_at:%Y-%m-%d %H:%M} {self.status}"

    @property
    def percent(self) -> int:
        if self.status == TrafficExportStatus.READY:
            return 100
        if not self.rows_total:
            return 0
        return min(99, int(self.rows_done * 100 / self.rows_total))
