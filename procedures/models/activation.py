"""Fixed-line activation orders and their steps (DOMAIN.md, "Activation tracking").

An order moves through steps (received, documents checked, technical check,
appointment, installed, active, or failed); each step reached is one row of
`ActivationStepEvent`, unique per order and step, so that a step saved twice
or a task retried records and notifies it once.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from selfcare.models import Company, Line, Membership
from selfcare.tenancy import TenantQuerySet


class ActivationStep(models.TextChoices):
    RECEIVED = "received", _("Order received")
    DOCUMENTS_CHECKED = "documents_checked", _("Documents checked")
    TECHNICAL_CHECK = "technical_check", _("Technical check")
    APPOINTMENT = "appointment", _("Appointment")
    INSTALLED = "installed", _("Installed")
    ACTIVE = "active", _("Active")
    FAILED = "failed", _("Failed")


class ActivationOrderQuerySet(TenantQuerySet["ActivationOrder"]):
    def visible_to(self, membership: Membership) -> ActivationOrderQuerySet:
        """The company's orders for those who see every line; a line user sees those of assigned lines."""
        from selfcare import permissions

        orders = self.filter(company_id=membership.company_id)
        if permissions.can_see_all_lines(membership):
            return orders
        return orders.filter(line__assigned_to_id=membership.pk)


class ActivationOrder(models.Model):
    """A fixed-line activation order, its promised date and where it stands."""

    company = models.ForeignKey(
        Company, on_delete=models.PROTECT, related_name="activation_orders", verbose_name=_("company")
    )
    reference = models.CharField(_("reference"), max_length=20, unique=True)
    # The line record the order activates (created with the order, active once the order is).
    line = models.ForeignKey(
        Line,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="activation_orders",
        verbose_name=_("line"),
    )
    installation_address = models.CharField(_("installation address"), max_length=300)
    # Services activated by the order (e.g. voice and internet): compensation accrues per service.
    services = models.PositiveSmallIntegerField(_("services"), default=1)
    ordered_on = models.DateField(_("ordered on"))
    promised_on = models.DateField(_("promised activation date"))
    step = models.CharField(
        _("step"), max_length=20, choices=ActivationStep.choices, default=ActivationStep.RECEIVED
    )
    completed_on = models.DateField(
        _("completed on"), null=True, blank=True, help_text=_("The day it became active or failed.")
    )
    appointment_at = models.DateTimeField(_("appointment"), null=True, blank=True)
    keep_me_updated = models.BooleanField(_("keep me updated"), default=False)
    # Who asked to be kept updated, and the mobile number for SMS, if given.
    updates_to = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("updates to"),
    )
    updates_sms_to = models.CharField(_("SMS to"), max_length=16, blank=True)
    # The compensation credited for a late activation (procedures.activation.activation_compensation_credit):
    # the link is what makes it once per order, however often the daily task runs.
    compensation_credit = models.OneToOneField(
        "billing.ExtraCharge",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="activation_order",
        verbose_name=_("compensation credit"),
    )
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)
    updated_at = models.DateTimeField(_("updated at"), auto_now=True)

    objects = ActivationOrderQuerySet.as_manager()

    class Meta:
        verbose_name = _("activation order")
        verbose_name_plural = _("activation orders")
        ordering = ["-ordered_on", "-id"]
        indexes = [models.Index(fields=["company", "-ordered_on"], name="activation_company_ordered")]

    def __str__(self) -> str:
        return self.reference


class ActivationStepEvent(models.Model):
    """A step an order reached: once per order and step, whoever saves it again."""

    order = models.ForeignKey(
        ActivationOrder, on_delete=models.CASCADE, related_name="steps", verbose_name=_("order")
    )
    step = models.CharField(_("step"), max_length=20, choices=ActivationStep.choices)
    reached_at = models.DateTimeField(_("reached at"))
    by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("by"),
    )
    note = models.TextField(_("note"), blank=True)

    class Meta:
        verbose_name = _("activation step")
        verbose_name_plural = _("activation steps")
        ordering = ["reached_at", "id"]
        constraints = [
            models.UniqueConstraint(fields=["order", "step"], name="activation_step_once_per_order"),
        ]

    def __str__(self) -> str:
        return f"{self.order_id} {self.step}"
