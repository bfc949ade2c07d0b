"""The portal's URLs: pages under /, staff under /admin/, the API under /api/v1/."""

from allauth.account.decorators import secure_admin_login
from allauth.mfa.recovery_codes import views as recovery_codes_views
from allauth.mfa.totp import views as totp_views
from django.contrib import admin
from django.contrib.auth.decorators import login_not_required
from django.urls import include, path
from django.views.decorators.cache import never_cache
from django.views.generic import RedirectView
from django.views.i18n import set_language
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerSplitView

from selfcare.views import credit as views_credit
from selfcare.views import help as views_help
from selfcare.views import line_services as views_line_services
from selfcare.views import lines as views_lines
from selfcare.views import members as views_members
from selfcare.views import notifications as views_notifications
from selfcare.views import pages as views
from selfcare.views import sim as views_sim
from selfcare.views import tokens as views_tokens

selfcare_patterns = [
    path("", views.DashboardView.as_view(), name="dashboard"),
    path("sections/<slug:slug>/", views.SectionView.as_view(), name="section"),
    path("company/switch/", views.company_switch, name="company-switch"),
    path("company/none/", views.no_company, name="no-company"),
    path("lines/", views_lines.LineListView.as_view(), name="line-list"),
    path("lines/export.csv", views_lines.LineExportView.as_view(), name="line-export"),
    path("lines/<int:pk>/", views_lines.LineDetailView.as_view(), name="line-detail"),
    path("lines/<int:pk>/sim/secrets/", views_sim.LineSimSecretsView.as_view(), name="line-sim-secrets"),
    path("lines/<int:pk>/esim/", views_sim.LineEsimView.as_view(), name="line-esim"),
    path(
        "lines/<int:pk>/esim/<int:profile_pk>/code/", views_sim.EsimCodeView.as_view(), name="line-esim-code"
    ),
    path("lines/<int:pk>/services/", views_line_services.LineServicesView.as_view(), name="line-services"),
    path(
        "lines/<int:pk>/services/volte/",
        views_line_services.LineVolteView.as_view(),
        name="line-services-volte",
    ),
    path(
        "lines/<int:pk>/services/vas/",
        views_line_services.LineVasLiftView.as_view(),
        name="line-services-vas",
    ),
    path(
        "lines/<int:pk>/services/vas/send-code/",
        views_line_services.LineVasCodeSendView.as_view(),
        name="line-services-vas-send",
    ),
    path(
        "lines/<int:pk>/services/vas/restore/",
        views_line_services.LineVasRestoreView.as_view(),
        name="line-services-vas-restore",
    ),
    path("lines/<int:pk>/credit/", views_credit.LineCreditView.as_view(), name="line-credit"),
    path(
        "lines/<int:pk>/credit/threshold/",
        views_credit.LineCreditThresholdView.as_view(),
        name="line-credit-threshold",
    ),
    path("lines/<int:pk>/recharge/", views_credit.LineRechargeView.as_view(), name="line-recharge"),
    path("settings/", views.SettingsView.as_view(), name="settings"),
    path("settings/users/", views_members.MemberListView.as_view(), name="member-list"),
    path("settings/users/invite/", views_members.MemberInviteView.as_view(), name="member-invite"),
    path("settings/users/<int:pk>/", views_members.MemberEditView.as_view(), name="member-edit"),
    path("settings/users/<int:pk>/remove/", views_members.MemberRemoveView.as_view(), name="member-remove"),
    path("settings/api-tokens/", views_tokens.ApiTokenListView.as_view(), name="api-tokens"),
    path(
        "settings/api-tokens/<int:pk>/revoke/",
        views_tokens.ApiTokenRevokeView.as_view(),
        name="api-token-revoke",
    ),
    path("inbox/", views_notifications.InboxView.as_view(), name="inbox"),
    path("inbox/read-all/", views_notifications.InboxMarkAllReadView.as_view(), name="inbox-read-all"),
    path("inbox/<int:pk>/read/", views_notifications.InboxMarkReadView.as_view(), name="inbox-read"),
    # Public: help pages are readable without logging in (CONTRACTS.md, "HTTP").
    path("help/", views_help.help_index, name="help"),
    path("help/search/", views_help.help_search, name="help-search"),
    path("help/<slug:slug>/", views_help.help_page, name="help-page"),
]

# Public (CONTRACTS.md, "HTTP"): the language switch the login page offers.
# Django's view has no decorator of ours, so it is marked here; /healthz is
# marked in selfcare/views.py and allauth marks its own login, password-reset
# and two-factor views.
login_not_required(set_language)

# Staff log into the admin through allauth's login, with the same two-factor
# authentication as everybody, never through the admin's own form.
admin.site.login = secure_admin_login(admin.site.login)  # type: ignore[method-assign]

# allauth answers a request over its rate limits (ACCOUNT_RATE_LIMITS) with this.
handler429 = "selfcare.auth.rate_limited"
# The database unreachable answers 503 with Retry-After rather than a bare 500 (selfcare.views.errors).
handler500 = "selfcare.views.errors.server_error"
# A path under /api/ that matches no route answers JSON, as the API's own 404s do.
handler404 = "selfcare.views.errors.page_not_found"

urlpatterns = [
    path("", include((selfcare_patterns, "selfcare"))),
    path("healthz", views.healthz, name="healthz"),
    path("", include("billing.urls")),
    path("", include("roaming.urls")),
    path("", include("procedures.urls")),
    path("", include("insight.urls")),
    # The login address comes from the provisioning feed or the invitation:
    # allauth's page for adding e-mail addresses (which would log in too) is
    # not offered; its address leads to the security page instead.
    path("accounts/email/", RedirectView.as_view(pattern_name="mfa_index"), name="account-email-disabled"),
    # allauth's pages that show a second factor's secret (the recovery codes, a new TOTP
    # secret) send no Cache-Control: no-store here, as every page with a secret
    # (ARCHITECTURE.md, "Secrets at rest"). Same addresses and names (which the
    # enrolment middleware goes by), found before allauth's own.
    path(
        "accounts/2fa/recovery-codes/",
        never_cache(recovery_codes_views.view_recovery_codes),
        name="mfa_view_recovery_codes",
    ),
    path("accounts/2fa/totp/activate/", never_cache(totp_views.activate_totp), name="mfa_activate_totp"),
    path("accounts/", include("allauth.urls")),
    path("i18n/", include("django.conf.urls.i18n")),
    path("admin/", admin.site.urls),
    # The API answers 401/403 itself (DRF authenticates; it never redirects to
    # the login page); its schema and docs are public (CONTRACTS.md, "HTTP").
    path("api/v1/", include("selfcare.api.urls")),
    path("api/schema/", login_not_required(SpectacularAPIView.as_view()), name="api-schema"),
    path(
        "api/docs/",
        login_not_required(
            SpectacularSwaggerSplitView.as_view(url_name="api-schema", template_name="selfcare/api_docs.html")
        ),
        name="api-docs",
    ),
]
