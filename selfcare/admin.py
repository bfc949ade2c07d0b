"""The operator's staff work here: companies, users, memberships, offers, lines, notifications, tokens.

Every admin action calls the same service as the portal; staff groups
(selfcare/staff.py) decide who sees what. The admin login goes through the
portal's login with two-factor authentication.
"""

from __future__ import annotations

from typing import Any, cast

from django.contrib import admin, messages
from django.contrib.auth.admin import UserAdmin as DjangoUserAdmin
from django.core.exceptions import ValidationError
from django.db.models import QuerySet
from django.http import HttpRequest
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from django_stubs_ext import StrOrPromise

from selfcare.admin_base import ReadOnlyModelAdmin
from selfcare.models import ApiToken, Company, Heartbeat, Line, Membership, Notification, Offer, User
from selfcare.models.help import HelpPage
from selfcare.models.lines import CreditMovement, EsimProfile, EsimStatus, LineServiceChange
from selfcare.services import esim as esim_services

admin.site.site_header = _("Business customer area · staff")
admin.site.site_title = _("Business customer area")
admin.site.index_title = _("Administration")


@admin.register(User)
class UserAdmin(DjangoUserAdmin[User]):
    ordering = ["email"]
    list_display = ["email", "name", "is_staff", "is_active", "last_login"]
    list_filter = ["is_staff", "is_superuser", "is_active", "groups"]
    search_fields = ["email", "name"]
    fieldsets = (
        (None, {"fields": ("email", "password")}),
        (_("Person"), {"fields": ("name", "language")}),
        (_("Access"), {"fields": ("is_active", "is_staff", "is_superuser", "groups", "user_permissions")}),
        (_("Dates"), {"fields": ("last_login", "date_joined")}),
    )
    add_fieldsets = ((None, {"classes": ("wide",), "fields": ("email", "name", "password1", "password2")}),)
    readonly_fields = ["last_login", "date_joined"]

    def get_readonly_fields(self, request: HttpRequest, obj: Any = None) -> Any:
        # Only superusers make staff or change what staff may do.
        readonly = list(super().get_readonly_fields(request, obj))
        if not request.user.is_superuser:
            readonly += ["is_staff", "is_superuser", "groups", "user_permissions"]
        return readonly


class MembershipInline(admin.TabularInline[Membership, Company]):
    model = Membership
    fk_name = "company"
    extra = 0
    autocomplete_fields = ["user"]
    fields = ["user", "role", "created_at"]
    readonly_fields = ["created_at"]


@admin.register(Company)
class CompanyAdmin(admin.ModelAdmin[Company]):
    list_display = ["name", "vat_number", "tax_code", "pec", "recipient_code"]
    search_fields = ["name", "vat_number", "tax_code", "pec"]
    readonly_fields = ["created_at", "updated_at"]
    inlines = [MembershipInline]


@admin.register(Membership)
class MembershipAdmin(admin.ModelAdmin[Membership]):
    list_display = ["user", "company", "role", "created_at"]
    list_filter = ["role"]
    search_fields = ["user__email", "user__name", "company__name", "company__vat_number"]
    autocomplete_fields = ["user", "company", "invited_by"]
    list_select_related = ["user", "company"]


@admin.register(Offer)
class OfferAdmin(admin.ModelAdmin[Offer]):
    list_display = [
        "code",
        "name",
        "payment",
        "monthly_fee",
        "unlimited_voice_sms",
        "unlimited_data",
        "data_gb",
    ]
    list_filter = ["payment", "unlimited_voice_sms", "unlimited_data"]
    search_fields = ["code", "name"]


@admin.register(Line)
class LineAdmin(admin.ModelAdmin[Line]):
    list_display = ["number", "company", "kind", "sim", "offer", "status", "cost_centre", "activated_on"]
    list_filter = ["status", "kind", "sim", "offer"]
    search_fields = ["number", "iccid", "company__name", "company__vat_number", "cost_centre"]
    autocomplete_fields = ["company", "assigned_to"]
    list_select_related = ["company", "offer"]
    readonly_fields = ["created_at", "updated_at"]
    date_hierarchy = "activated_on"


@admin.register(Notification)
class NotificationAdmin(admin.ModelAdmin[Notification]):
    list_display = [
        "created_at",
        "event",
        "channel",
        "user",
        "address",
        "company",
        "status",
        "attempts",
        "sent_at",
    ]
    list_filter = ["channel", "status", "event"]
    search_fields = ["user__email", "address", "event", "dedupe_key", "company__name"]
    list_select_related = ["user", "company"]
    date_hierarchy = "created_at"

    def has_add_permission(self, request: HttpRequest) -> bool:
        # Messages are written by the portal's events only.
        return False

    exclude = ["body"]

    def get_readonly_fields(self, request: HttpRequest, obj: Any = None) -> list[str]:
        return [field.name for field in Notification._meta.fields if field.name != "body"] + ["text_sent"]

    @admin.display(description=_("text"))
    def text_sent(self, obj: Notification) -> str:
        # A one-time secret (a link that sets a password, an unlock code) is
        # not for staff who read messages to use.
        return str(_("[hidden: the message carries a one-time secret]")) if obj.sensitive else obj.body


