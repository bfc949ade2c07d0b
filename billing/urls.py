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
