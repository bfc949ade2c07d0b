"""Fixtures of the hostile-input tests: the requests' private storage in a temporary folder."""

from tests.procedures.requests_helpers import private_storage

__all__ = ["private_storage"]
