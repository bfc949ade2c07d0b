"""The company's payment method: SEPA direct debit, card through the provider, bank transfer (DOMAIN.md)."""

from __future__ import annotations

import base64
import json
import time
from datetime import timedelta
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
from auditlog.models import LogEntry
from django.contrib.auth.models import Group
from django.core import mail
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import connection
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from billing.models import PaymentMethod, PaymentMethodKind
from billing.payment_methods import (
    SepaMandate,
    payment_method_set,
    payment_methods_for_invoices,
)
from billing.payments import CardRegistration, CardSetupRejectedError, SandboxProvider
from selfcare.models import Channel, Membership, Notification
from selfcare.services.notifications import notification_deliver
from tests.cast import Cast
from tests.conftest import log_in
from tests.factories import UserFactory, give_totp

pytestmark = pytest.mark.django_db

IBAN = "IT60X0542811101000000123456"
IBAN_AS_TYPED = "IT60 X054 2811 1010 0000 0123 456"
MASKED_IBAN = "IT** **** **** 3456"
# The check digits do not match the rest.
IBAN_WITH_A_TYPO = "IT60X0542811101000000123457"
# A German IBAN has 22 characters: one digit is missing.
GERMAN_IBAN_ONE_DIGIT_SHORT = "DE8937040044053201300"
# A valid IBAN, but Brazil is outside the SEPA area.
BRAZILIAN_IBAN = "BR1800360305000010009795493C1"

PAGE = "billing:payment-method"


def sepa_fields(**overrides: str) -> dict[str, str]:
    fields = {
        "kind": PaymentMethodKind.SEPA_DIRECT_DEBIT,
        "iban": IBAN_AS_TYPED,
        "account_holder": "Rossi Impianti S.r.l.",
        "holder_tax_id": "IT01234560017",
        "mandate_reference": "RSS-2026/0001",
        "mandate_signed_on": (timezone.localdate() - timedelta(days=3)).isoformat(),
    }
    return {**fields, **overrides}


def sepa_mandate(**overrides: Any) -> SepaMandate:
    fields = sepa_fields()
    fields.pop("kind")
    values: dict[str, Any] = {**fields, "mandate_signed_on": timezone.localdate(), **overrides}
    return SepaMandate(**values)


def nothing_changed(cast: Cast) -> None:
    assert not PaymentMethod.objects.filter(company=cast.rossi).exists()
    assert not Notification.objects.filter(event="payment_method_changed").exists()
    assert not LogEntry.objects.filter(additional_data__event="payment_method_changed").exists()


def deliver_emails() -> None:
    for notification in Notification.objects.filter(event="payment_method_changed", channel=Channel.EMAIL):
        notification_deliver(notification_id=notification.pk)


# ---------------------------------------------------------------------------
# The page: SEPA direct debit and bank transfer
# ---------------------------------------------------------------------------
def test_an_admin_sets_a_sepa_direct_debit_stored_encrypted_audited_and_confirmed_by_email(
    cast: Cast, client_as: Any
) -> None:
    client = client_as(cast.rossi_admin)
    before = payment_method_set(membership=cast.rossi_legal_rep, kind=PaymentMethodKind.BANK_TRANSFER)
    Notification.objects.all().delete()

    response = client.post(reverse(PAGE), sepa_fields(), HTTP_ACCEPT_LANGUAGE="en")

    assert response.status_code == 302
    method = PaymentMethod.objects.current().get(company=cast.rossi)
    assert method.kind == PaymentMethodKind.SEPA_DIRECT_DEBIT
    assert (method.iban, method.iban_last4, method.masked_iban) == (IBAN, "3456", MASKED_IBAN)
    assert method.holder_tax_id == "IT01234560017"
    assert method.mandate_reference == "RSS-2026/0001"
    assert method.created_by == cast.rossi_admin.user
    # The previous method is kept, superseded: the history of who paid how.
    before.refresh_from_db()
    assert before.superseded_at is not None
    # At rest the IBAN is a ciphertext.
    with connection.cursor() as cursor:
        cursor.execute("SELECT iban FROM billing_paymentmethod WHERE id = %s", [method.pk])
        stored = cursor.fetchone()[0]
    assert IBAN not in stored
    assert "3456" not in stored
    audit = LogEntry.objects.get(additional_data__event="payment_method_changed", object_pk=str(method.pk))
    assert audit.actor == cast.rossi_admin.user
    assert audit.additional_data["previous_kind"] == PaymentMethodKind.BANK_TRANSFER
    assert IBAN not in json.dumps(audit.additional_data)
    # The admins and the legal representative are told; the line user and Bianchi are not.
    emailed = set(
        Notification.objects.filter(event="payment_method_changed", channel=Channel.EMAIL).values_list(
            "user__email", flat=True
        )
    )
    assert emailed == {"anna@rossi.example", "marco@rossi.example"}
    deliver_emails()
    assert sorted(message.to[0] for message in mail.outbox) == ["anna@rossi.example", "marco@rossi.example"]
    for message in mail.outbox:
        assert MASKED_IBAN in message.body
        assert IBAN not in message.body
        assert IBAN not in message.subject

    page = client.get(response["Location"], HTTP_ACCEPT_LANGUAGE="en")
    content = page.content.decode()
    assert "It takes effect from the next invoice" in content
    assert MASKED_IBAN in content
    assert IBAN not in content
    assert "X0542811101000000123456" not in content
    assert page["Cache-Control"].count("no-store") == 1


