"""Routes of the REST API, mounted at /api/v1/ (CONTRACTS.md, "HTTP").

The one place where API routes are registered, for every app: register a
viewset on the router, or add a path below. Every route appears in the
OpenAPI schema at /api/schema/ (a test fails otherwise).
"""

from __future__ import annotations

from django.urls import URLPattern, URLResolver, path
from rest_framework.routers import SimpleRouter

from billing import api as billing_api
from billing import api_invoice_payments as billing_api_invoice_payments
from billing import api_payment_methods
from roaming import api as roaming_api
from selfcare.api import companies, credit, esim, line_services, lines
from selfcare.api import help as help_api

app_name = "api"

# SimpleRouter, not DefaultRouter: no browsable root view, whose listing the
# schema would not describe.
router = SimpleRouter()
router.register("company/users", companies.CompanyUserViewSet, basename="company-user")
router.register("lines", lines.LineViewSet, basename="line")
router.register("tokens", companies.ApiTokenViewSet, basename="token")
router.register("invoices", billing_api.InvoiceViewSet, basename="invoice")
router.register("roaming/lines", roaming_api.RoamingLineViewSet, basename="roaming-line")

urlpatterns: list[URLPattern | URLResolver] = [
    path("me/", companies.MeView.as_view(), name="me"),
    path("memberships/", companies.MembershipListView.as_view(), name="membership-list"),
    path("company/", companies.CurrentCompanyView.as_view(), name="company"),
    path("company/payment-method/", api_payment_methods.PaymentMethodView.as_view(), name="payment-method"),
    # Public, like the help pages (CONTRACTS.md, "HTTP").
    path("help/", help_api.HelpPageListView.as_view(), name="help-page-list"),
    path("help/<slug:slug>/", help_api.HelpPageDetailView.as_view(), name="help-page-detail"),
    # Public, like the roaming rates page (CONTRACTS.md, "HTTP").
    path("roaming/zones/", roaming_api.RoamingZoneListView.as_view(), name="roaming-zone-list"),
    path("roaming/estimate/", roaming_api.TripEstimateView.as_view(), name="roaming-estimate"),
    # Before the router's routes, so that "export.csv" is never read as a line id.
    path("lines/export.csv", lines.LineExportView.as_view(), name="line-export"),
    path("lines/<int:pk>/services/", line_services.LineServicesView.as_view(), name="line-services"),
    path("lines/<int:pk>/services/volte/", line_services.LineVolteView.as_view(), name="line-services-volte"),
    path(
        "lines/<int:pk>/services/vas/code/",
        line_services.LineVasCodeView.as_view(),
        name="line-services-vas-code",
    ),
    path(
        "lines/<int:pk>/services/vas/lift/",
        line_services.LineVasLiftView.as_view(),
        name="line-services-vas-lift",
    ),
    path(
        "lines/<int:pk>/services/vas/restore/",
        line_services.LineVasRestoreView.as_view(),
        name="line-services-vas-restore",
    ),
    path("lines/<int:pk>/esim/", esim.LineEsimProfilesView.as_view(), name="line-esim"),
    path("lines/<int:pk>/credit/", credit.LineCreditView.as_view(), name="line-credit"),
    path("lines/<int:pk>/recharge/", credit.LineRechargeView.as_view(), name="line-recharge"),
    path("esim-activations/", esim.EsimActivationView.as_view(), name="esim-activation"),
    path("invoices/<int:pk>/pay/", billing_api_invoice_payments.InvoicePayView.as_view(), name="invoice-pay"),
    *router.urls,
]

# The invoice's files: PDF, electronic invoice (FatturaPA XML) and copies (billing.api_documents).
from billing import api_documents  # noqa: E402  (kept with its routes, appended after the others)

urlpatterns += [
    path("invoices/<int:pk>/pdf/", api_documents.InvoicePdfAPIView.as_view(), name="invoice-pdf"),
    path("invoices/<int:pk>/xml/", api_documents.InvoiceXmlAPIView.as_view(), name="invoice-xml"),
    path("invoices/<int:pk>/copies/", api_documents.InvoiceCopiesAPIView.as_view(), name="invoice-copies"),
    # One id, the copy's: it names its invoice.
    path(
        "invoices/copies/<int:pk>/pdf/",
        api_documents.InvoiceCopyPdfAPIView.as_view(),
        name="invoice-copy-pdf",
    ),
]

# The legal representative's requests for the other party's numbers in clear (billing.api_clear_numbers).
from billing import api_clear_numbers  # noqa: E402  (kept with its route, appended after the others)

urlpatterns += [
    path(
        "traffic/clear-numbers/",
        api_clear_numbers.ClearNumbersRequestListView.as_view(),
        name="clear-numbers",
    ),
]

