"""Offers and lines, as the provisioning feed defines them."""

from __future__ import annotations

from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from selfcare.models.companies import Company, Membership
from selfcare.tenancy import TenantQuerySet
from selfcare.validators import validate_e164_number, validate_iccid


class Payment(models.TextChoices):
    POSTPAID = "postpaid", _("Postpaid (invoiced)")
    PREPAID = "prepaid", _("Prepaid (residual credit)")


class Offer(models.Model):
    """A tariff plan. Whether calls, SMS and data are unlimited decides the fair-use rules."""

    code = models.CharField(_("code"), max_length=40, unique=True)
    name = models.CharField(_("name"), max_length=200)
    payment = models.CharField(_("payment"), max_length=10, choices=Payment.choices)
    monthly_fee = models.DecimalField(_("monthly fee (excl. VAT)"), max_digits=10, decimal_places=2)
    unlimited_voice_sms = models.BooleanField(_("unlimited calls and SMS"), default=False)
    unlimited_data = models.BooleanField(_("unlimited data"), default=False)
    data_gb = models.PositiveIntegerField(_("data allowance (GB)"), null=True, blank=True)

    class Meta:
        verbose_name = _("offer")
        verbose_name_plural = _("offers")
        ordering = ["name"]

    def __str__(self) -> str:
        return f"{self.name} ({self.code})"


class LineKind(models.TextChoices):
    MOBILE = "mobile", _("Mobile")
    FIXED = "fixed", _("Fixed")


class SimKind(models.TextChoices):
    PHYSICAL = "physical", _("Physical SIM")
    ESIM = "esim", _("eSIM")


class LineStatus(models.TextChoices):
    ACTIVE = "active", _("Active")
    SUSPENDED = "suspended", _("Suspended")
    BLOCKED = "blocked", _("Blocked (theft or loss)")
    CEASED = "ceased", _("Ceased")


class LineQuerySet(TenantQuerySet["Line"]):
    def visible_to(self, membership: Membership) -> LineQuerySet:
        """The company's lines; for a line user, only the lines assigned to them."""
        from selfcare import permissions

        lines = self.filter(company_id=membership.company_id)
        if permissions.can_see_all_lines(membership):
            return lines
        return lines.filter(assigned_to_id=membership.pk)


class Line(models.Model):
    """A mobile or fixed line of a company.

    A number may belong to several line records over time (after a takeover the
    incoming company gets a new record and the old one is ceased), but to one
    line that is not ceased at a time.
    """

    company = models.ForeignKey(
        Company, on_delete=models.PROTECT, related_name="lines", verbose_name=_("company")
    )
    number = models.CharField(_("number"), max_length=16, validators=[validate_e164_number])
    kind = models.CharField(_("kind"), max_length=8, choices=LineKind.choices)
    sim = models.CharField(_("SIM"), max_length=10, choices=SimKind.choices, blank=True)
    iccid = models.CharField(_("ICCID"), max_length=20, blank=True, validators=[validate_iccid])
    offer = models.ForeignKey(Offer, on_delete=models.PROTECT, related_name="lines", verbose_name=_("offer"))
    cost_centre = models.CharField(_("cost centre"), max_length=100, blank=True)
    status = models.CharField(
        _("status"), max_length=10, choices=LineStatus.choices, default=LineStatus.ACTIVE
    )
    activated_on = models.DateField(_("activated on"), null=True, blank=True)
    ceased_on = models.DateField(_("ceased on"), null=True, blank=True)
    assigned_to = models.ForeignKey(
        Membership,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="assigned_lines",
        verbose_name=_("assigned to"),
    )
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)
    updated_at = models.DateTimeField(_("updated at"), auto_now=True)

    objects = LineQuerySet.as_manager()

    class Meta:
        verbose_name = _("line")
        verbose_name_plural = _("lines")
        ordering = ["number"]
        constraints = [
            models.UniqueConstraint(
                fields=["number"], condition=~Q(status="ceased"), name="line_number_unique_while_not_ceased"
            ),
        ]
        indexes = [
            models.Index(fields=["company", "number"], name="line_company_number"),
            models.Index(fields=["company", "status"], name="line_company_status"),
        ]

    def __str__(self) -> str:
        return self.number
