"""Secrets at rest survive a key rotation, and the old key can then be dropped."""

from __future__ import annotations

from typing import Any

import pytest
from allauth.mfa.models import Authenticator
from allauth.mfa.totp.internal.auth import TOTP
from cryptography.fernet import Fernet
from django.db import connection

from selfcare.models import Line
from selfcare.services.secrets import secrets_rotate
from tests.cast import Cast

pytestmark = pytest.mark.django_db

OLD_KEY = Fernet.generate_key().decode()
NEW_KEY = Fernet.generate_key().decode()


def raw_pin(line: Line) -> str:
    with connection.cursor() as cursor:
        cursor.execute("SELECT pin FROM selfcare_line WHERE id = %s", [line.pk])
        value: str = cursor.fetchone()[0]
    return value


def test_after_rotation_the_secrets_read_with_the_new_key_alone(cast: Cast, settings: Any) -> None:
    # The cast's own two-factor secrets were made with the suite's key: in a
    # real rotation every key in use stays listed until the run is over.
    suite_keys = list(settings.FIELD_ENCRYPTION_KEYS)
    settings.FIELD_ENCRYPTION_KEYS = [OLD_KEY, *suite_keys]
    line = cast.rossi_assigned_line
    line.pin, line.puk = "1234", "87654321"
    line.save(update_fields=["pin", "puk"])
    user = cast.rossi_legal_rep.user
    Authenticator.objects.filter(user=user).delete()
    TOTP.activate(user, "JBSWY3DPEHPK3PXP")
    before = raw_pin(line)

    settings.FIELD_ENCRYPTION_KEYS = [NEW_KEY, OLD_KEY, *suite_keys]
    report = secrets_rotate()
    settings.FIELD_ENCRYPTION_KEYS = [NEW_KEY]

    line.refresh_from_db()
    assert (line.pin, line.puk) == ("1234", "87654321")
    assert raw_pin(line) != before
    assert "1234" not in raw_pin(line)
    totp = TOTP(Authenticator.objects.get(user=user, type=Authenticator.Type.TOTP))
    assert totp.instance.data["secret"] != "JBSWY3DPEHPK3PXP"
    assert report.rows["selfcare.Line"] >= 1
    assert report.rows["mfa.Authenticator"] >= 1


def test_rotating_twice_changes_nothing_that_matters(cast: Cast, settings: Any) -> None:
    settings.FIELD_ENCRYPTION_KEYS = [NEW_KEY, OLD_KEY, *settings.FIELD_ENCRYPTION_KEYS]
    line = cast.rossi_assigned_line
    line.puk = "11112222"
    line.save(update_fields=["puk"])

    secrets_rotate()
    secrets_rotate()

    line.refresh_from_db()
    assert line.puk == "11112222"


def test_without_the_old_key_an_unrotated_secret_cannot_be_read(cast: Cast, settings: Any) -> None:
    from selfcare.crypto import InvalidToken

    settings.FIELD_ENCRYPTION_KEYS = [OLD_KEY]
    line = cast.rossi_assigned_line
    line.pin = "4321"
    line.save(update_fields=["pin"])

    settings.FIELD_ENCRYPTION_KEYS = [NEW_KEY]

    with pytest.raises(InvalidToken):
        Line.objects.get(pk=line.pk)
