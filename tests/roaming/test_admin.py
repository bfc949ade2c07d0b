"""Staff maintain zones, countries and rates in the admin; a rate in force is never rewritten."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

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


def test_a_second_price_list_from_the_same_day_is_refused_and_nothing_changes(superuser: Client) -> None:
    zone = RoamingZone.objects.get(code="zone-1")
    add = reverse("admin:roaming_roamingrate_add")
    tomorrow = (timezone.localdate() + timedelta(days=1)).isoformat()

    first = superuser.post(add, _rate_form(zone, tomorrow))
    overlapping = superuser.post(add, {**_rate_form(zone, tomorrow), "data_per_mb": "0.1000"})

    assert first.status_code == 302
    assert overlapping.status_code == 200
    assert "already exists" in overlapping.content.decode()
    assert RoamingRate.objects.filter(zone=zone).count() == 2
    assert RoamingRate.objects.get(zone=zone, valid_from=tomorrow).data_per_mb == Decimal("0.3000")


def test_a_country_moved_to_a_zone_without_rates_is_refused_a_quote_clearly() -> None:
    empty = RoamingZone.objects.create(code="zone-4", kind="rated", name_it="Zona 4", name_en="Zone 4")
    RoamingCountry.objects.filter(country="US").update(zone=empty)

    trip = {
        "country": "US",
        "days": "2",
        "minutes_made": "5",
        "minutes_received": "0",
        "sms": "0",
        "megabytes": "0",
    }
    page = Client().get(reverse("roaming:calculator"), trip, HTTP_ACCEPT_LANGUAGE="en")
    api = Client().get("/api/v1/roaming/estimate/", {"country": "US", "days": "2"}, HTTP_ACCEPT_LANGUAGE="en")

    assert page.status_code == 200
    assert "This zone has no price list in force yet." in page.content.decode()
    assert api.status_code == 400
    assert "no price list" in api.content.decode()
