"""Invoices, payments, taxes, traffic and fair use."""
