"""Login, two-factor authentication and re-authentication (django-allauth)."""

from __future__ import annotations

from allauth.account.adapter import DefaultAccountAdapter
from allauth.mfa.adapter import DefaultMFAAdapter
from django.http import HttpRequest

from selfcare import crypto


class AccountAdapter(DefaultAccountAdapter):
    def is_open_for_signup(self, request: HttpRequest) -> bool:
        # Users come from the provisioning feed or from an invitation by their
        # company's administrator: nobody signs up alone.
        return False


class MFAAdapter(DefaultMFAAdapter):
    """TOTP seeds and recovery-code seeds are secrets at rest: Fernet-encrypted."""

    def encrypt(self, text: str) -> str:
        return crypto.encrypt(text)

    def decrypt(self, encrypted_text: str) -> str:
        return crypto.decrypt(encrypted_text)
