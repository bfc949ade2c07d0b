"""Offers and lines, as the provisioning feed defines them."""

from __future__ import annotations

from typing import Generic, TypeVar

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from selfcare.fields import EncryptedTextField
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
    # SIM secrets, encrypted at rest; shown only after re-authentication, audited.
    pin = EncryptedTextField(_("PIN"), blank=True)
    puk = EncryptedTextField(_("PUK"), blank=True)
    # Line services. Premium services (VAS) are barred by default on new SIMs
    # (AGCOM 10/21/CONS); lifting the barring needs a code sent to the line.
    volte_enabled = models.BooleanField(_("VoLTE"), default=True)
    vas_barred = models.BooleanField(_("premium services barred"), default=True)
    # Prepaid lines: the residual credit, kept by the credit movements.
    credit_balance = models.DecimalField(_("residual credit"), max_digits=10, decimal_places=2, default=0)
    low_credit_threshold = models.DecimalField(
        _("low-credit alert below"), max_digits=10, decimal_places=2, null=True, blank=True
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


_R = TypeVar("_R", bound=models.Model)


class LineRecordQuerySet(TenantQuerySet[_R], Generic[_R]):
    """Records of a line (service changes, eSIM profiles, credit movements): visible when their line is."""

    def visible_to(self, membership: Membership) -> LineRecordQuerySet[_R]:
        return self.filter(line__in=Line.objects.visible_to(membership))


class LineService(models.TextChoices):
    VOLTE = "volte", _("VoLTE")
    VAS_BARRING = "vas_barring", _("Premium services barring")
    # Roaming switches (roaming.services): recorded here, so a line has one history of its services.
    ROAMING = "roaming", _("International roaming")
    DATA_ROAMING = "data_roaming", _("Data abroad")


class LineServiceChangeQuerySet(LineRecordQuerySet["LineServiceChange"]):
    pass


class LineServiceChange(models.Model):
    """One change of a line service: who, when, before and after."""

    line = models.ForeignKey(
        Line, on_delete=models.CASCADE, related_name="service_changes", verbose_name=_("line")
    )
    service = models.CharField(_("service"), max_length=20, choices=LineService.choices)
    enabled_before = models.BooleanField(_("before"))
    enabled_after = models.BooleanField(_("after"))
    changed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("changed by"),
    )
    changed_at = models.DateTimeField(_("changed at"), auto_now_add=True)

    objects = LineServiceChangeQuerySet.as_manager()

    class Meta:
        verbose_name = _("line service change")
        verbose_name_plural = _("line service changes")
        ordering = ["-changed_at", "-id"]

    def __str__(self) -> str:
        return f"{self.line} {self.service}: {self.enabled_before} → {self.enabled_after}"


class VasUnlockCode(models.Model):
    """A one-time code sent by SMS to the line, to lift premium services barring.

    Only a hash is kept; the code expires, allows a few attempts, and is used once.
    """

    line = models.ForeignKey(Line, on_delete=models.CASCADE, related_name="vas_codes", verbose_name=_("line"))
    code_hash = models.CharField(_("code hash"), max_length=128)
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("requested by"),
    )
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)
    expires_at = models.DateTimeField(_("expires at"))
    attempts = models.PositiveSmallIntegerField(_("attempts"), default=0)
    used_at = models.DateTimeField(_("used at"), null=True, blank=True)

    class Meta:
        verbose_name = _("premium services unlock code")
        verbose_name_plural = _("premium services unlock codes")
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"{self.line} @ {self.created_at:%Y-%m-%d %H:%M}"


class EsimStatus(models.TextChoices):
    READY = "ready", _("Ready to install")
    ACTIVATED = "activated", _("Activated")
    SUPERSEDED = "superseded", _("Replaced by a reissued profile")


class EsimProfileQuerySet(LineRecordQuerySet["EsimProfile"]):
    pass


class EsimProfile(models.Model):
    """An eSIM profile for a line: a new eSIM, or a swap from a physical SIM.

    The activation code (GSMA SGP.22: `LPA:1$<SM-DP+ address>$<matching id>`)
    is a secret: encrypted at rest, shown after re-authentication at most
    MAX_VIEWS times, each view audited; after that staff reissue the profile.
    """

    MAX_VIEWS = 3

    line = models.ForeignKey(
        Line, on_delete=models.CASCADE, related_name="esim_profiles", verbose_name=_("line")
    )
    eid = models.CharField(_("EID of the device"), max_length=32)
    smdp_address = models.CharField(_("SM-DP+ address"), max_length=255)
    activation_code = EncryptedTextField(_("activation code"))
    status = models.CharField(
        _("status"), max_length=12, choices=EsimStatus.choices, default=EsimStatus.READY
    )
    views = models.PositiveSmallIntegerField(_("times shown"), default=0)
    is_swap = models.BooleanField(_("swap from a physical SIM"), default=False)
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("requested by"),
    )
    reissued_from = models.OneToOneField(
        "self",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="reissue",
        verbose_name=_("reissue of"),
    )
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)
    activated_at = models.DateTimeField(_("activated at"), null=True, blank=True)

    objects = EsimProfileQuerySet.as_manager()

    class Meta:
        verbose_name = _("eSIM profile")
        verbose_name_plural = _("eSIM profiles")
        ordering = ["-created_at", "-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["line"], condition=Q(status="ready"), name="esim_one_ready_profile_per_line"
            ),
        ]

    def __str__(self) -> str:
        return f"eSIM {self.line} ({self.status})"


class CreditMovementKind(models.TextChoices):
    RECHARGE = "recharge", _("Recharge")
    USAGE = "usage", _("Usage")
    FEE = "fee", _("Offer renewal")
    ADJUSTMENT = "adjustment", _("Adjustment")


class CreditMovementQuerySet(LineRecordQuerySet["CreditMovement"]):
    pass


class CreditMovement(models.Model):
    """A change of a prepaid line's residual credit. The line's balance is their running sum."""

    line = models.ForeignKey(
        Line, on_delete=models.PROTECT, related_name="credit_movements", verbose_name=_("line")
    )
    kind = models.CharField(_("kind"), max_length=12, choices=CreditMovementKind.choices)
    amount = models.DecimalField(_("amount"), max_digits=10, decimal_places=2)
    balance_after = models.DecimalField(_("balance after"), max_digits=10, decimal_places=2)
    description = models.CharField(_("description"), max_length=200, blank=True)
    # The payment behind a recharge: unique, so a replayed callback credits once.
    payment_reference = models.CharField(_("payment"), max_length=64, null=True, blank=True, unique=True)
    created_at = models.DateTimeField(_("date"), auto_now_add=True, db_index=True)

    objects = CreditMovementQuerySet.as_manager()

    class Meta:
        verbose_name = _("credit movement")
        verbose_name_plural = _("credit movements")
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return f"{self.line} {self.amount:+}"
