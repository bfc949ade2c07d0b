"""API tokens: issued once, stored as a hash, scoped to one membership, revocable; the command and the page."""

from __future__ import annotations

import hashlib
from datetime import timedelta
from io import StringIO
from pathlib import Path
from typing import Any

import pytest
import time_machine
from auditlog.models import LogEntry
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.management import CommandError, call_command
from django.test import Client
from django.urls import reverse
from django.utils import timezone
from rest_framework.test import APIClient

from selfcare.models import ApiToken
from selfcare.services.tokens import api_token_create, api_token_revoke
from tests.cast import Cast
from tests.commands import manage, on_the_test_database
from tests.conftest import log_in
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db

BASE_DIR = Path(__file__).resolve().parents[2]


def token_client(key: str) -> APIClient:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {key}")
    return client


# ---------------------------------------------------------------------------
# The service
# ---------------------------------------------------------------------------
def test_only_a_hash_and_a_prefix_of_the_key_are_stored(cast: Cast) -> None:
    token, key = api_token_create(membership=cast.rossi_admin, name=" ERP ", created_by=cast.rossi_admin.user)

    stored = ApiToken.objects.get(pk=token.pk)
    assert len(key) >= 40
    assert stored.key_hash == hashlib.sha256(key.encode()).hexdigest()
    assert stored.prefix == key[:8]
    assert key not in {getattr(stored, field.attname) for field in ApiToken._meta.concrete_fields}
    assert stored.name == "ERP"
    assert stored.created_by == cast.rossi_admin.user


def test_two_tokens_never_share_a_key(cast: Cast) -> None:
    keys = {api_token_create(membership=cast.rossi_admin, name="x", created_by=None)[1] for _ in range(20)}

    assert len(keys) == 20


@pytest.mark.parametrize("name", ["", "   ", "x" * 101])
def test_a_token_needs_a_name_of_sensible_length(cast: Cast, name: str) -> None:
    with pytest.raises(ValidationError) as error:
        api_token_create(membership=cast.rossi_admin, name=name, created_by=None)

    assert "name" in error.value.message_dict
    assert not ApiToken.objects.exists()


def test_nobody_revokes_the_token_of_another_user(cast: Cast) -> None:
    token, _key = api_token_create(membership=cast.rossi_line_user, name="Fleet", created_by=None)

    with pytest.raises(PermissionDenied):
        api_token_revoke(token=token, user=cast.rossi_legal_rep.user)

    token.refresh_from_db()
    assert token.revoked_at is None


def test_a_revocation_is_in_the_audit_trail_with_who_revoked(cast: Cast) -> None:
    token, _key = api_token_create(membership=cast.rossi_admin, name="ERP", created_by=None)

    api_token_revoke(token=token, user=cast.rossi_admin.user)

    entry = LogEntry.objects.get_for_object(token).get(additional_data__event="api_token_revoked")
    assert entry.actor == cast.rossi_admin.user


def test_revoking_twice_keeps_the_first_revocation_time(cast: Cast) -> None:
    token, _key = api_token_create(membership=cast.rossi_admin, name="ERP", created_by=None)
    first = api_token_revoke(token=token, user=cast.rossi_admin.user).revoked_at

    with time_machine.travel(timezone.now() + timedelta(hours=1)):
        second = api_token_revoke(token=token, user=cast.rossi_admin.user).revoked_at

    assert first is not None
    assert second == first


# ---------------------------------------------------------------------------
# Authentication with a token
# ---------------------------------------------------------------------------
def test_a_revoked_token_is_refused_with_401(cast: Cast) -> None:
    token, key = api_token_create(membership=cast.rossi_admin, name="ERP", created_by=None)
    client = token_client(key)
    assert client.get("/api/v1/me/").status_code == 200

    api_token_revoke(token=token, user=cast.rossi_admin.user)
    response = client.get("/api/v1/me/", HTTP_ACCEPT_LANGUAGE="en")

    assert response.status_code == 401
    assert "revoked" in response.json()["detail"]


def test_the_token_of_a_deactivated_user_is_refused_with_401(cast: Cast) -> None:
    _token, key = api_token_create(membership=cast.rossi_admin, name="ERP", created_by=None)
    user = cast.rossi_admin.user
    user.is_active = False
    user.save(update_fields=["is_active"])

    assert token_client(key).get("/api/v1/me/").status_code == 401


@pytest.mark.parametrize("header", ["Token", "Token a b", "Bearer {key}", "token{key}"])
def test_a_malformed_authorization_header_does_not_authenticate(cast: Cast, header: str) -> None:
    _token, key = api_token_create(membership=cast.rossi_admin, name="ERP", created_by=None)
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=header.format(key=key))

    assert client.get("/api/v1/me/").status_code == 401


