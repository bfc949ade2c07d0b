"""Login, two-factor authentication and re-authentication (django-allauth).

- `AccountAdapter` and `MFAAdapter` adapt allauth to the portal: nobody signs
  up alone, TOTP seeds are encrypted at rest, the messages say what to do.
- `TwoFactorEnrolmentMiddleware` sends administrators, legal representatives
  and staff who have no authenticator app yet to set one up, before anything else.
- `sensitive_action` (a view decorator) and `ReauthenticationRequiredMixin`
  ask for the password again before a page shows a secret (PUK, eSIM codes).
- The code forms of the second factor, with the help a screen reader reads out.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any, TypeVar, cast

from allauth.account import app_settings as account_settings
from allauth.account.adapter import DefaultAccountAdapter
from allauth.account.authentication import get_authentication_records
from allauth.account.decorators import reauthentication_required
from allauth.core import context
from allauth.mfa.adapter import DefaultMFAAdapter
from allauth.mfa.base.forms import AuthenticateForm, ReauthenticateForm
from allauth.mfa.models import Authenticator
from allauth.mfa.totp.forms import ActivateTOTPForm
from django import forms
from django.conf import settings
from django.contrib.auth.signals import user_logged_in
from django.dispatch import receiver
from django.http import HttpRequest, HttpResponse, HttpResponseBase, HttpResponseRedirect, JsonResponse
from django.shortcuts import render
from django.urls import reverse
from django.utils.decorators import method_decorator
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _
from django.views import View
from django.views.decorators.cache import never_cache
from django_htmx.http import HttpResponseClientRedirect
from django_stubs_ext import StrOrPromise

from selfcare import crypto
from selfcare.models import Role
from selfcare.permissions import requires_two_factor

# allauth's name for the reauthentication rules of its two-factor pages.
MFA_APP = "allauth.mfa"


class AccountAdapter(DefaultAccountAdapter):
    error_messages = {
        **DefaultAccountAdapter.error_messages,
        # Used for the password and for the second factor alike (ACCOUNT_RATE_LIMITS,
        # "login_failed"): the message says the block is temporary and what to do.
        "too_many_login_attempts": _(
            "Too many failed attempts. For your security, logging in is blocked for a few minutes: "
            "try again later. If you have forgotten your password, reset it."
        ),
    }

    def is_open_for_signup(self, request: HttpRequest) -> bool:
        # Users come from the provisioning feed or from an invitation by their
        # company's administrator: nobody signs up alone.
        return False

    def is_reauthentication_required(self, *, app: str, **kwargs: Any) -> bool:
        # allauth asks for the password again before two-factor set-up, even a
        # minute after the login that sent the user there to set it up. A
        # password login of the last few minutes, made without a second factor
        # (there was none yet), already confirms who is setting it up.
        if app == MFA_APP and _logged_in_by_password_alone_moments_ago(context.request):
            return False
        return bool(super().is_reauthentication_required(app=app, **kwargs))


def _logged_in_by_password_alone_moments_ago(request: HttpRequest | None) -> bool:
    if request is None or not request.user.is_authenticated:
        return False
    records = get_authentication_records(request, request.user)
    if not records or any(record.get("method") == "mfa" for record in records):
        return False
    logins = [record for record in records if record.get("method") == "password"]
    return bool(logins) and time.time() - logins[-1]["at"] < account_settings.REAUTHENTICATION_TIMEOUT


class MFAAdapter(DefaultMFAAdapter):
    """TOTP seeds and recovery-code seeds are secrets at rest: Fernet-encrypted."""

    error_messages = {
        **DefaultMFAAdapter.error_messages,
        "incorrect_code": _(
            "The code is not correct. Enter the code your authenticator app shows now: "
            "it changes every 30 seconds."
        ),
        "cannot_delete_authenticator": _(
            "Two-factor authentication is required for your role: it cannot be turned off."
        ),
    }

    def encrypt(self, text: str) -> str:
        return crypto.encrypt(text)

    def decrypt(self, encrypted_text: str) -> str:
        return crypto.decrypt(encrypted_text)

    def can_delete_authenticator(self, authenticator: Authenticator) -> bool:
        # Whoever must log in with two factors cannot switch the second one off.
        if authenticator.type == Authenticator.Type.TOTP and requires_two_factor(authenticator.user):
            return False
        return bool(super().can_delete_authenticator(authenticator))


# ---------------------------------------------------------------------------
# Forms of the second factor (MFA_FORMS): allauth's, with help text that
# Django links to the field (aria-describedby) and a numeric keyboard on phones.
# ---------------------------------------------------------------------------
def _describe_code_field(field: forms.Field, *, label: StrOrPromise, help_text: StrOrPromise) -> None:
    field.label = label
    field.help_text = help_text
    field.widget.attrs.update({"inputmode": "numeric", "autocomplete": "one-time-code"})
    # A placeholder is no label, and "Code" adds nothing to the label.
    field.widget.attrs.pop("placeholder", None)


class TwoFactorAuthenticateForm(AuthenticateForm):
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        _describe_code_field(
            self.fields["code"],
            label=_("Security code"),
            help_text=_(
                "The six-digit code your authenticator app shows. "
                "Without your phone, enter one of your recovery codes instead."
            ),
        )


class TwoFactorReauthenticateForm(ReauthenticateForm):
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        _describe_code_field(
            self.fields["code"],
            label=_("Security code"),
            help_text=_("The six-digit code your authenticator app shows, or one of your recovery codes."),
        )


class ActivateAuthenticatorForm(ActivateTOTPForm):
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        _describe_code_field(
            self.fields["code"],
            label=_("Code from the app"),
            help_text=_("The six-digit code the app shows once it has added the account."),
        )


# ---------------------------------------------------------------------------
# Forced enrolment
# ---------------------------------------------------------------------------
# Set at login (or at the first request of an older session) once the user is
# found to have what their role needs, so that pages pay no query for the
# check. A role raised during a session (a line user made administrator) is
# enforced from the user's next login.
SESSION_TWO_FACTOR_SETTLED_KEY = "selfcare_two_factor_settled"

# What a user who must enrol may still reach: the enrolment itself (with its
# reauthentication), logging out, switching language and the health probe.
ENROLMENT_URL_NAMES = frozenset(
    {
        "mfa_activate_totp",
        "mfa_reauthenticate",
        "account_reauthenticate",
        "account_logout",
        "set_language",
        "healthz",
    }
)


def two_factor_enrolment_required(user: Any) -> bool:
    """Whether the user's role needs two-factor login and they have no authenticator app yet."""
    if not requires_two_factor(user):
        return False
    return not Authenticator.objects.filter(user_id=user.pk, type=Authenticator.Type.TOTP).exists()


