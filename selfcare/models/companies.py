"""Companies and the memberships that give users a role in them."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from selfcare.tenancy import TenantQuerySet
from selfcare.validators import validate_recipient_code, validate_tax_code, validate_vat_number


class Company(models.Model):
    """A business customer. Its registry data come from the provisioning feed."""

    name = models.CharField(_("company name"), max_length=200)
    vat_number = models.CharField(
        _("VAT number"),
        max_length=13,
        unique=True,
        validators=[validate_vat_number],
        help_text=_("IT followed by eleven digits."),
    )
    tax_code = models.CharField(_("tax code"), max_length=16, validators=[validate_tax_code])
    pec = models.EmailField(_("certified e-mail (PEC)"), blank=True)
    recipient_code = models.CharField(
        _("e-invoicing recipient code"), max_length=7, blank=True, validators=[validate_recipient_code]
    )
    registered_office = models.CharField(_("registered office"), max_length=300, blank=True)
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)
    updated_at = models.DateTimeField(_("updated at"), auto_now=True)

    class Meta:
        verbose_name = _("company")
        verbose_name_plural = _("companies")
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class Role(models.TextChoices):
    LINE_USER = "line_user", _("Line user")
    ADMIN = "admin", _("Company administrator")
    LEGAL_REP = "legal_rep", _("Legal representative")


class MembershipQuerySet(TenantQuerySet["Membership"]):
    def visible_to(self, membership: Membership) -> MembershipQuerySet:
        """The company's users for those who manage them; otherwise only oneself."""
        from selfcare import permissions

        mine = self.filter(company_id=membership.company_id)
        if permissions.can_manage_users(membership):
            return mine
        return mine.filter(pk=membership.pk)


class Membership(models.Model):
    """A user's role in one company. Every page and API call works inside one membership."""

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="memberships", verbose_name=_("user")
    )
    company = models.ForeignKey(
        Company, on_delete=models.CASCADE, related_name="memberships", verbose_name=_("company")
    )
    role = models.CharField(_("role"), max_length=16, choices=Role.choices, default=Role.LINE_USER)
    invited_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("invited by"),
    )
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)

    objects = MembershipQuerySet.as_manager()

    class Meta:
        verbose_name = _("membership")
        verbose_name_plural = _("memberships")
        ordering = ["company__name", "user__email"]
        constraints = [
            models.UniqueConstraint(fields=["user", "company"], name="membership_one_per_user_and_company"),
        ]

    def __str__(self) -> str:
        return f"{self.user} · {self.company} ({self.get_role_display()})"