def test_last_used_is_written_at_most_once_a_minute(cast: Cast, django_assert_num_queries: Any) -> None:
    token, key = api_token_create(membership=cast.rossi_admin, name="ERP", created_by=None)
    client = token_client(key)
    start = timezone.now()

    with time_machine.travel(start, tick=False):
        client.get("/api/v1/me/")
        token.refresh_from_db()
        assert token.last_used_at == start
        # Within the minute: the token lookup only, no write.
        with django_assert_num_queries(1):
            client.get("/api/v1/me/")
    with time_machine.travel(start + timedelta(seconds=30), tick=False):
        client.get("/api/v1/me/")
    token.refresh_from_db()
    assert token.last_used_at == start

    with time_machine.travel(start + timedelta(minutes=2), tick=False):
        client.get("/api/v1/me/")
    token.refresh_from_db()
    assert token.last_used_at == start + timedelta(minutes=2)


# ---------------------------------------------------------------------------
# Tokens through the API
# ---------------------------------------------------------------------------
def test_a_person_logged_in_creates_a_token_whose_key_is_shown_once_and_works(cast: Cast) -> None:
    client = APIClient()
    client.force_login(cast.rossi_line_user.user)

    response = client.post("/api/v1/tokens/", {"name": "Fleet app"}, format="json")

    assert response.status_code == 201
    assert response["Cache-Control"] == "no-store"
    created = response.json()
    assert created["name"] == "Fleet app"
    assert created["prefix"] == created["key"][:8]
    assert created["is_active"] is True
    me = token_client(created["key"]).get("/api/v1/me/").json()
    assert me["membership"]["id"] == cast.rossi_line_user.pk
    listed = client.get("/api/v1/tokens/").json()
    assert [token["id"] for token in listed] == [created["id"]]
    assert "key" not in listed[0]
    assert "key" not in client.get(f"/api/v1/tokens/{created['id']}/").json()


def test_a_token_cannot_mint_another_token(cast: Cast, api_client_for: Any) -> None:
    response = api_client_for(cast.rossi_admin).post("/api/v1/tokens/", {"name": "More"}, format="json")

    assert response.status_code == 403
    assert ApiToken.objects.count() == 1


def test_a_token_without_a_name_is_a_400(cast: Cast) -> None:
    client = APIClient()
    client.force_login(cast.rossi_admin.user)

    response = client.post("/api/v1/tokens/", {"name": ""}, format="json")

    assert response.status_code == 400
    assert "name" in response.json()


def test_the_token_list_shows_only_the_callers_own_tokens(cast: Cast, api_client_for: Any) -> None:
    api_token_create(membership=cast.rossi_legal_rep, name="Legal rep's", created_by=None)
    api_token_create(membership=cast.bianchi_admin, name="Bianchi's", created_by=None)
    client = api_client_for(cast.rossi_admin)

    listed = client.get("/api/v1/tokens/").json()

    assert [token["id"] for token in listed] == [client.api_token.pk]


def test_a_token_revoked_through_the_api_stops_working_at_once(cast: Cast, api_client_for: Any) -> None:
    client = api_client_for(cast.rossi_admin)
    token = client.api_token

    response = client.post(f"/api/v1/tokens/{token.pk}/revoke/")

    assert response.status_code == 200
    assert response.json()["is_active"] is False
    assert client.get("/api/v1/me/").status_code == 401


def test_a_colleagues_token_cannot_be_revoked_nor_read(cast: Cast, api_client_for: Any) -> None:
    colleagues, _key = api_token_create(membership=cast.rossi_legal_rep, name="Legal rep's", created_by=None)
    client = api_client_for(cast.rossi_admin)

    assert client.get(f"/api/v1/tokens/{colleagues.pk}/").status_code == 404
    assert client.post(f"/api/v1/tokens/{colleagues.pk}/revoke/").status_code == 404
    colleagues.refresh_from_db()
    assert colleagues.revoked_at is None


# ---------------------------------------------------------------------------
# The create_api_token command (CONTRACTS.md)
# ---------------------------------------------------------------------------
@pytest.mark.parametrize("vat_number", ["IT01234560017", "01234560017", "it 01234560017"])
def test_the_command_prints_a_key_as_its_last_line_and_the_key_works(cast: Cast, vat_number: str) -> None:
    out = StringIO()

    call_command(
        "create_api_token", "ANNA@rossi.example", "--company", vat_number, "--name", "ERP", stdout=out
    )

    key = out.getvalue().splitlines()[-1]
    token = ApiToken.objects.get()
    assert token.membership == cast.rossi_legal_rep
    assert token.name == "ERP"
    assert token.prefix == key[:8]
    me = token_client(key).get("/api/v1/me/").json()
    assert me["membership"]["company"]["vat_number"] == "IT01234560017"
    assert me["user"]["email"] == "anna@rossi.example"