@receiver(user_logged_in)
def _settle_two_factor_at_login(
    sender: type[Any], request: HttpRequest | None, user: Any, **kwargs: Any
) -> None:
    if request is not None and hasattr(request, "session") and not two_factor_enrolment_required(user):
        request.session[SESSION_TWO_FACTOR_SETTLED_KEY] = _settled_as(user)


# What the session's check found: the user's roles needed two-factor login
# (and they have it), or they did not. The second is looked at again when the
# selected membership's role turns out to need it: a line user raised to
# administrator during the session must set two-factor up before going on.
SETTLED_REQUIRED = "required"
SETTLED_NOT_REQUIRED = "not_required"


def _settled_as(user: Any) -> str:
    return SETTLED_REQUIRED if requires_two_factor(user) else SETTLED_NOT_REQUIRED


def _raised_since_settled(request: HttpRequest, settled: object) -> bool:
    """Whether the selected membership now needs two-factor login though the session's check said not."""
    membership = getattr(request, "membership", None)
    return (
        settled == SETTLED_NOT_REQUIRED
        and membership is not None
        and (membership.role in (Role.ADMIN, Role.LEGAL_REP))
    )


class TwoFactorEnrolmentMiddleware:
    """Sends administrators, legal representatives and staff without TOTP to set it up.

    They must log in with two factors (selfcare.permissions.requires_two_factor).
    Users created by the provisioning feed or an invitation have none at their
    first login: until they activate an authenticator app, every page but the
    enrolment ones sends them there.
    """

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponseBase]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponseBase:
        return self.get_response(request)

    def process_view(
        self,
        request: HttpRequest,
        view_func: Callable[..., HttpResponseBase],
        view_args: tuple[Any, ...],
        view_kwargs: dict[str, Any],
    ) -> HttpResponseBase | None:
        if not request.user.is_authenticated:
            return None
        settled = request.session.get(SESSION_TWO_FACTOR_SETTLED_KEY)
        # The role is on the request already: re-checking a raised role costs no query.
        if settled and not _raised_since_settled(request, settled):
            return None
        if not two_factor_enrolment_required(request.user):
            request.session[SESSION_TWO_FACTOR_SETTLED_KEY] = _settled_as(request.user)
            return None
        # The enrolment page reads this to say why the user is there.
        request.two_factor_enrolment_required = True  # type: ignore[attr-defined]
        match = request.resolver_match
        if (match is not None and match.url_name in ENROLMENT_URL_NAMES) or request.path.startswith(
            settings.STATIC_URL
        ):
            return None
        if request.path.startswith("/api/"):
            # An API client cannot follow a redirect to a page: it gets the reason.
            return JsonResponse(
                {"detail": gettext("Set up two-factor authentication in the portal first.")}, status=403
            )
        enrolment_url = reverse("mfa_activate_totp")
        if getattr(request, "htmx", False):
            # An htmx request would swap the enrolment page into a fragment.
            return HttpResponseClientRedirect(enrolment_url)
        return HttpResponseRedirect(enrolment_url)


# ---------------------------------------------------------------------------
# Sensitive actions
# ---------------------------------------------------------------------------
_View = TypeVar("_View", bound=Callable[..., HttpResponseBase])


def sensitive_action(view_func: _View) -> _View:
    """Asks for the password again before the view runs, then never lets its page be cached.

    For pages that show a secret (PIN and PUK, eSIM activation codes,
    numbers in clear): unless the user confirmed their password in the last
    ACCOUNT_REAUTHENTICATION_TIMEOUT seconds, allauth sends them to confirm
    it and then back here, replaying a POST. The response carries
    `Cache-Control: no-store` (ARCHITECTURE.md, "Secrets at rest").
    """
    # No `app`: allauth then always requires a recent reauthentication.
    return cast(_View, never_cache(reauthentication_required(view_func)))


class ReauthenticationRequiredMixin(View):
    """`sensitive_action` for class-based views: put it first among the bases."""

    @method_decorator(sensitive_action)
    def dispatch(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponseBase:
        return super().dispatch(request, *args, **kwargs)


def rate_limited(request: HttpRequest) -> HttpResponse:
    """The page of allauth's request rate limits (selfcare.urls.handler429)."""
    return render(request, "account/rate_limited.html", status=429)
