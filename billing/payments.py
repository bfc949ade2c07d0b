"""The payment provider: one interface for recharges and invoice payments, and the sandbox provider.

A payment goes through the provider's hosted page: the portal creates a
pending `Payment`, asks the provider for the address of its page
(`start`) and sends the browser there; the card is typed on the provider's
page, never on ours. The provider then tells the portal the outcome with a
signed callback (`verify_callback` checks the signature and reads it), and
sends the browser back to the return address. The callback, not the
browser's return, is what pays: a browser can be closed or forged.

`PAYMENT_PROVIDER` names the provider: "sandbox" (below) or a real
provider's class by dotted path, constructed without arguments and
implementing `PaymentProvider`.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
import time
import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from enum import StrEnum
from typing import TYPE_CHECKING, Any, Protocol, cast
from urllib.parse import urlencode, urljoin

from django.conf import settings
from django.core import signing
from django.http import HttpRequest
from django.urls import reverse
from django.utils.module_loading import import_string

if TYPE_CHECKING:
    from billing.models import Payment


class PaymentOutcome(StrEnum):
    PAID = "paid"
    FAILED = "failed"


@dataclass(frozen=True)
class ProviderEvent:
    """One verified callback of the provider, in the portal's terms."""

    provider: str
    event_id: str
    payment_reference: uuid.UUID
    outcome: PaymentOutcome
    amount: Decimal
    currency: str
    provider_reference: str = ""
    failure_reason: str = ""
    payload: dict[str, Any] = field(default_factory=dict)


class CallbackRejectedError(Exception):
    """A callback that the provider did not sign, that is too old, or that cannot be read: nothing is done."""


class PaymentsUnavailableError(Exception):
    """No payment provider is configured (production without PAYMENT_PROVIDER)."""


class PaymentProvider(Protocol):
    """What the portal needs of a payment provider."""

    name: str

    def start(self, *, payment: Payment, return_url: str) -> str:
        """Open a payment session for `payment`; the address of the provider's hosted page.

        `return_url` is where the provider sends the browser back, whatever
        the outcome.
        """
        ...

    def verify_callback(self, *, request: HttpRequest) -> ProviderEvent:
        """Check the callback's signature and read it; raises CallbackRejectedError."""
        ...


def payment_provider() -> PaymentProvider:
    """The provider that PAYMENT_PROVIDER names."""
    name = settings.PAYMENT_PROVIDER
    if not name:
        raise PaymentsUnavailableError("no payment provider is configured (PAYMENT_PROVIDER)")
    if name == SandboxProvider.name:
        return SandboxProvider()
    provider_class = import_string(name)
    provider: PaymentProvider = provider_class()
    return provider


# ---------------------------------------------------------------------------
# The sandbox: a provider simulated inside the portal
# ---------------------------------------------------------------------------
# Test cards, as real providers publish theirs: one that pays, two that fail.
SANDBOX_CARDS: dict[str, tuple[PaymentOutcome, str]] = {
    "4242424242424242": (PaymentOutcome.PAID, ""),
    "4000000000000002": (PaymentOutcome.FAILED, "card_declined"),
    "4000000000009995": (PaymentOutcome.FAILED, "insufficient_funds"),
}
SANDBOX_PAYING_CARD = "4242424242424242"
SANDBOX_DECLINED_CARD = "4000000000000002"


