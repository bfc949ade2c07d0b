"""Key rotation for the secrets at rest (ARCHITECTURE.md, "Secrets at rest").

To rotate: put a new Fernet key first in FIELD_ENCRYPTION_KEYS (keeping the
old ones after it), restart, then run `rotate_secrets` (or let the Celery task
do it). Every encrypted value is read with whichever key it was made with and
written again with the newest; when the run reports nothing left on old keys,
the old keys can be dropped from the setting.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from allauth.mfa.models import Authenticator
from django.db import models, transaction

from selfcare import crypto
from selfcare.fields import EncryptedTextField

BATCH = 500
# Where allauth keeps its encrypted values, by authenticator type.
AUTHENTICATOR_SECRET_KEYS = {Authenticator.Type.TOTP: "secret", Authenticator.Type.RECOVERY_CODES: "seed"}


@dataclass
class RotationReport:
    rows: dict[str, int] = field(default_factory=dict)

    @property
    def total(self) -> int:
        return sum(self.rows.values())


def _encrypted_fields() -> dict[type[models.Model], list[str]]:
    from django.apps import apps

    found: dict[type[models.Model], list[str]] = {}
    for model in apps.get_models():
        names = [f.name for f in model._meta.get_fields() if isinstance(f, EncryptedTextField)]
        if names:
            found[model] = names
    return found


def _rotate_model(model: type[models.Model], names: list[str]) -> int:
    """Read and write back every row with a value: the field encrypts again with the newest key."""
    rotated = 0
    last_pk = 0
    while True:
        with transaction.atomic():
            rows = list(
                model._default_manager.filter(pk__gt=last_pk).order_by("pk").select_for_update()[:BATCH]
            )
            if not rows:
                return rotated
            model._default_manager.bulk_update(rows, names)
        rotated += len(rows)
        last_pk = rows[-1].pk


def _rotate_authenticators() -> int:
    rotated = 0
    for authenticator in Authenticator.objects.filter(type__in=list(AUTHENTICATOR_SECRET_KEYS)).iterator():
        key = AUTHENTICATOR_SECRET_KEYS[Authenticator.Type(authenticator.type)]
        if authenticator.data.get(key):
            authenticator.data[key] = crypto.rotate(authenticator.data[key])
            authenticator.save(update_fields=["data"])
            rotated += 1
    return rotated


def secrets_rotate() -> RotationReport:
    """Encrypt every secret at rest again with the newest key. Safe to run twice, or while the portal runs."""
    report = RotationReport()
    for model, names in _encrypted_fields().items():
        report.rows[model._meta.label] = _rotate_model(model, names)
    report.rows["mfa.Authenticator"] = _rotate_authenticators()
    return report
