"""The operator's staff in the admin: groups, permissions and every admin page."""

from __future__ import annotations

import pytest
from django.contrib import admin
from django.contrib.auth.models import Group
from django.test import Client
from django.urls import reverse

from selfcare.staff import STAFF_GROUPS, staff_groups_sync
from tests.cast import Cast
from tests.factories import UserFactory, give_totp

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("staff_groups")]


@pytest.fixture
def superuser_client(client: Client) -> Client:
    staff = UserFactory.create(email="capo@operatore.example.it", is_staff=True, is_superuser=True)
    give_totp(staff)
    client.force_login(staff)
    return client


def staff_client(client: Client, group: str) -> Client:
    staff = UserFactory.create(email=f"{group.replace(' ', '.').lower()}@operatore.example.it", is_staff=True)
    give_totp(staff)
    staff.groups.add(Group.objects.get(name=group))
    client.force_login(staff)
    return client


def test_every_staff_group_has_exactly_its_permissions() -> None:
    for name, wanted in STAFF_GROUPS.items():
        group = Group.objects.get(name=name)
        have = {
            f"{p.content_type.app_label}.{p.codename}"
            for p in group.permissions.select_related("content_type")
        }
        assert have == set(wanted), name


def test_syncing_the_groups_twice_changes_nothing() -> None:
    before = {g.name: set(g.permissions.values_list("pk", flat=True)) for g in Group.objects.all()}

    staff_groups_sync()

    assert {g.name: set(g.permissions.values_list("pk", flat=True)) for g in Group.objects.all()} == before


def test_every_admin_page_opens_for_a_superuser(superuser_client: Client, cast: Cast) -> None:
    for model in admin.site._registry:
        opts = model._meta
        changelist = reverse(f"admin:{opts.app_label}_{opts.model_name}_changelist")
        assert superuser_client.get(changelist).status_code == 200, changelist
        first = model._default_manager.first()
        if first is not None:
            change = reverse(f"admin:{opts.app_label}_{opts.model_name}_change", args=[first.pk])
            assert superuser_client.get(change).status_code == 200, change


def test_billing_staff_see_lines_but_cannot_change_them(client: Client, cast: Cast) -> None:
    billing = staff_client(client, "Billing")
    line = cast.rossi_assigned_line

    assert billing.get(reverse("admin:selfcare_line_changelist")).status_code == 200
    response = billing.post(reverse("admin:selfcare_line_change", args=[line.pk]), {"status": "blocked"})

    assert response.status_code == 403
    line.refresh_from_db()
    assert line.status == "active"


def test_staff_without_a_group_see_nothing(client: Client, cast: Cast) -> None:
    staff = UserFactory.create(email="nuovo@operatore.example.it", is_staff=True)
    give_totp(staff)
    client.force_login(staff)

    assert client.get(reverse("admin:selfcare_line_changelist")).status_code == 403
    assert client.get(reverse("admin:selfcare_company_changelist")).status_code == 403
