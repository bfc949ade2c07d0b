"""The demo requests of the four kinds (procedures.demo_kinds): made through the services; a second run adds nothing."""

from __future__ import annotations

import pytest
from django.utils import timezone

from procedures.demo_kinds import seed_demo_kinds
from procedures.models import Request, RequestKind
from selfcare.demo import demo_document
from selfcare.models import LineStatus
from selfcare.services.provisioning import customers_import
from tests.procedures import requests_helpers

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("private_storage")]


# The requests' fixtures, shared with the mechanism's tests.
private_storage = requests_helpers.private_storage


def test_the_demo_requests_are_made_once() -> None:
    customers_import(document=demo_document())

    made = seed_demo_kinds()
    again = seed_demo_kinds()

    # No demo invoice here: numbers in clear are asked only of a company that has one.
    assert (made, again) == (3, 0)
    kinds = set(Request.objects.values_list("kind", flat=True))
    assert kinds == {RequestKind.THEFT_LOSS, RequestKind.WITHDRAWAL, RequestKind.TAKEOVER}
    theft = Request.objects.get(kind=RequestKind.THEFT_LOSS)
    assert {line.status for line in theft.lines.all()} == {LineStatus.BLOCKED}
    assert theft.due_on is not None
    assert (theft.due_on - timezone.localdate(theft.submitted_at)).days == 7
    assert Request.objects.get(kind=RequestKind.WITHDRAWAL).documents.filter(role="letter").exists()
    takeover = Request.objects.get(kind=RequestKind.TAKEOVER)
    assert takeover.documents.filter(role__startswith="identity_").count() == 2