@pytest.mark.parametrize(
    ("email", "vat_number", "message"),
    [
        ("nobody@rossi.example", "IT01234560017", "No user"),
        ("giulia@bianchi.example", "IT01234560017", "is not a user of Rossi"),
        ("anna@rossi.example", "IT99999999999", "No company"),
    ],
)
def test_the_command_refuses_a_user_or_company_that_does_not_match(
    cast: Cast, email: str, vat_number: str, message: str
) -> None:
    with pytest.raises(CommandError, match=message):
        call_command("create_api_token", email, "--company", vat_number, stdout=StringIO())

    assert not ApiToken.objects.exists()


def test_the_command_refuses_an_inactive_user(cast: Cast) -> None:
    UserFactory.create(email="former@rossi.example", is_active=False)

    with pytest.raises(CommandError, match="not active"):
        call_command(
            "create_api_token", "former@rossi.example", "--company", "IT01234560017", stdout=StringIO()
        )


def test_the_command_exits_non_zero_with_a_clear_message_for_an_unknown_user(db: None) -> None:
    result = manage(
        "create_api_token", "nobody@example.it", "--company", "IT01234560017", env=on_the_test_database()
    )

    assert result.returncode != 0
    assert "No user has the e-mail address 'nobody@example.it'" in result.stderr
    assert result.stdout == ""


# ---------------------------------------------------------------------------
# The portal page: Services and settings → API tokens
# ---------------------------------------------------------------------------
def test_the_tokens_page_needs_a_login(client: Client) -> None:
    response = client.get(reverse("selfcare:api-tokens"))

    assert response.status_code == 302
    assert "/accounts/login/" in response["Location"]


def test_the_tokens_page_lists_only_the_users_own_tokens_and_is_never_cached(
    cast: Cast, client: Client
) -> None:
    mine, _key = api_token_create(membership=cast.rossi_admin, name="Accounting sync", created_by=None)
    api_token_create(membership=cast.rossi_legal_rep, name="Legal rep sync", created_by=None)
    api_token_create(membership=cast.bianchi_admin, name="Bianchi sync", created_by=None)
    log_in(client, cast.rossi_admin)

    response = client.get(reverse("selfcare:api-tokens"))

    assert response.status_code == 200
    content = response.content.decode()
    assert "Accounting sync" in content
    assert mine.prefix in content
    assert "Legal rep sync" not in content
    assert "Bianchi sync" not in content
    assert "no-store" in response["Cache-Control"]


def test_creating_a_token_on_the_page_shows_its_key_once(cast: Cast, client: Client) -> None:
    log_in(client, cast.rossi_line_user)

    response = client.post(reverse("selfcare:api-tokens"), {"name": "Fleet app"})

    assert response.status_code == 200
    assert "no-store" in response["Cache-Control"]
    token = ApiToken.objects.get()
    assert token.membership == cast.rossi_line_user
    key = response.context["new_key"]
    assert f'value="{key}"' in response.content.decode()
    assert token_client(key).get("/api/v1/me/").status_code == 200
    assert key not in client.get(reverse("selfcare:api-tokens")).content.decode()


def test_a_token_without_a_name_is_not_created_on_the_page(cast: Cast, client: Client) -> None:
    log_in(client, cast.rossi_admin)

    response = client.post(reverse("selfcare:api-tokens"), {"name": " "})

    assert response.status_code == 400
    assert response.context["form"].errors["name"]
    assert not ApiToken.objects.exists()


def test_revoking_on_the_page_asks_first_then_revokes(cast: Cast, client: Client) -> None:
    token, key = api_token_create(membership=cast.rossi_admin, name="ERP", created_by=None)
    log_in(client, cast.rossi_admin)
    url = reverse("selfcare:api-token-revoke", args=[token.pk])

    confirmation = client.get(url)
    assert confirmation.status_code == 200
    assert 'method="post"' in confirmation.content.decode()
    assert ApiToken.objects.get(pk=token.pk).revoked_at is None

    response = client.post(url)

    assert response.status_code == 302
    assert response["Location"] == reverse("selfcare:api-tokens")
    assert ApiToken.objects.get(pk=token.pk).revoked_at is not None
    assert token_client(key).get("/api/v1/me/").status_code == 401


@pytest.mark.parametrize("owner", ["bianchi_admin", "rossi_legal_rep"])
def test_another_users_token_is_not_found_on_the_page(cast: Cast, client: Client, owner: str) -> None:
    token, _key = api_token_create(membership=getattr(cast, owner), name="Theirs", created_by=None)
    log_in(client, cast.rossi_admin)
    url = reverse("selfcare:api-token-revoke", args=[token.pk])

    assert client.get(url).status_code == 404
    assert client.post(url).status_code == 404
    token.refresh_from_db()
    assert token.revoked_at is None


def test_services_and_settings_links_to_the_api_tokens_page(cast: Cast, client: Client) -> None:
    log_in(client, cast.rossi_line_user)

    response = client.get(reverse("selfcare:settings"))

    assert f'href="{reverse("selfcare:api-tokens")}"' in response.content.decode()
