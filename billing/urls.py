"""Pages of payments, and the payment provider's callback (included from selfcare/urls.py)."""

from __future__ import annotations

from django.urls import path

from billing import views, views_invoices

app_name = "billing"

urlpatterns = [
    path("payments/callback/<slug:provider>/", views.payment_callback, name="payment-callback"),
    path("payments/sandbox/<uuid:reference>/", views.SandboxPageView.as_view(), name="sandbox-page"),
    path("payments/<uuid:reference>/", views.PaymentDetailView.as_view(), name="payment-detail"),
    path("payments/<uuid:reference>/receipt/", views.PaymentReceiptView.as_view(), name="payment-receipt"),
    path("invoices/", views_invoices.InvoiceListView.as_view(), name="invoice-list"),
    path("invoices/<int:pk>/", views_invoices.InvoiceDetailView.as_view(), name="invoice-detail"),
]