def test_the_change_applies_from_the_next_invoice_and_leaves_nothing_else(cast: Cast) -> None:
    assert payment_methods_for_invoices(company_ids=[cast.rossi.pk]) == {}

    payment_method_set(
        membership=cast.rossi_admin, kind=PaymentMethodKind.SEPA_DIRECT_DEBIT, sepa=sepa_mandate()
    )

    kind, details = payment_methods_for_invoices(company_ids=[cast.rossi.pk, cast.bianchi.pk])[cast.rossi.pk]
    assert kind == PaymentMethodKind.SEPA_DIRECT_DEBIT
    assert MASKED_IBAN in details
    assert IBAN not in details
    assert cast.bianchi.pk not in payment_methods_for_invoices(company_ids=[cast.bianchi.pk])


def test_a_legal_rep_goes_back_to_bank_transfer(cast: Cast, client_as: Any) -> None:
    payment_method_set(
        membership=cast.rossi_admin, kind=PaymentMethodKind.SEPA_DIRECT_DEBIT, sepa=sepa_mandate()
    )
    client = client_as(cast.rossi_legal_rep)

    response = client.post(reverse(PAGE), {"kind": PaymentMethodKind.BANK_TRANSFER})

    assert response.status_code == 302
    current = PaymentMethod.objects.current().get(company=cast.rossi)
    assert current.kind == PaymentMethodKind.BANK_TRANSFER
    assert (current.iban, current.iban_last4) == ("", "")
    assert PaymentMethod.objects.filter(company=cast.rossi).count() == 2


@pytest.mark.parametrize(
    ("fields", "field", "message"),
    [
        ({"iban": IBAN_WITH_A_TYPO}, "iban", "This IBAN is not valid"),
        ({"iban": GERMAN_IBAN_ONE_DIGIT_SHORT}, "iban", "An IBAN of DE has 22 characters; this one has 21."),
        ({"iban": BRAZILIAN_IBAN}, "iban", "BR is outside it"),
        ({"iban": "XY12 3456"}, "iban", "XY is not the code of a country with IBANs"),
        ({"iban": ""}, "iban", "required for a SEPA direct debit"),
        ({"holder_tax_id": "RSSMRA80A01H501X"}, "holder_tax_id", "is not a valid Italian tax code"),
        ({"holder_tax_id": "IT01234560018"}, "holder_tax_id", "is not a valid Italian VAT number"),
        ({"account_holder": ""}, "account_holder", "required for a SEPA direct debit"),
        ({"mandate_reference": "/RSS//1"}, "mandate_reference", "does not start or end with /"),
        (
            {"mandate_signed_on": (timezone.localdate() + timedelta(days=2)).isoformat()},
            "mandate_signed_on",
            "cannot be in the future",
        ),
    ],
)
def test_bad_sepa_details_are_refused_clearly_and_nothing_changes(
    cast: Cast, client_as: Any, fields: dict[str, str], field: str, message: str
) -> None:
    client = client_as(cast.rossi_admin)

    response = client.post(reverse(PAGE), sepa_fields(**fields), HTTP_ACCEPT_LANGUAGE="en")

    assert response.status_code == 400
    assert message in " ".join(response.context["form"].errors[field])
    assert f'id="id_{field}-error"' in response.content.decode()
    nothing_changed(cast)


