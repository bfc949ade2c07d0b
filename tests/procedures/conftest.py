"""Fixtures of the procedures' tests (tests/procedures/requests_helpers.py): private storage, staff users."""

from tests.procedures.requests_helpers import other_staff, private_storage, staff

__all__ = ["other_staff", "private_storage", "staff"]