class SandboxProvider:
    """A hosted payment page that lives in the portal, for development, demos and tests.

    Its page is /payments/sandbox/<reference>/ (billing.views.SandboxPageView):
    it shows the amount and a card form that takes only the test cards
    above. When the form is sent, the sandbox does what a real provider's
    server does: it builds the callback (a JSON body signed with
    HMAC-SHA256 over "<timestamp>.<body>", in the header
    `X-Sandbox-Signature: t=<timestamp>,v1=<hex>`), delivers it to the
    portal, and sends the browser to the return address.

    Delivery is in-process: the page hands the signed bytes to
    `verify_signed` and then to the same service the callback endpoint
    calls (billing.services.payment_callback_receive), rather than an HTTP
    request to the portal's own public address, which a server behind a
    load balancer often cannot reach. The bytes, the signature and the
    checks are those of /payments/callback/sandbox/, which the tests call
    over HTTP.
    """

    name = "sandbox"
    SIGNATURE_HEADER = "X-Sandbox-Signature"
    # A callback older than this (or this far in the future) is refused: a
    # captured callback cannot be replayed later.
    TOLERANCE_SECONDS = 5 * 60
    _SESSION_SALT = "billing.sandbox.session"

    def __init__(self, *, secret: str | None = None) -> None:
        self._secret = (secret or settings.PAYMENT_SANDBOX_SECRET).encode()

    # The hosted page ---------------------------------------------------------
    def start(self, *, payment: Payment, return_url: str) -> str:
        # The sandbox's page is served by the portal at the address the
        # browser already uses (that of `return_url`). The return address
        # travels signed, as a real provider keeps it in its session: the
        # page cannot be made to send the browser elsewhere.
        session = signing.dumps(
            {"return_url": return_url, "payment": str(payment.reference)}, salt=self._SESSION_SALT
        )
        page = reverse("billing:sandbox-page", kwargs={"reference": payment.reference})
        return f"{urljoin(return_url, page)}?{urlencode({'session': session})}"

    def return_url_of(self, *, session: str, payment: Payment) -> str | None:
        """The return address a session of `start` carries, or None if it is not one of ours for `payment`."""
        try:
            data = signing.loads(session, salt=self._SESSION_SALT, max_age=24 * 3600)
        except signing.BadSignature:
            return None
        if not isinstance(data, dict) or data.get("payment") != str(payment.reference):
            return None
        return_url = data.get("return_url")
        return return_url if isinstance(return_url, str) else None

    # The callback ------------------------------------------------------------
    def callback_body(self, *, payment: Payment, outcome: PaymentOutcome, failure_reason: str = "") -> bytes:
        """The JSON body of the callback the sandbox sends for `payment`."""
        event = {
            "id": f"evt_{uuid.uuid4().hex}",
            "type": f"payment.{outcome}",
            "data": {
                "reference": str(payment.reference),
                "amount": f"{payment.amount:.2f}",
                "currency": payment.currency,
                "provider_reference": f"sbx_{hashlib.sha256(str(payment.reference).encode()).hexdigest()[:20]}",
                "failure_reason": failure_reason,
            },
        }
        return json.dumps(event, separators=(",", ":")).encode()

    def sign(self, *, body: bytes, timestamp: int | None = None) -> str:
        """The signature header's value for `body`, at `timestamp` (now by default)."""
        timestamp = int(time.time()) if timestamp is None else timestamp
        return f"t={timestamp},v1={self._digest(body=body, timestamp=timestamp)}"

    def _digest(self, *, body: bytes, timestamp: int) -> str:
        return hmac.new(self._secret, str(timestamp).encode() + b"." + body, hashlib.sha256).hexdigest()

    def verify_callback(self, *, request: HttpRequest) -> ProviderEvent:
        return self.verify_signed(body=request.body, signature=request.headers.get(self.SIGNATURE_HEADER, ""))

    def verify_signed(self, *, body: bytes, signature: str, now: float | None = None) -> ProviderEvent:
        """Check the signature and its age, then read the event."""
        self.verify_signed_body(body=body, signature=signature, now=now)
        return self._event_of(body)

    def _event_of(self, body: bytes) -> ProviderEvent:
        try:
            event = json.loads(body)
            data = event["data"]
            kind = str(event["type"])
            if not kind.startswith("payment."):
                raise ValueError(kind)
            return ProviderEvent(
                provider=self.name,
                event_id=str(event["id"])[:100],
                payment_reference=uuid.UUID(str(data["reference"])),
                outcome=PaymentOutcome(kind.removeprefix("payment.")),
                amount=Decimal(str(data["amount"])),
                currency=str(data["currency"]),
                provider_reference=str(data.get("provider_reference", ""))[:100],
                failure_reason=str(data.get("failure_reason", ""))[:200],
                payload=event,
            )
        except (ValueError, KeyError, TypeError, InvalidOperation) as error:
            raise CallbackRejectedError("unreadable event") from error

    # Card registration (payment method by card) ------------------------------
    # The same hosted-page pattern as a payment: the portal sends the browser
    # to the provider's card page with a signed session; the provider keeps the
    # card and sends the browser back to the portal with a signed result that
    # carries only the token, the brand, the last four digits and the expiry.
    _CARD_SESSION_SALT = "billing.sandbox.card-session"
    CARD_SETUP_TYPE = "card.registered"

    def card_setup_start(self, *, nonce: str, return_url: str) -> str:
        """The address of the provider's card page for a registration the portal knows by `nonce`."""
        session = signing.dumps({"return_url": return_url, "nonce": nonce}, salt=self._CARD_SESSION_SALT)
        page = reverse("billing:sandbox-card-page")
        return f"{urljoin(return_url, page)}?{urlencode({'session': session})}"

    def card_session_of(self, *, session: str) -> CardSetupSession | None:
        """The return address and nonce a session of `card_setup_start` carries, or None if it is not ours."""
        try:
            data = signing.loads(session, salt=self._CARD_SESSION_SALT, max_age=3600)
        except signing.BadSignature:
            return None
        if not isinstance(data, dict):
            return None
        return_url, nonce = data.get("return_url"), data.get("nonce")
        if not isinstance(return_url, str) or not isinstance(nonce, str) or not nonce:
            return None
        return CardSetupSession(return_url=return_url, nonce=nonce)

    def card_setup_return_url(
        self, *, session: CardSetupSession, card_number: str, expiry_month: int, expiry_year: int
    ) -> str:
        """Where the provider's page sends the browser once it has registered the card: the signed result.

        What the provider's server does: keep the card (here: nowhere, it is a
        sandbox), make a token for it, and sign what the portal may know.
        """
        body = json.dumps(
            {
                "id": f"seti_{uuid.uuid4().hex}",
                "type": self.CARD_SETUP_TYPE,
                "data": {
                    "nonce": session.nonce,
                    "token": f"tok_sbx_{uuid.uuid4().hex}",
                    "brand": SANDBOX_CARD_BRANDS[card_number],
                    "last4": card_number[-4:],
                    "exp_month": expiry_month,
                    "exp_year": expiry_year,
                },
            },
            separators=(",", ":"),
        ).encode()
        query = urlencode(
            {"setup": base64.urlsafe_b64encode(body).decode(), "signature": self.sign(body=body)}
        )
        separator = "&" if "?" in session.return_url else "?"
        return f"{session.return_url}{separator}{query}"

    def verify_card_setup(self, *, params: Mapping[str, str], now: float | None = None) -> CardRegistration:
        """Check the signature and age of a card registration's result, then read it.

        Raises CardSetupRejectedError for anything the provider did not sign
        for a card registration (a payment callback's body included), or that
        is older than TOLERANCE_SECONDS.
        """
        try:
            body = base64.urlsafe_b64decode(params.get("setup", "").encode())
        except (ValueError, binascii.Error) as error:
            raise CardSetupRejectedError("unreadable result") from error
        try:
            self.verify_signed_body(body=body, signature=params.get("signature", ""), now=now)
        except CallbackRejectedError as error:
            raise CardSetupRejectedError(str(error)) from error
        try:
            event = json.loads(body)
            data = event["data"]
            if event["type"] != self.CARD_SETUP_TYPE:
                raise ValueError(event["type"])
            registration = CardRegistration(
                provider=self.name,
                setup_id=str(event["id"])[:100],
                nonce=str(data["nonce"]),
                token=str(data["token"]),
                brand=str(data["brand"]),
                last4=str(data["last4"]),
                expiry_month=int(data["exp_month"]),
                expiry_year=int(data["exp_year"]),
            )
        except (ValueError, KeyError, TypeError) as error:
            raise CardSetupRejectedError("unreadable result") from error
        if (
            not (registration.last4.isdigit() and len(registration.last4) == 4)
            or len(registration.token) > 100
        ):
            raise CardSetupRejectedError("unreadable result")
        return registration

    def verify_signed_body(self, *, body: bytes, signature: str, now: float | None = None) -> None:
        """The signature, then its age; the body is read by the caller (a payment event, a card registration)."""
        parts = dict(part.split("=", 1) for part in signature.split(",") if "=" in part)
        try:
            timestamp = int(parts["t"])
            digest = parts["v1"]
        except (KeyError, ValueError) as error:
            raise CallbackRejectedError("missing or malformed signature") from error
        # Compared in constant time: a timing difference would leak the digest.
        if not hmac.compare_digest(digest, self._digest(body=body, timestamp=timestamp)):
            raise CallbackRejectedError("bad signature")
        current = time.time() if now is None else now
        if abs(current - timestamp) > self.TOLERANCE_SECONDS:
            raise CallbackRejectedError("stale signature")


