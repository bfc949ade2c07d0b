"""Roaming: zones and their rates, each country's zone, a line's roaming settings and its spend abroad.

Zones and rates are the operator's price list, public and maintained by
staff in the admin. A rate row is valid from a day on: the rate of a day is
the row with the latest `valid_from` on or before it, so a new price list is
a new row and never rewrites what earlier days cost (docs/roaming.md).

A line's settings (roaming on/off, data abroad on/off, the spending cap)
live in `LineRoaming`, one row per line, made the first time something
changes: a line without a row has the defaults below. Each month's
chargeable spend abroad and the cap's alerts live in `RoamingSpendMonth`.
"""

from __future__ import annotations

from decimal import Decimal

from django.conf import settings
from django.core.validators import MinValueValidator
from django.db import models
from django.db.models import Q
from django.utils.translation import get_language
from django.utils.translation import gettext_lazy as _
from django_countries.fields import CountryField
from django_stubs_ext import StrOrPromise

from billing.models import ExtraCharge
from selfcare.models import Line
from selfcare.models.lines import LineRecordQuerySet

# Regulation (EC) 544/2009 (art. 6a(3) of 717/2007 as amended, now art. 14 of
# Regulation (EU) 2022/612) requires a default cut-off for data roaming of
# €50 excl. VAT unless the customer chooses another: this operator applies
# €200 a month to every business line (DOMAIN.md, "Roaming").
DEFAULT_SPENDING_CAP = Decimal("200.00")
# The shares of the cap at which the customer is told (DOMAIN.md, "Roaming").
CAP_ALERT_SHARES = (Decimal("0.80"), Decimal("1.00"))


class ZoneKind(models.TextChoices):
    HOME = "home", _("Home (not roaming)")
    # Regulation (EU) 2022/612: the domestic offer at no extra cost, within fair use.
    ROAM_LIKE_AT_HOME = "rlah", _("Roam like at home")
    RATED = "rated", _("Rated by the zone's price list")


class RoamingZone(models.Model):
    """A group of countries with the same treatment abroad: home, roam like at home, or its own rates."""

    code = models.SlugField(_("code"), max_length=20, unique=True)
    kind = models.CharField(_("kind"), max_length=8, choices=ZoneKind.choices)
    # The zone's name is part of the price list, which staff write in both languages.
    name_it = models.CharField(_("name (Italian)"), max_length=100)
    name_en = models.CharField(_("name (English)"), max_length=100)
    position = models.PositiveSmallIntegerField(_("position"), default=100)

    class Meta:
        verbose_name = _("roaming zone")
        verbose_name_plural = _("roaming zones")
        ordering = ["position", "code"]

    def __str__(self) -> str:
        return self.name

    @property
    def name(self) -> str:
        return self.name_it if (get_language() or "it").startswith("it") else self.name_en

    @property
    def is_roam_like_at_home(self) -> bool:
        return self.kind == ZoneKind.ROAM_LIKE_AT_HOME


class RoamingCountry(models.Model):
    """One country's zone. Every country django-countries knows has a row (seeded by a migration)."""

    country = CountryField(_("country"), unique=True)
    zone = models.ForeignKey(
        RoamingZone, on_delete=models.PROTECT, related_name="countries", verbose_name=_("zone")
    )

    class Meta:
        verbose_name = _("country")
        verbose_name_plural = _("countries")
        ordering = ["country"]

    def __str__(self) -> str:
        return f"{self.country.name} → {self.zone}"


def _price(verbose_name: StrOrPromise) -> models.DecimalField[Decimal, Decimal]:
    # Unit prices of up to four decimals (DOMAIN.md, "Taxes"); amounts are rounded to the cent only once priced.
    return models.DecimalField(
        verbose_name, max_digits=10, decimal_places=4, validators=[MinValueValidator(Decimal("0"))]
    )


class RoamingRate(models.Model):
    """A zone's unit prices, VAT excluded, from `valid_from` until the next row of the zone."""

    zone = models.ForeignKey(
        RoamingZone, on_delete=models.PROTECT, related_name="rates", verbose_name=_("zone")
    )
    valid_from = models.DateField(_("valid from"))
    call_made_per_minute = _price(_("calls made, per minute"))
    call_received_per_minute = _price(_("calls received, per minute"))
    sms = _price(_("SMS sent, each"))
    data_per_mb = _price(_("data, per MB"))
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)

    class Meta:
        verbose_name = _("roaming rate")
        verbose_name_plural = _("roaming rates")
        ordering = ["zone__position", "-valid_from"]
        constraints = [
            models.UniqueConstraint(fields=["zone", "valid_from"], name="roaming_rate_one_per_zone_and_day"),
        ]

    def __str__(self) -> str:
        return f"{self.zone} {self.valid_from:%Y-%m-%d}"


