"""Secrets at rest (PIN, PUK, IBAN, eSIM codes, TOTP seeds), encrypted with Fernet.

The keys come from FIELD_ENCRYPTION_KEYS, newest first. MultiFernet encrypts
with the first key and decrypts with any of them, so a key is rotated by
prepending a new one and re-encrypting the stored values in the background
(`rotate`), after which the old key can be dropped.
"""

from __future__ import annotations

from functools import cache

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from django.conf import settings
from django.core.signals import setting_changed
from django.dispatch import receiver

__all__ = ["InvalidToken", "decrypt", "encrypt", "rotate"]


@cache
def _fernet() -> MultiFernet:
    return MultiFernet([Fernet(key.encode()) for key in settings.FIELD_ENCRYPTION_KEYS])


@receiver(setting_changed)
def _reset_keys(*, setting: str, **kwargs: object) -> None:
    if setting == "FIELD_ENCRYPTION_KEYS":
        _fernet.cache_clear()


def encrypt(plaintext: str) -> str:
    return _fernet().encrypt(plaintext.encode()).decode()


def decrypt(token: str) -> str:
    return _fernet().decrypt(token.encode()).decode()


def rotate(token: str) -> str:
    """The same secret, encrypted with the newest key."""
    return _fernet().rotate(token.encode()).decode()