# The 90-day traffic report: the records, and the CSV for integrations (billing.api_traffic_report).
from billing import api_traffic_report  # noqa: E402  (kept with its routes, appended after the others)

urlpatterns += [
    path("traffic/", api_traffic_report.TrafficListAPIView.as_view(), name="traffic-list"),
    path(
        "traffic/export.csv", api_traffic_report.TrafficExportCsvAPIView.as_view(), name="traffic-export-csv"
    ),
]

# The traffic report as XLSX: the file at once when small, else 202 and an export to poll (billing.api_traffic_xlsx).
from billing import api_traffic_xlsx  # noqa: E402  (kept with its routes, appended after the others)

urlpatterns += [
    path(
        "traffic/export.xlsx", api_traffic_xlsx.TrafficXlsxExportAPIView.as_view(), name="traffic-export-xlsx"
    ),
    path("traffic/exports/<int:pk>/", api_traffic_xlsx.TrafficExportAPIView.as_view(), name="traffic-export"),
    path(
        "traffic/exports/<int:pk>/file/",
        api_traffic_xlsx.TrafficExportFileAPIView.as_view(),
        name="traffic-export-file",
    ),
]

# Fair use: the company's findings with their figures and measures, read-only (billing.api_fair_use).
from billing import api_fair_use  # noqa: E402  (kept with its routes, appended after the others)

urlpatterns += [
    path(
        "fair-use/findings/",
        api_fair_use.FairUseFindingViewSet.as_view({"get": "list"}),
        name="fair-use-finding-list",
    ),
    path(
        "fair-use/findings/<int:pk>/",
        api_fair_use.FairUseFindingViewSet.as_view({"get": "retrieve"}),
        name="fair-use-finding-detail",
    ),
]

# Fixed-line activation orders: the customer's list, detail and "Keep me updated", and the
# provisioning system's step reports (staff only) (procedures.api_activation).
from procedures import api_activation  # noqa: E402  (kept with its routes, appended after the others)

urlpatterns += [
    # Before the order's id routes, so that "steps" is never read as an id.
    path(
        "activations/steps/", api_activation.ActivationStepReportView.as_view(), name="activation-step-report"
    ),
    path(
        "activations/",
        api_activation.ActivationOrderViewSet.as_view({"get": "list"}),
        name="activation-order-list",
    ),
    path(
        "activations/<int:pk>/",
        api_activation.ActivationOrderViewSet.as_view({"get": "retrieve"}),
        name="activation-order-detail",
    ),
    path(
        "activations/<int:pk>/keep-me-updated/",
        api_activation.ActivationKeepMeUpdatedView.as_view(),
        name="activation-order-keep-me-updated",
    ),
]

# Insight: each chart's figures, with the Reports page's filters (insight.api).
from insight import api as insight_api  # noqa: E402  (kept with its routes, appended after the others)
from insight.reports import CHARTS as INSIGHT_CHARTS  # noqa: E402

urlpatterns += [
    path(
        f"insight/{chart.slug}/",
        insight_api.InsightChartAPIView.as_view(chart=chart.slug),
        name=f"insight-{chart.slug}",
    )
    for chart in INSIGHT_CHARTS
]

# Insight alerts: the company's thresholds on spend and data use, for its managers (insight.api).
urlpatterns += [
    path(
        "insight/alerts/",
        insight_api.InsightAlertViewSet.as_view({"get": "list", "post": "create"}),
        name="insight-alert-list",
    ),
    path(
        "insight/alerts/<int:pk>/",
        insight_api.InsightAlertViewSet.as_view(
            {"get": "retrieve", "put": "update", "patch": "partial_update", "delete": "destroy"}
        ),
        name="insight-alert-detail",
    ),
]

# Requests (every form of the procedures): list, detail, create; documents and messages (procedures.api_requests).
from procedures import api_requests  # noqa: E402  (kept with its routes, appended after the others)

urlpatterns += [
    path(
        "requests/",
        api_requests.RequestViewSet.as_view({"get": "list", "post": "create"}),
        name="request-list",
    ),
    path(
        "requests/<int:pk>/", api_requests.RequestViewSet.as_view({"get": "retrieve"}), name="request-detail"
    ),
    path(
        "requests/<int:pk>/documents/",
        api_requests.RequestDocumentsAPIView.as_view(),
        name="request-documents",
    ),
    path(
        "requests/documents/<int:pk>/file/",
        api_requests.RequestDocumentFileAPIView.as_view(),
        name="request-document-file",
    ),
    path(
        "requests/<int:pk>/messages/", api_requests.RequestMessagesAPIView.as_view(), name="request-messages"
    ),
]