def test_the_service_refuses_bad_details_on_its_own(cast: Cast) -> None:
    # The same rules whoever calls it (page, API, a command): not only the form's.
    with pytest.raises(ValidationError) as refused:
        payment_method_set(
            membership=cast.rossi_admin,
            kind=PaymentMethodKind.SEPA_DIRECT_DEBIT,
            sepa=sepa_mandate(iban=GERMAN_IBAN_ONE_DIGIT_SHORT),
        )

    assert "iban" in refused.value.message_dict
    nothing_changed(cast)


@pytest.mark.parametrize("method", ["get", "post"])
def test_a_line_user_is_refused_the_page(cast: Cast, client_as: Any, method: str) -> None:
    client = client_as(cast.rossi_line_user)

    response = getattr(client, method)(reverse(PAGE), sepa_fields() if method == "post" else {})

    assert response.status_code == 403
    nothing_changed(cast)


def test_a_line_user_cannot_change_it_through_the_service_either(cast: Cast) -> None:
    with pytest.raises(PermissionDenied):
        payment_method_set(membership=cast.rossi_line_user, kind=PaymentMethodKind.BANK_TRANSFER)

    nothing_changed(cast)


def test_the_page_shows_the_current_method_and_bank_transfer_by_default(cast: Cast, client_as: Any) -> None:
    client = client_as(cast.rossi_admin)

    default = client.get(reverse(PAGE), HTTP_ACCEPT_LANGUAGE="en").content.decode()
    payment_method_set(
        membership=cast.bianchi_admin, kind=PaymentMethodKind.SEPA_DIRECT_DEBIT, sepa=sepa_mandate()
    )
    after_bianchi = client.get(reverse(PAGE), HTTP_ACCEPT_LANGUAGE="en").content.decode()

    assert "Each invoice is paid by bank transfer" in default
    assert 'id="kind-bank_transfer" value="bank_transfer"' in default
    # Bianchi's mandate is not Rossi's.
    assert MASKED_IBAN not in after_bianchi


def test_the_invoice_list_and_the_settings_link_to_the_page(cast: Cast, client_as: Any) -> None:
    client = client_as(cast.rossi_admin)
    url = reverse(PAGE)

    assert f'href="{url}"' in client.get(reverse("billing:invoice-list")).content.decode()
    assert f'href="{url}"' in client.get(reverse("selfcare:settings")).content.decode()


# ---------------------------------------------------------------------------
# The card, through the provider's (sandbox) card page
# ---------------------------------------------------------------------------
def start_card_registration(client: Client) -> str:
    """'Register a card' on the portal: the address of the provider's card page."""
    response = client.post(reverse("billing:payment-method-card-start"))
    assert response.status_code == 302
    assert response["Location"].split("?")[0].endswith(reverse("billing:sandbox-card-page"))
    return str(response["Location"])


def register_on_the_sandbox(client: Client, card_page: str, *, card: str = "4242 4242 4242 4242") -> str:
    """Type the card on the provider's page: the portal's return address with the signed result."""
    expiry = f"12/{(timezone.localdate().year + 3) % 100:02d}"
    response = client.post(card_page, {"card_number": card, "expiry": expiry, "cvc": "123"})
    assert response.status_code == 302, response.content
    return str(response["Location"])


def path_of(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.path}?{parts.query}"


