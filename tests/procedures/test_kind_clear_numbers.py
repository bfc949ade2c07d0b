"""Traffic details in clear as a request of the procedures: billing's grant is made, approved and rejected by it."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from django.core.exceptions import ValidationError

from billing.clear_numbers import clear_windows_for
from billing.models import ClearNumbersRequest, ClearNumbersStatus
from procedures.kinds import handler_for
from procedures.kinds.clear_numbers import ClearNumbersForm, clear_numbers_grant
from procedures.models import RequestKind, RequestStatus
from procedures.services import request_approve, request_reject, request_submit
from selfcare.models import Channel, Notification, User
from tests.billing.invoices import make_invoice
from tests.cast import Cast
from tests.procedures import requests_helpers
from tests.procedures.kind_helpers import make_request

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("private_storage")]


# The requests' fixtures, shared with the mechanism's tests.
private_storage = requests_helpers.private_storage
staff = requests_helpers.staff

HANDLER = handler_for(RequestKind.CLEAR_NUMBERS)
# Six months back is 2 June; November is the last invoiced month.
TODAY = datetime(2026, 12, 2, 10, 0, tzinfo=ZoneInfo("Europe/Rome"))


@pytest.fixture(autouse=True)
def invoiced(cast: Cast, time_machine: Any) -> None:
    time_machine.move_to(TODAY, tick=False)
    make_invoice(cast.rossi, year=2026, month=11)


def asked(cast: Cast, **overrides: Any) -> dict[str, Any]:
    return {
        "lines": [str(cast.rossi_assigned_line.pk)],
        "period_start": "2026-09-01",
        "period_end": "2026-11-30",
        "users_informed": "on",
        **overrides,
    }


def test_only_the_legal_rep_may_ask(cast: Cast) -> None:
    assert HANDLER.may_submit(cast.rossi_legal_rep)
    assert not HANDLER.may_submit(cast.rossi_admin)
    assert not HANDLER.may_submit(cast.rossi_line_user)


def test_the_form_shows_the_services_rules_on_their_fields(cast: Cast) -> None:
    form = ClearNumbersForm(
        asked(cast, period_start="2026-06-01", period_end="2026-12-01", users_informed=""),
        membership=cast.rossi_legal_rep,
    )

    assert not form.is_valid()
    assert "last six months" in form.errors["period_start"][0]
    assert "Only invoiced traffic" in form.errors["period_end"][0]
    assert "informed" in form.errors["users_informed"][0]
    assert ClearNumbersForm(asked(cast), membership=cast.rossi_legal_rep).is_valid()


def test_another_companys_line_is_an_invalid_choice(cast: Cast) -> None:
    form = ClearNumbersForm(asked(cast, lines=[str(cast.bianchi_line.pk)]), membership=cast.rossi_legal_rep)

    assert not form.is_valid()
    assert form.errors["lines"] == ["Choose lines of your company only."]


def test_submission_records_the_grant_pending_and_keeps_its_id(cast: Cast) -> None:
    request = make_request(
        cast.rossi_legal_rep,
        RequestKind.CLEAR_NUMBERS,
        lines=[cast.rossi_assigned_line],
        data={"period_start": "2026-09-01", "period_end": "2026-11-30", "users_informed": True},
    )

    HANDLER.on_submitted(request, membership=cast.rossi_legal_rep)

    grant = ClearNumbersRequest.objects.get()
    assert request.data["clear_numbers_request_id"] == grant.pk
    assert clear_numbers_grant(request) == grant
    assert (grant.status, grant.period_start, grant.period_end) == (
        ClearNumbersStatus.PENDING,
        date(2026, 9, 1),
        date(2026, 11, 30),
    )
    assert list(grant.lines.all()) == [cast.rossi_assigned_line]


def test_approved_through_the_procedures_the_window_opens(cast: Cast, staff: User) -> None:
    request = request_submit(
        membership=cast.rossi_legal_rep, kind=RequestKind.CLEAR_NUMBERS, data=asked(cast)
    )
    assert clear_windows_for(cast.rossi_legal_rep) == []

    request_approve(request=request, by=staff)

    grant = clear_numbers_grant(request)
    assert grant is not None
    assert grant.status == ClearNumbersStatus.APPROVED
    assert [window.line_id for window in clear_windows_for(cast.rossi_legal_rep)] == [
        cast.rossi_assigned_line.pk
    ]
    # Decided once: a second decision of the grant refuses the approval.
    with pytest.raises(ValidationError):
        HANDLER.on_approved(request, by=staff)
    # Told once, by the request: the grant sends nothing of its own.
    told = Notification.objects.filter(user=cast.rossi_legal_rep.user, channel=Channel.EMAIL)
    (decision,) = told.exclude(event="request_submitted")
    assert decision.event == "request_updated"
    assert request.reference in decision.subject


def test_rejected_through_the_procedures_the_grant_keeps_the_reason(cast: Cast, staff: User) -> None:
    request = request_submit(
        membership=cast.rossi_legal_rep, kind=RequestKind.CLEAR_NUMBERS, data=asked(cast)
    )

    request_reject(request=request, by=staff, reason="Unsigned declaration.")

    request.refresh_from_db()
    assert request.status == RequestStatus.REJECTED
    grant = clear_numbers_grant(request)
    assert grant is not None
    assert (grant.status, grant.rejection_reason) == (ClearNumbersStatus.REJECTED, "Unsigned declaration.")
    assert clear_windows_for(cast.rossi_legal_rep) == []


def test_a_request_without_its_grant_cannot_be_approved(cast: Cast, staff: User) -> None:
    request = make_request(cast.rossi_legal_rep, RequestKind.CLEAR_NUMBERS, data={})

    with pytest.raises(ValidationError):
        HANDLER.on_approved(request, by=staff)