class LineRoamingQuerySet(LineRecordQuerySet["LineRoaming"]):
    pass


class LineRoaming(models.Model):
    """A line's roaming settings and spending cap; a line without a row has the defaults.

    Switches go through roaming.services (recorded in the line's service
    history and audited); staff raise the cap above the default here, at the
    company's request.
    """

    line = models.OneToOneField(
        Line, on_delete=models.CASCADE, primary_key=True, related_name="roaming", verbose_name=_("line")
    )
    # Business SIMs come with international roaming enabled (DOMAIN.md, "Roaming").
    roaming_enabled = models.BooleanField(_("roaming"), default=True)
    data_enabled = models.BooleanField(_("data abroad"), default=True)
    spending_cap = models.DecimalField(
        _("spending cap a month (excl. VAT)"),
        max_digits=10,
        decimal_places=2,
        default=DEFAULT_SPENDING_CAP,
        validators=[MinValueValidator(Decimal("0"))],
        help_text=_(
            "Chargeable data abroad a calendar month (Rome time). The company may lower it; "
            "a higher cap is granted by staff on the company's request."
        ),
    )
    # The ceiling up to which the company may set `spending_cap` itself: staff raise it, on request.
    spending_cap_granted = models.DecimalField(
        _("highest cap granted (excl. VAT)"),
        max_digits=10,
        decimal_places=2,
        default=DEFAULT_SPENDING_CAP,
        validators=[MinValueValidator(Decimal("0"))],
        help_text=_("The company may set its cap from €0 up to this amount; staff raise it on request."),
    )
    spending_cap_changed_at = models.DateTimeField(_("cap changed at"), null=True, blank=True)
    spending_cap_changed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("cap changed by"),
    )
    updated_at = models.DateTimeField(_("updated at"), auto_now=True)

    objects = LineRoamingQuerySet.as_manager()

    class Meta:
        verbose_name = _("line roaming settings")
        verbose_name_plural = _("line roaming settings")
        ordering = ["line__number"]

    def __str__(self) -> str:
        return str(self.line)


class RoamingSpendMonthQuerySet(LineRecordQuerySet["RoamingSpendMonth"]):
    pass


class RoamingSpendMonth(models.Model):
    """A line's chargeable spend abroad in one calendar month (Rome time), and what the cap did.

    `chargeable_spend` is what the domestic offer does not cover, VAT
    excluded, and `data_spend` its data part, each the sum of line-day-zone
    amounts rounded to the cent (roaming.spend). At 80% and
    100% of the line's cap the customer is told (the timestamps make each
    alert once); at 100% `data_stopped` is set, and the network side stops
    data abroad, until the customer consents to continue for the month
    (`continued_at`) or the month ends (a new month is a new row).
    """

    line = models.ForeignKey(
        Line, on_delete=models.CASCADE, related_name="roaming_months", verbose_name=_("line")
    )
    month = models.DateField(_("month"), help_text=_("The first day of the month, Rome time."))
    chargeable_spend = models.DecimalField(
        _("chargeable spend (excl. VAT)"), max_digits=12, decimal_places=4, default=Decimal("0")
    )
    # The part the cap counts (DOMAIN.md: the cap is on chargeable data abroad); the invoice gets all of it.
    data_spend = models.DecimalField(
        _("chargeable data spend (excl. VAT)"), max_digits=12, decimal_places=4, default=Decimal("0")
    )
    alert_80_at = models.DateTimeField(_("80% alert sent at"), null=True, blank=True)
    alert_100_at = models.DateTimeField(_("100% alert sent at"), null=True, blank=True)
    data_stopped = models.BooleanField(_("data abroad stopped"), default=False)
    data_stopped_at = models.DateTimeField(_("data abroad stopped at"), null=True, blank=True)
    continued_at = models.DateTimeField(_("customer chose to continue at"), null=True, blank=True)
    continued_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("continued by"),
    )
    # The month's charge for the billing run, once written (roaming.spend.roaming_month_charges_write):
    # the link is what makes it once per line and month.
    extra_charge = models.OneToOneField(
        ExtraCharge,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="roaming_month",
        verbose_name=_("charge for the invoice"),
    )
    updated_at = models.DateTimeField(_("updated at"), auto_now=True)

    objects = RoamingSpendMonthQuerySet.as_manager()

    class Meta:
        verbose_name = _("roaming spend of a month")
        verbose_name_plural = _("roaming spend by month")
        ordering = ["-month", "line__number"]
        constraints = [
            models.UniqueConstraint(fields=["line", "month"], name="roaming_spend_one_row_per_line_month"),
        ]
        indexes = [
            # What the network side reads: the lines whose data abroad is stopped now.
            models.Index(fields=["month"], condition=Q(data_stopped=True), name="roaming_spend_data_stopped"),
        ]

    def __str__(self) -> str:
        return f"{self.line} {self.month:%Y-%m}"