def test_an_admin_registers_a_card_through_the_provider_and_only_its_token_brand_last4_and_expiry_are_kept(
    cast: Cast, client_as: Any
) -> None:
    client = client_as(cast.rossi_admin)

    card_page = start_card_registration(client)
    assert client.get(path_of(card_page)).status_code == 200
    back = register_on_the_sandbox(client, path_of(card_page))
    assert urlsplit(back).path == reverse("billing:payment-method-card-return")
    assert "4242424242424242" not in back
    response = client.get(path_of(back), HTTP_ACCEPT_LANGUAGE="en")

    assert response.status_code == 302
    method = PaymentMethod.objects.current().get(company=cast.rossi)
    assert method.kind == PaymentMethodKind.CARD
    assert method.card_token.startswith("tok_sbx_")
    assert (method.card_brand, method.card_last4, method.card_expiry_month) == ("Visa", "4242", 12)
    assert method.card_expiry_year == timezone.localdate().year + 3
    assert (method.iban, method.account_holder) == ("", "")
    assert LogEntry.objects.filter(
        additional_data__event="payment_method_changed", object_pk=str(method.pk)
    ).exists()
    assert Notification.objects.filter(event="payment_method_changed", channel=Channel.EMAIL).count() == 2
    page = client.get(reverse(PAGE), HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert "Visa ending in 4242" in page
    assert method.card_token not in page
    assert "4242424242424242" not in page


def test_choosing_card_in_the_form_goes_to_the_providers_page(cast: Cast, client_as: Any) -> None:
    client = client_as(cast.rossi_admin)

    response = client.post(reverse(PAGE), {"kind": PaymentMethodKind.CARD})

    assert response.status_code == 302
    assert reverse("billing:sandbox-card-page") in response["Location"]
    nothing_changed(cast)


def test_a_replayed_card_result_is_refused(cast: Cast, client_as: Any) -> None:
    client = client_as(cast.rossi_admin)
    back = path_of(register_on_the_sandbox(client, path_of(start_card_registration(client))))
    client.get(back)

    replayed = client.get(back, HTTP_ACCEPT_LANGUAGE="en", follow=True)

    assert "was not started here or was already used" in replayed.content.decode()
    assert PaymentMethod.objects.filter(company=cast.rossi).count() == 1


def test_a_card_result_replayed_in_a_new_registration_is_refused_by_its_token(
    cast: Cast, client_as: Any
) -> None:
    client = client_as(cast.rossi_admin)
    back = path_of(register_on_the_sandbox(client, path_of(start_card_registration(client))))
    client.get(back)
    # A new registration gives a new nonce; the old result's token was already used.
    start_card_registration(client)
    query = {key: values[0] for key, values in parse_qs(urlsplit(back).query).items()}
    registration = SandboxProvider().verify_card_setup(params=query)
    # Even with the session expecting that result's nonce again:
    session = client.session
    session["billing.payment_method.card_setup"] = {"nonce": registration.nonce, "company": cast.rossi.pk}
    session.save()

    replayed = client.get(back, HTTP_ACCEPT_LANGUAGE="en", follow=True)

    assert "already used" in replayed.content.decode()
    assert PaymentMethod.objects.filter(company=cast.rossi).count() == 1


def tampered(back: str, **changes: Any) -> str:
    """The return address with the result's data changed, its signature kept."""
    parts = urlsplit(back)
    query = {k: v[0] for k, v in parse_qs(parts.query).items()}
    event = json.loads(base64.urlsafe_b64decode(query["setup"]))
    event["data"].update(changes)
    query["setup"] = base64.urlsafe_b64encode(json.dumps(event, separators=(",", ":")).encode()).decode()
    return f"{parts.path}?setup={query['setup']}&signature={query['signature']}"


def test_a_tampered_card_result_is_refused(cast: Cast, client_as: Any) -> None:
    client = client_as(cast.rossi_admin)
    back = register_on_the_sandbox(client, path_of(start_card_registration(client)))

    response = client.get(tampered(back, last4="0000"), HTTP_ACCEPT_LANGUAGE="en", follow=True)

    assert "The card could not be registered: nothing has changed." in response.content.decode()
    nothing_changed(cast)


def test_a_card_result_started_in_another_session_is_refused(cast: Cast, client_as: Any) -> None:
    # Someone's genuine result, opened in the admin's browser: not the admin's registration.
    other = log_in(Client(), cast.rossi_legal_rep)
    back = path_of(register_on_the_sandbox(other, path_of(start_card_registration(other))))
    client = client_as(cast.rossi_admin)

    response = client.get(back, HTTP_ACCEPT_LANGUAGE="en", follow=True)

    assert "was not started here" in response.content.decode()
    nothing_changed(cast)


def test_a_stale_card_result_is_refused(cast: Cast, client_as: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    client = client_as(cast.rossi_admin)
    card_page = path_of(start_card_registration(client))
    signed_at = time.time() - SandboxProvider.TOLERANCE_SECONDS - 60
    monkeypatch.setattr(time, "time", lambda: signed_at)
    back = register_on_the_sandbox(client, card_page)
    monkeypatch.undo()

    response = client.get(path_of(back), HTTP_ACCEPT_LANGUAGE="en", follow=True)

    assert "The card could not be registered" in response.content.decode()
    nothing_changed(cast)


def test_the_providers_page_refuses_an_expired_card_and_a_declined_one(cast: Cast, client_as: Any) -> None:
    client = client_as(cast.rossi_admin)
    card_page = path_of(start_card_registration(client))
    last_month = timezone.localdate().replace(day=1) - timedelta(days=1)

    expired = client.post(
        card_page,
        {"card_number": "4242424242424242", "expiry": f"{last_month:%m/%y}", "cvc": "123"},
        HTTP_ACCEPT_LANGUAGE="en",
    )
    declined = client.post(
        card_page,
        {"card_number": "4000 0000 0000 0002", "expiry": "12/40", "cvc": "123"},
        HTTP_ACCEPT_LANGUAGE="en",
    )

    assert expired.status_code == 400
    assert "This card has expired" in expired.content.decode()
    assert declined.status_code == 400
    assert "Your bank declined the card" in declined.content.decode()
    nothing_changed(cast)


def test_the_service_refuses_an_expired_card(cast: Cast) -> None:
    last_month = timezone.localdate().replace(day=1) - timedelta(days=1)
    card = CardRegistration(
        provider="sandbox",
        setup_id="seti_1",
        nonce="n",
        token="tok_sbx_expired",
        brand="Visa",
        last4="4242",
        expiry_month=last_month.month,
        expiry_year=last_month.year,
    )

    with pytest.raises(ValidationError, match="This card has expired"):
        payment_method_set(membership=cast.rossi_admin, kind=PaymentMethodKind.CARD, card=card)

    nothing_changed(cast)


def test_the_providers_card_page_needs_a_session_of_the_portal(cast: Cast, client_as: Any) -> None:
    client = client_as(cast.rossi_admin)

    assert client.get(reverse("billing:sandbox-card-page")).status_code == 404
    assert client.get(reverse("billing:sandbox-card-page") + "?session=forged").status_code == 404


def test_a_payment_callback_body_is_not_a_card_registration(cast: Cast) -> None:
    provider = SandboxProvider()
    body = json.dumps({"id": "evt_1", "type": "payment.paid", "data": {}}).encode()
    params = {"setup": base64.urlsafe_b64encode(body).decode(), "signature": provider.sign(body=body)}

    with pytest.raises(CardSetupRejectedError, match="unreadable"):
        provider.verify_card_setup(params=params)


# ---------------------------------------------------------------------------
# The API
# ---------------------------------------------------------------------------
API = "api:payment-method"


def test_the_api_shows_bank_transfer_by_default_then_the_masked_sepa_mandate(
    cast: Cast, api_client_for: Any
) -> None:
    api = api_client_for(cast.rossi_admin)

    default = api.get(reverse(API))
    changed = api.put(reverse(API), sepa_fields(), format="json")
    shown = api.get(reverse(API))

    assert default.status_code == 200
    assert default.json()["kind"] == "bank_transfer"
    assert default.json()["set_at"] is None
    assert changed.status_code == 200, changed.json()
    assert shown.json()["kind"] == "sepa_direct_debit"
    assert shown.json()["masked_iban"] == MASKED_IBAN
    assert IBAN not in shown.content.decode()
    assert IBAN not in changed.content.decode()
    assert "iban" not in shown.json()
    assert "card_token" not in shown.json()
    method = PaymentMethod.objects.current().get(company=cast.rossi)
    assert method.iban == IBAN
    assert Notification.objects.filter(event="payment_method_changed", channel=Channel.EMAIL).count() == 2


@pytest.mark.parametrize(
    ("fields", "field"),
    [
        ({"iban": IBAN_WITH_A_TYPO}, "iban"),
        ({"iban": GERMAN_IBAN_ONE_DIGIT_SHORT}, "iban"),
        ({"mandate_signed_on": (timezone.localdate() + timedelta(days=2)).isoformat()}, "mandate_signed_on"),
        ({"kind": "card"}, "kind"),
    ],
)
def test_the_api_refuses_bad_details_and_cards_and_nothing_changes(
    cast: Cast, api_client_for: Any, fields: dict[str, str], field: str
) -> None:
    api = api_client_for(cast.rossi_legal_rep)

    response = api.put(reverse(API), sepa_fields(**fields), format="json", HTTP_ACCEPT_LANGUAGE="en")

    assert response.status_code == 400
    assert field in response.json()
    nothing_changed(cast)


def test_the_api_tells_the_german_iban_length(cast: Cast, api_client_for: Any) -> None:
    api = api_client_for(cast.rossi_admin)

    response = api.put(
        reverse(API), sepa_fields(iban=GERMAN_IBAN_ONE_DIGIT_SHORT), format="json", HTTP_ACCEPT_LANGUAGE="en"
    )

    assert response.json()["iban"] == ["An IBAN of DE has 22 characters; this one has 21."]


@pytest.mark.parametrize("method", ["get", "put"])
def test_the_api_refuses_a_line_user(cast: Cast, api_client_for: Any, method: str) -> None:
    api = api_client_for(cast.rossi_line_user)

    response = getattr(api, method)(reverse(API), sepa_fields(), format="json")

    assert response.status_code == 403
    nothing_changed(cast)


def test_the_api_shows_each_company_only_its_own_method(cast: Cast, api_client_for: Any) -> None:
    payment_method_set(
        membership=cast.rossi_admin, kind=PaymentMethodKind.SEPA_DIRECT_DEBIT, sepa=sepa_mandate()
    )

    bianchi = api_client_for(cast.bianchi_admin).get(reverse(API))

    assert bianchi.json()["kind"] == "bank_transfer"
    assert MASKED_IBAN not in bianchi.content.decode()


# ---------------------------------------------------------------------------
# The admin: read-only and masked
# ---------------------------------------------------------------------------
@pytest.fixture
def billing_staff(staff_groups: None) -> Client:
    staff = UserFactory.create(email="fatture@operatore.example.it", is_staff=True)
    give_totp(staff)
    staff.groups.add(Group.objects.get(name="Billing"))
    client = Client()
    client.force_login(staff)
    return client


def test_billing_staff_see_methods_masked_and_cannot_change_them(cast: Cast, billing_staff: Client) -> None:
    sepa = payment_method_set(
        membership=cast.rossi_admin, kind=PaymentMethodKind.SEPA_DIRECT_DEBIT, sepa=sepa_mandate()
    )
    card = payment_method_set(
        membership=cast.bianchi_admin,
        kind=PaymentMethodKind.CARD,
        card=CardRegistration(
            provider="sandbox",
            setup_id="seti_2",
            nonce="n",
            token="tok_sbx_secret_token",
            brand="Visa",
            last4="4242",
            expiry_month=12,
            expiry_year=timezone.localdate().year + 2,
        ),
    )

    listing = billing_staff.get(reverse("admin:billing_paymentmethod_changelist"))
    searched = billing_staff.get(reverse("admin:billing_paymentmethod_changelist"), {"q": "Rossi"})
    filtered = billing_staff.get(reverse("admin:billing_paymentmethod_changelist"), {"kind__exact": "card"})
    sepa_page = billing_staff.get(reverse("admin:billing_paymentmethod_change", args=[sepa.pk]))
    card_page = billing_staff.get(reverse("admin:billing_paymentmethod_change", args=[card.pk]))

    for response in (listing, searched, filtered, sepa_page, card_page):
        assert response.status_code == 200
        content = response.content.decode()
        assert IBAN not in content
        assert "tok_sbx_secret_token" not in content
    assert MASKED_IBAN in listing.content.decode()
    assert MASKED_IBAN in sepa_page.content.decode()
    assert "Visa **** 4242" in card_page.content.decode()
    assert cast.rossi.name in searched.content.decode()
    assert cast.bianchi.name not in searched.content.decode()
    assert cast.bianchi.name in filtered.content.decode()
    assert MASKED_IBAN not in filtered.content.decode()
    assert b'name="_save"' not in sepa_page.content
    assert billing_staff.get(reverse("admin:billing_paymentmethod_add")).status_code == 403


def test_a_second_membership_of_the_same_user_is_notified_once(cast: Cast) -> None:
    # A consultant who is admin of Rossi and Bianchi hears only of the company changed.
    Membership.objects.create(user=cast.bianchi_admin.user, company=cast.rossi, role="admin")

    payment_method_set(membership=cast.rossi_admin, kind=PaymentMethodKind.BANK_TRANSFER)

    emailed = Notification.objects.filter(event="payment_method_changed", channel=Channel.EMAIL)
    assert sorted(emailed.values_list("user__email", flat=True)) == [
        "anna@rossi.example",
        "marco@rossi.example",
        "paolo@bianchi.example",
    ]
    assert set(emailed.values_list("company", flat=True)) == {cast.rossi.pk}
