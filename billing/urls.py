"""Pages of payments, and the payment provider's callback (included from selfcare/urls.py)."""

from __future__ import annotations

from django.urls import path

from billing import views, views_documents, views_invoice_payments, views_invoices, views_payment_methods

app_name = "billing"

urlpatterns = [
    path("payments/callback/<slug:provider>/", views.payment_callback, name="payment-callback"),
    path("payments/sandbox/<uuid:reference>/", views.SandboxPageView.as_view(), name="sandbox-page"),
    path("payments/<uuid:reference>/", views.PaymentDetailView.as_view(), name="payment-detail"),
    path("payments/<uuid:reference>/receipt/", views.PaymentReceiptView.as_view(), name="payment-receipt"),
    path("invoices/", views_invoices.InvoiceListView.as_view(), name="invoice-list"),
    path("invoices/<int:pk>/", views_invoices.InvoiceDetailView.as_view(), name="invoice-detail"),
    # The company's payment method; a card through the provider's card page.
    path(
        "invoices/payment-method/",
        views_payment_methods.PaymentMethodView.as_view(),
        name="payment-method",
    ),
    path(
        "invoices/payment-method/card/",
        views_payment_methods.PaymentMethodCardStartView.as_view(),
        name="payment-method-card-start",
    ),
    path(
        "invoices/payment-method/card/return/",
        views_payment_methods.PaymentMethodCardReturnView.as_view(),
        name="payment-method-card-return",
    ),
    path(
        "payments/sandbox/card/",
        views_payment_methods.SandboxCardPageView.as_view(),
        name="sandbox-card-page",
    ),
    path("invoices/<int:pk>/pay/", views_invoice_payments.InvoicePayView.as_view(), name="invoice-pay"),
]

# The invoice's files: PDF and electronic invoice downloads, copies asked for and downloaded.
urlpatterns += [
    path("invoices/<int:pk>/pdf/", views_documents.InvoicePdfView.as_view(), name="invoice-pdf"),
    path("invoices/<int:pk>/xml/", views_documents.InvoiceXmlView.as_view(), name="invoice-xml"),
    path("invoices/<int:pk>/copies/", views_documents.InvoiceCopiesView.as_view(), name="invoice-copies"),
    path("invoices/copies/<int:pk>/", views_documents.InvoiceCopyView.as_view(), name="invoice-copy"),
]

# The legal representative's requests for the other party's numbers in clear (billing.views_clear_numbers).
from billing import views_clear_numbers  # noqa: E402  (kept with its route, appended after the others)

urlpatterns += [
    path("traffic/clear-numbers/", views_clear_numbers.ClearNumbersView.as_view(), name="clear-numbers"),
]

# The 90-day traffic report: the page and its CSV download (billing.views_traffic).
from billing import views_traffic  # noqa: E402  (kept with its routes)

urlpatterns += [
    path("traffic/", views_traffic.TrafficReportView.as_view(), name="traffic-report"),
    path("traffic/export.csv", views_traffic.TrafficExportCsvView.as_view(), name="traffic-export-csv"),
]

# The traffic report as XLSX: at once when small, else built in the background (billing.views_traffic_xlsx).
from billing import views_traffic_xlsx  # noqa: E402  (kept with its routes)

urlpatterns += [
    path(
        "traffic/export.xlsx", views_traffic_xlsx.TrafficXlsxExportView.as_view(), name="traffic-export-xlsx"
    ),
    path("traffic/exports/", views_traffic_xlsx.TrafficExportListView.as_view(), name="traffic-exports"),
    path("traffic/exports/<int:pk>/", views_traffic_xlsx.TrafficExportView.as_view(), name="traffic-export"),
    path(
        "traffic/exports/<int:pk>/file/",
        views_traffic_xlsx.TrafficExportFileView.as_view(),
        name="traffic-export-file",
    ),
]

# Fair use: the company's findings and the measures taken on them (billing.views_fair_use).
from billing import views_fair_use  # noqa: E402  (kept with its routes)

urlpatterns += [
    path("fair-use/", views_fair_use.FairUseListView.as_view(), name="fair-use"),
    path("fair-use/<int:pk>/", views_fair_use.FairUseFindingView.as_view(), name="fair-use-finding"),
]