@admin.register(ApiToken)
class ApiTokenAdmin(admin.ModelAdmin[ApiToken]):
    list_display = ["name", "prefix", "membership", "created_at", "last_used_at", "revoked_at"]
    list_filter = ["revoked_at"]
    search_fields = ["name", "prefix", "membership__user__email", "membership__company__name"]
    readonly_fields = [
        "membership",
        "name",
        "prefix",
        "created_by",
        "created_at",
        "last_used_at",
        "revoked_at",
    ]
    exclude = ["key_hash"]
    list_select_related = ["membership__user", "membership__company"]
    actions = ["revoke"]

    def has_add_permission(self, request: HttpRequest) -> bool:
        # A key is shown once to its owner: tokens are made in the portal or with create_api_token.
        return False

    @admin.action(description=_("Revoke the selected tokens"), permissions=["change"])
    def revoke(self, request: HttpRequest, queryset: QuerySet[ApiToken]) -> None:
        count = queryset.filter(revoked_at__isnull=True).update(revoked_at=timezone.now())
        self.message_user(request, _("%(count)d tokens revoked.") % {"count": count}, messages.SUCCESS)


@admin.register(Heartbeat)
class HeartbeatAdmin(ReadOnlyModelAdmin[Heartbeat]):
    list_display = ["name", "seen_at"]


@admin.register(HelpPage)
class HelpPageAdmin(admin.ModelAdmin[HelpPage]):
    """Staff maintain the public help pages; load_help_pages never overwrites what they write."""

    list_display = ["title_en", "title_it", "slug", "category", "position", "published", "updated_at"]
    list_filter = ["category", "published"]
    list_editable = ["position", "published"]
    search_fields = ["slug", "title_it", "title_en", "body_it", "body_en"]
    ordering = ["category", "position", "slug"]
    prepopulated_fields = {"slug": ["title_en"]}
    readonly_fields = ["updated_at"]
    # Italian and English side by side, so a change in one is made in the other too.
    fieldsets = (
        (None, {"fields": ("slug", "category", "position", "published", "updated_at")}),
        (
            _("Italian and English"),
            {"fields": (("title_it", "title_en"), ("body_it", "body_en"))},
        ),
    )


@admin.register(LineServiceChange)
class LineServiceChangeAdmin(ReadOnlyModelAdmin[LineServiceChange]):
    """The history of line services (VoLTE, premium services barring): read-only, as evidence."""

    list_display = ["changed_at", "line", "service", "enabled_before", "enabled_after", "changed_by"]
    list_filter = ["service", "enabled_after"]
    search_fields = ["line__number", "line__company__name", "changed_by__email"]
    list_select_related = ["line", "changed_by"]
    date_hierarchy = "changed_at"

    def get_readonly_fields(self, request: HttpRequest, obj: Any = None) -> list[str]:
        return [field.name for field in LineServiceChange._meta.fields]


@admin.register(EsimProfile)
class EsimProfileAdmin(admin.ModelAdmin[EsimProfile]):
    """Staff see eSIM profiles and reissue or activate them through the same services as the portal.

    The activation code is never shown here: it is the customer's secret,
    shown only to them after re-authentication, each time audited.
    """

    list_display = ["line", "company", "eid", "status", "views", "is_swap", "created_at", "activated_at"]
    list_filter = ["status", "is_swap"]
    search_fields = ["line__number", "eid"]
    list_select_related = ["line__company"]
    exclude = ["activation_code"]
    readonly_fields = [
        "line",
        "eid",
        "smdp_address",
        "status",
        "views",
        "is_swap",
        "requested_by",
        "reissued_from",
        "created_at",
        "activated_at",
    ]
    date_hierarchy = "created_at"
    actions = ["reissue", "mark_activated"]

    def has_add_permission(self, request: HttpRequest) -> bool:
        # Profiles are requested by the customer (portal or API), with the device's EID.
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        # A profile's history (views, reissues) stays: it is what the audit records point to.
        return False

    @admin.display(description=_("company"), ordering="line__company__name")
    def company(self, obj: EsimProfile) -> str:
        return obj.line.company.name

    def _each(
        self, request: HttpRequest, queryset: QuerySet[EsimProfile], action: Any, done: StrOrPromise
    ) -> None:
        count = 0
        for profile in queryset.select_related("line").filter(status=EsimStatus.READY):
            try:
                action(profile)
            except ValidationError as error:
                self.message_user(request, f"{profile}: {' '.join(error.messages)}", messages.ERROR)
            else:
                count += 1
        skipped = queryset.exclude(status=EsimStatus.READY).count()
        if skipped:
            self.message_user(
                request,
                _("%(count)d profiles skipped: only a profile ready to install can be changed.")
                % {"count": skipped},
                messages.WARNING,
            )
        self.message_user(request, done % {"count": count}, messages.SUCCESS)

    @admin.action(
        description=_("Reissue the selected eSIM profiles (new code, views reset)"), permissions=["change"]
    )
    def reissue(self, request: HttpRequest, queryset: QuerySet[EsimProfile]) -> None:
        self._each(
            request,
            queryset,
            lambda profile: esim_services.esim_reissue(profile=profile, actor=cast(User, request.user)),
            _("%(count)d eSIM profiles reissued."),
        )

    @admin.action(description=_("Mark the selected eSIM profiles as activated"), permissions=["change"])
    def mark_activated(self, request: HttpRequest, queryset: QuerySet[EsimProfile]) -> None:
        self._each(
            request,
            queryset,
            lambda profile: esim_services.esim_activate(profile=profile, actor=cast(User, request.user)),
            _("%(count)d eSIM profiles activated."),
        )


@admin.register(CreditMovement)
class CreditMovementAdmin(ReadOnlyModelAdmin[CreditMovement]):
    """Read-only: the credit moves only through selfcare.services.credit (recharges, usage, fees)."""

    list_display = ["line", "kind", "amount", "balance_after", "description", "created_at"]
    list_filter = ["kind", "created_at"]
    search_fields = ["line__number", "payment_reference", "description"]
    list_select_related = ["line"]
    raw_id_fields = ["line"]
    date_hierarchy = "created_at"
