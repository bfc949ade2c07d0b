"""Telling an invited user about their new access."""

from __future__ import annotations

from allauth.account.forms import default_token_generator
from allauth.account.utils import user_pk_to_url_str
from django.conf import settings
from django.urls import reverse

from selfcare.models import Membership, User


def password_set_link(*, user: User) -> str:
    """An absolute link where a user with no password sets one (allauth's reset-from-key page)."""
    path = reverse(
        "account_reset_password_from_key",
        kwargs={"uidb36": user_pk_to_url_str(user), "key": default_token_generator.make_token(user)},
    )
    return settings.SITE_URL.rstrip("/") + path


def invitation_notify(*, membership: Membership, new_user: bool) -> None:
    """Written to the outbox in the caller's transaction (see selfcare.services.notifications).

    A person with no password yet gets the invitation by e-mail only, with the
    link that sets it: the inbox is out of their reach until then. Someone who
    already logs in (a consultant added to another company) is told in the
    inbox and by e-mail, with a link to the portal.
    """
    from selfcare.models import Channel
    from selfcare.services.notifications import notify

    user = membership.user
    needs_password = new_user or not user.has_usable_password()
    notify(
        company=membership.company,
        event="member_invited",
        recipients=[user],
        key=f"member_invited:{membership.pk}",
        # The membership, not its role's label: the text is rendered in the
        # recipient's language, not the inviter's.
        context={
            "membership": membership,
            "password_link": password_set_link(user=user) if needs_password else "",
        },
        link=reverse("selfcare:dashboard"),
        channels=[Channel.EMAIL] if needs_password else None,
        sensitive=needs_password,
    )
