"""Staff's work queue: filters, deadlines first, each step a form calling the services, documents inline."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from django.contrib.auth.models import Group
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from procedures.models import Request, RequestStatus
from selfcare.models import User
from selfcare.staff import staff_groups_sync
from tests.cast import Cast
from tests.factories import UserFactory, give_totp
from tests.procedures.requests_helpers import (
    submit_listing,
)

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("private_storage")]


def _staff_in(group: str) -> User:
    # The groups as the data migration makes them, the requests' permissions included.
    staff_groups_sync()
    user = UserFactory.create(email=f"{group.lower().replace(' ', '.')}@operator.example", is_staff=True)
    give_totp(user)
    user.groups.add(Group.objects.get(name=group))
    return user


@pytest.fixture
def procedures_staff(client: Client) -> User:
    user = _staff_in("Procedures")
    client.force_login(user)
    client.defaults["HTTP_ACCEPT_LANGUAGE"] = "en"
    return user


def test_the_queue_lists_deadlines_first_and_filters(
    cast: Cast, client: Client, procedures_staff: User
) -> None:
    later, overdue, undated = (submit_listing(cast.rossi_admin) for _ in range(3))
    today = timezone.localdate()
    Request.objects.filter(pk=later.pk).update(due_on=today + timedelta(days=10))
    Request.objects.filter(pk=overdue.pk).update(due_on=today - timedelta(days=1))

    page = client.get(reverse("admin:procedures_request_changelist")).content.decode()
    positions = [page.index(r.reference) for r in (overdue, later, undated)]
    assert positions == sorted(positions)
    assert "overdue" in page

    filtered = client.get(reverse("admin:procedures_request_changelist"), {"due": "overdue"}).content.decode()
    assert overdue.reference in filtered
    assert later.reference not in filtered
    by_kind = client.get(
        reverse("admin:procedures_request_changelist"), {"kind__exact": "dispute"}
    ).content.decode()
    assert overdue.reference not in by_kind


def test_the_queue_query_count_does_not_grow(
    cast: Cast, client: Client, procedures_staff: User, django_assert_num_queries: Any
) -> None:
    submit_listing(cast.rossi_admin)
    client.get(reverse("admin:procedures_request_changelist"))
    with django_assert_num_queries(QUEUE_QUERIES):
        client.get(reverse("admin:procedures_request_changelist"))
    for _ in range(4):
        submit_listing(cast.rossi_admin)
    with django_assert_num_queries(QUEUE_QUERIES):
        client.get(reverse("admin:procedures_request_changelist"))


# Session, user, permissions, the filters' choices, the count and the page with companies and assignees.
QUEUE_QUERIES = 15


def test_the_request_page_shows_data_documents_and_steps(
    cast: Cast, client: Client, procedures_staff: User
) -> None:
    request = submit_listing(cast.rossi_admin)

    page = client.get(reverse("admin:procedures_request_change", args=[request.pk])).content.decode()

    assert "Rossi Impianti" in page
    for slug in ("review", "ask-info", "approve", "reject", "assign", "message"):
        assert reverse("admin:procedures_request_step", args=[request.pk, slug]) in page
    receipt = request.documents.get(role="receipt")
    document_url = reverse("admin:procedures_request_document", args=[request.pk, receipt.pk])
    assert document_url in page
    response = client.get(document_url)
    assert response.status_code == 200
    assert response["X-Content-Type-Options"] == "nosniff"
    # Staff read it in the browser (the type was read from the bytes at upload); customers download it.
    assert response["Content-Type"] == "application/pdf"
    assert response["Content-Disposition"].startswith("inline;")


def test_each_step_calls_the_service(cast: Cast, client: Client, procedures_staff: User) -> None:
    request = submit_listing(cast.rossi_admin)
    step = lambda slug: reverse("admin:procedures_request_step", args=[request.pk, slug])  # noqa: E731

    assert client.post(step("review"), {}).status_code == 302
    request.refresh_from_db()
    assert request.status == RequestStatus.IN_REVIEW
    assert request.assigned_to == procedures_staff

    empty = client.post(step("ask-info"), {"message": ""})
    assert empty.status_code == 200
    assert Request.objects.get(pk=request.pk).status == RequestStatus.IN_REVIEW
    client.post(step("ask-info"), {"message": "Send the ID"})
    assert Request.objects.get(pk=request.pk).status == RequestStatus.NEEDS_INFO

    # Approving is not possible while the customer is asked: the page says so and changes nothing.
    refused = client.post(step("approve"), {}, follow=True)
    assert "this step is not possible" in refused.content.decode()
    client.post(step("reject"), {"reason": "No answer"})
    request.refresh_from_db()
    assert request.status == RequestStatus.REJECTED
    assert request.events.get(action="rejected").note == "No answer"


def test_assign_to_me_action(cast: Cast, client: Client, procedures_staff: User) -> None:
    request = submit_listing(cast.rossi_admin)

    client.post(
        reverse("admin:procedures_request_changelist"),
        {"action": "assign_to_me", "_selected_action": [request.pk]},
    )

    assert Request.objects.get(pk=request.pk).assigned_to == procedures_staff


def test_customer_care_reads_but_does_not_decide(cast: Cast, client: Client) -> None:
    user = _staff_in("Customer care")
    client.force_login(user)
    request = submit_listing(cast.rossi_admin)

    assert client.get(reverse("admin:procedures_request_change", args=[request.pk])).status_code == 200
    assert (
        client.post(reverse("admin:procedures_request_step", args=[request.pk, "approve"]), {}).status_code
        == 403
    )
    assert Request.objects.get(pk=request.pk).status == RequestStatus.SUBMITTED
