"""Requests (forms) with their documents and review, and activation orders."""
