"""Writes about API tokens: issuing, revoking, and noting when one was last used.

A token's key is shown once, when it is made; only its SHA-256 hash is stored,
so a copy of the database (or a backup) gives nobody a working key. The key
has 256 random bits: a plain hash (no salt, no slow KDF) is enough for a
random secret of that size, and it lets the authentication find the token by
an indexed lookup of the hash, which also takes the same time whatever the key.
"""

from __future__ import annotations

import hashlib
import logging
import secrets
from datetime import datetime, timedelta

from auditlog.models import LogEntry
from django.core.exceptions import PermissionDenied, ValidationError
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext as _

from selfcare import permissions
from selfcare.models import ApiToken, Membership, User
from selfcare.services.audit import audit_record

logger = logging.getLogger(__name__)

# 32 random bytes: 43 URL-safe characters.
KEY_BYTES = 32
PREFIX_LENGTH = 8
NAME_MAX_LENGTH = 100  # ApiToken.name
# `last_used_at` is for people ("was this token used this month?"), not an
# audit trail: writing it on every call would turn each API read into a write.
LAST_USED_RESOLUTION = timedelta(minutes=1)


def api_token_key_hash(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


def api_token_create(*, membership: Membership, name: str, created_by: User | None) -> tuple[ApiToken, str]:
    """Issue a token for `membership`; returns it with its key, which is never available again."""
    if not permissions.can_use_api_tokens(membership):
        raise PermissionDenied
    name = name.strip()
    if not name:
        raise ValidationError({"name": [_("Give the token a name, so that you know later what it is for.")]})
    if len(name) > NAME_MAX_LENGTH:
        raise ValidationError(
            {"name": [_("The name can be at most %(limit)d characters long.") % {"limit": NAME_MAX_LENGTH}]}
        )
    key = secrets.token_urlsafe(KEY_BYTES)
    token = ApiToken.objects.create(
        membership=membership,
        name=name,
        prefix=key[:PREFIX_LENGTH],
        key_hash=api_token_key_hash(key),
        created_by=created_by,
    )
    # Never the key: only what identifies the token.
    logger.info(
        "api token created: token=%s prefix=%s membership=%s by=%s",
        token.pk,
        token.prefix,
        membership.pk,
        created_by.pk if created_by else "operator",
    )
    return token, key


def api_token_revoke(*, token: ApiToken, user: User) -> ApiToken:
    """Revoke `token` for good; revoking a revoked token changes nothing.

    Only the token's own user (or operator staff) revokes it: views load the
    token through the tenancy helpers already, and this check keeps the rule
    true for any other caller too.
    """
    if token.membership.user_id != user.pk and not user.is_staff:
        raise PermissionDenied
    now = timezone.now()
    revoked = ApiToken.objects.filter(pk=token.pk, revoked_at__isnull=True).update(revoked_at=now)
    if revoked:
        # `update()` sends no signal, so django-auditlog would not see it.
        audit_record(actor=user, target=token, event="api_token_revoked", action=LogEntry.Action.UPDATE)
        logger.info("api token revoked: token=%s prefix=%s by=%s", token.pk, token.prefix, user.pk)
    token.refresh_from_db(fields=["revoked_at"])
    return token


def api_token_record_use(*, token: ApiToken, now: datetime | None = None) -> None:
    """Note that `token` was just used, at most once a minute (LAST_USED_RESOLUTION)."""
    now = now or timezone.now()
    if token.last_used_at is not None and now - token.last_used_at < LAST_USED_RESOLUTION:
        return
    # The condition is repeated in SQL, so that a burst of parallel calls
    # writes the row once rather than once per call.
    ApiToken.objects.filter(
        Q(last_used_at__isnull=True) | Q(last_used_at__lt=now - LAST_USED_RESOLUTION), pk=token.pk
    ).update(last_used_at=now)
    token.last_used_at = now
