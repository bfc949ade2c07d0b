"""Model fields for secrets at rest."""

from __future__ import annotations

from typing import Any

from django.db import models

from selfcare import crypto


class EncryptedTextField(models.TextField):  # type: ignore[type-arg]
    """A text stored encrypted with the portal's Fernet keys (selfcare.crypto).

    The database only ever holds the token; the value in Python is the plain
    text. It cannot be searched or compared in SQL, by design.
    """

    def from_db_value(self, value: str | None, expression: Any, connection: Any) -> str | None:
        if value is None or value == "":
            return value
        return crypto.decrypt(value)

    def get_prep_value(self, value: Any) -> str | None:
        prepared = super().get_prep_value(value)
        if prepared is None or prepared == "":
            return None if prepared is None else ""
        return crypto.encrypt(str(prepared))
