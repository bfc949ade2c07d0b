"""Staff maintain zones, countries and rates in the admin; a rate in force is never rewritten."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.db import models
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from roaming.models import LineRoaming, RoamingCountry, RoamingRate, RoamingSpendMonth, RoamingZone
from tests.cast import Cast
from tests.factories import UserFactory, give_totp

pytestmark = pytest.mark.django_db


@pytest.fixture
def superuser(client: Client) -> Client:
    staff = UserFactory.create(email="prezzi@operatore.example.it", is_staff=True, is_superuser=True)
    give_totp(staff)
    client.force_login(staff)
    client.defaults["HTTP_ACCEPT_LANGUAGE"] = "en"
    return client


@pytest.mark.parametrize("model", [RoamingZone, RoamingCountry, RoamingRate, LineRoaming, RoamingSpendMonth])
def test_every_roaming_admin_page_opens(superuser: Client, cast: Cast, model: type[models.Model]) -> None:
    LineRoaming.objects.create(line=cast.rossi_assigned_line)
    meta = model._meta

    assert superuser.get(reverse(f"admin:{meta.app_label}_{meta.model_name}_changelist")).status_code == 200
    first = model._default_manager.first()
    if first is not None:
        change = superuser.get(reverse(f"admin:{meta.app_label}_{meta.model_name}_change", args=[first.pk]))
        assert change.status_code == 200


def test_a_rate_in_force_is_read_only_and_cannot_be_deleted(superuser: Client) -> None:
    rate = RoamingRate.objects.get(zone__code="zone-1")

    page = superuser.get(reverse("admin:roaming_roamingrate_change", args=[rate.pk])).content.decode()

    assert 'name="call_made_per_minute"' not in page
    assert (
        superuser.post(
            reverse("admin:roaming_roamingrate_delete", args=[rate.pk]), {"post": "yes"}
        ).status_code
        == 403
    )


def _rate_form(zone: RoamingZone, valid_from: str) -> dict[str, str]:
    return {
        "zone": str(zone.pk),
        "valid_from": valid_from,
        "call_made_per_minute": "0.6900",
        "call_received_per_minute": "0.2900",
        "sms": "0.1900",
        "data_per_mb": "0.3000",
    }


def test_a_new_price_list_starts_tomorrow_at_the_earliest(superuser: Client) -> None:
    zone = RoamingZone.objects.get(code="zone-1")
    add = reverse("admin:roaming_roamingrate_add")
    today = timezone.localdate()

    refused = superuser.post(add, _rate_form(zone, today.isoformat()))
    accepted = superuser.post(add, _rate_form(zone, (today + timedelta(days=1)).isoformat()))

    assert refused.status_code == 200
    assert "starts tomorrow at the earliest" in refused.content.decode()
    assert accepted.status_code == 302
    assert RoamingRate.objects.filter(zone=zone).count() == 2


def test_staff_raise_a_lines_cap_and_the_change_is_stamped(superuser: Client, cast: Cast) -> None:
    settings = LineRoaming.objects.create(line=cast.rossi_assigned_line)

    response = superuser.post(
        reverse("admin:roaming_lineroaming_change", args=[settings.pk]),
        {"line": str(cast.rossi_assigned_line.pk), "spending_cap": "500.00"},
    )

    assert response.status_code == 302
    settings.refresh_from_db()
    assert str(settings.spending_cap) == "500.00"
    assert settings.spending_cap_changed_by is not None
    assert settings.spending_cap_changed_at is not None