# ---------------------------------------------------------------------------
# Card registration: the provider keeps the card, the portal keeps a token
# ---------------------------------------------------------------------------
# The sandbox's cards that register, with their brand; the declining test
# cards (SANDBOX_CARDS) are refused on its card page as a bank would.
SANDBOX_CARD_BRANDS: dict[str, str] = {
    "4242424242424242": "Visa",
    "5555555555554444": "Mastercard",
}


@dataclass(frozen=True)
class CardSetupSession:
    """What the provider's card page keeps of the portal's request: where to return, and the portal's nonce."""

    return_url: str
    nonce: str


@dataclass(frozen=True)
class CardRegistration:
    """A card the provider registered, as the portal may keep it: never the card's number.

    `nonce` is the portal's one-time value the registration was started
    with: the portal accepts the result only in the session that started it.
    """

    provider: str
    setup_id: str
    nonce: str
    token: str
    brand: str
    last4: str
    expiry_month: int
    expiry_year: int


class CardSetupRejectedError(Exception):
    """A card registration's result that the provider did not sign, that is too old, or that cannot be read."""


class CardTokenisingProvider(Protocol):
    """What the portal needs of a provider to register a card as the company's payment method."""

    name: str

    def card_setup_start(self, *, nonce: str, return_url: str) -> str:
        """The address of the provider's card page; it sends the browser back to `return_url` with the result."""
        ...

    def verify_card_setup(self, *, params: Mapping[str, str], now: float | None = None) -> CardRegistration:
        """Check the result's signature and age and read it; raises CardSetupRejectedError."""
        ...


def card_provider() -> CardTokenisingProvider:
    """The configured provider, if it registers cards; PaymentsUnavailableError otherwise."""
    provider = payment_provider()
    if not (hasattr(provider, "card_setup_start") and hasattr(provider, "verify_card_setup")):
        raise PaymentsUnavailableError(f"the payment provider {provider.name} does not register cards")
    return cast("CardTokenisingProvider", provider)
