"""Theft or loss: the line is blocked at once, the complaint is chased, a replacement is charged once."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal
from typing import Any

import pytest
from auditlog.models import LogEntry
from django.contrib.auth.models import Group
from django.utils import timezone

from billing.models import ExtraCharge
from procedures.kinds import handler_for
from procedures.kinds.theft_loss import TheftLossForm
from procedures.models import RequestEvent, RequestKind, RequestStatus
from procedures.services import request_approve, request_reject, request_submit
from procedures.tasks_theft import theft_complaints_remind
from procedures.theft import (
    REPLACEMENT_SIM_CHARGE,
    replacement_order,
    theft_complaints_follow_up,
)
from selfcare.models import Channel, EsimProfile, LineKind, LineStatus, Notification, User
from tests.cast import Cast
from tests.factories import LineFactory
from tests.procedures import requests_helpers
from tests.procedures.kind_helpers import aware, make_request
from tests.procedures.requests_helpers import pdf_upload

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("private_storage")]


# The requests' fixtures, shared with the mechanism's tests.
private_storage = requests_helpers.private_storage
staff = requests_helpers.staff

HANDLER = handler_for(RequestKind.THEFT_LOSS)
EID = "89049032000001000000000000000074"


def report(membership: Any, line: Any, **overrides: Any) -> dict[str, Any]:
    return {
        "lines": [str(line.pk)],
        "circumstance": "theft",
        "happened_on": timezone.localdate().isoformat(),
        "replacement": "",
        "blocking_understood": "on",
        **overrides,
    }


def procedures_staff(email: str = "teresa@operator.example") -> User:
    user = User.objects.create_user(email, "Password-di-prova-1", name="Teresa Procedure", is_staff=True)
    group, _created = Group.objects.get_or_create(name="Procedures")
    user.groups.add(group)
    return user


# ---------------------------------------------------------------------------
# Who reports, for which lines
# ---------------------------------------------------------------------------
@pytest.mark.parametrize("role", ["rossi_legal_rep", "rossi_admin", "rossi_line_user"])
def test_every_role_may_report(cast: Cast, role: str) -> None:
    assert HANDLER.may_submit(getattr(cast, role))


def test_a_line_user_reports_only_their_own_working_lines(cast: Cast) -> None:
    ceased = LineFactory.create(
        company=cast.rossi, assigned_to=cast.rossi_line_user, status=LineStatus.CEASED
    )

    form = TheftLossForm(membership=cast.rossi_line_user)
    offered = set(form.fields["lines"].queryset)  # type: ignore[attr-defined]

    assert offered == {cast.rossi_assigned_line}
    for foreign in (cast.rossi_other_line, cast.bianchi_line, ceased):
        bad = TheftLossForm(report(cast.rossi_line_user, foreign), membership=cast.rossi_line_user)
        assert not bad.is_valid()
        assert "lines" in bad.errors


def test_a_replacement_sim_needs_an_address_and_an_esim_an_eid(cast: Cast) -> None:
    line = cast.rossi_assigned_line
    sim = TheftLossForm(report(cast.rossi_admin, line, replacement="physical"), membership=cast.rossi_admin)
    esim = TheftLossForm(
        report(cast.rossi_admin, line, replacement="esim", eid="123"), membership=cast.rossi_admin
    )
    unconfirmed = TheftLossForm(
        report(cast.rossi_admin, line, blocking_understood=""), membership=cast.rossi_admin
    )

    assert not sim.is_valid()
    assert "delivery_address" in sim.errors
    assert not esim.is_valid()
    assert "eid" in esim.errors
    assert not unconfirmed.is_valid()
    assert "blocking_understood" in unconfirmed.errors


def test_a_fixed_line_has_no_esim(cast: Cast) -> None:
    fixed = LineFactory.create(company=cast.rossi, kind=LineKind.FIXED, sim="")

    form = TheftLossForm(
        report(cast.rossi_admin, fixed, replacement="esim", eid=EID), membership=cast.rossi_admin
    )

    assert not form.is_valid()
    assert "replacement" in form.errors


# ---------------------------------------------------------------------------
# The block: at once, before any review
# ---------------------------------------------------------------------------
def test_the_hook_blocks_the_line_at_once_audited_and_recorded(cast: Cast) -> None:
    request = make_request(cast.rossi_line_user, RequestKind.THEFT_LOSS, lines=[cast.rossi_assigned_line])

    HANDLER.on_submitted(request, membership=cast.rossi_line_user)

    cast.rossi_assigned_line.refresh_from_db()
    assert cast.rossi_assigned_line.status == LineStatus.BLOCKED
    cast.rossi_other_line.refresh_from_db()
    assert cast.rossi_other_line.status == LineStatus.ACTIVE
    audit = LogEntry.objects.get(additional_data__event="line_blocked_for_theft")
    assert audit.actor == cast.rossi_line_user.user
    assert audit.additional_data["request"] == request.reference
    assert request.events.filter(action="line_blocked").count() == 1
    # Reported twice (two browser tabs): blocked once.
    HANDLER.on_submitted(request, membership=cast.rossi_line_user)
    assert LogEntry.objects.filter(additional_data__event="line_blocked_for_theft").count() == 1


def test_submitting_blocks_the_line_before_any_review(cast: Cast) -> None:
    request = request_submit(
        membership=cast.rossi_line_user,
        kind=RequestKind.THEFT_LOSS,
        data=report(cast.rossi_line_user, cast.rossi_assigned_line),
    )

    assert request.status == RequestStatus.SUBMITTED
    assert not request.events.filter(by__is_staff=True).exists()
    cast.rossi_assigned_line.refresh_from_db()
    assert cast.rossi_assigned_line.status == LineStatus.BLOCKED
    # The complaint may come later: seven days after the report.
    assert request.due_on == request.submitted_at.astimezone().date() + timedelta(days=7)


def test_a_rejected_report_leaves_the_line_blocked_and_charges_nothing(cast: Cast, staff: User) -> None:
    request = request_submit(
        membership=cast.rossi_admin,
        kind=RequestKind.THEFT_LOSS,
        data=report(
            cast.rossi_admin, cast.rossi_other_line, replacement="physical", delivery_address="Via Roma 1"
        ),
    )

    request_reject(request=request, by=staff, reason="Duplicate of an earlier report.")

    cast.rossi_other_line.refresh_from_db()
    assert cast.rossi_other_line.status == LineStatus.BLOCKED
    assert not ExtraCharge.objects.exists()


# ---------------------------------------------------------------------------
# The replacement: ordered on approval, charged once
# ---------------------------------------------------------------------------
def test_approval_orders_the_replacement_sim_charged_once_on_the_next_invoice(
    cast: Cast, staff: User
) -> None:
    request = request_submit(
        membership=cast.rossi_admin,
        kind=RequestKind.THEFT_LOSS,
        data=report(
            cast.rossi_admin, cast.rossi_other_line, replacement="physical", delivery_address="Via Roma 1"
        ),
    )
    assert not ExtraCharge.objects.exists()

    request_approve(request=request, by=staff)

    charge = ExtraCharge.objects.get()
    assert (charge.company, charge.line, charge.kind) == (cast.rossi, cast.rossi_other_line, "charge")
    assert charge.amount == REPLACEMENT_SIM_CHARGE == Decimal("10.00")
    assert charge.period_start == timezone.localdate().replace(day=1)
    assert charge.billed_on_invoice is None
    assert request.reference in charge.description
    # Ordered again (a retried approval hook): still one charge.
    replacement_order(request=request, by=staff)
    assert ExtraCharge.objects.count() == 1


def test_an_esim_replacement_makes_the_profile_for_the_device(cast: Cast, staff: User) -> None:
    request = make_request(
        cast.rossi_admin,
        RequestKind.THEFT_LOSS,
        lines=[cast.rossi_other_line],
        data={"replacement": "esim", "eid": EID},
    )

    HANDLER.on_approved(request, by=staff)

    profile = EsimProfile.objects.get(line=cast.rossi_other_line)
    assert profile.eid == EID
    assert ExtraCharge.objects.get().line == cast.rossi_other_line


def test_no_replacement_asked_charges_nothing(cast: Cast, staff: User) -> None:
    request = make_request(cast.rossi_admin, RequestKind.THEFT_LOSS, lines=[cast.rossi_other_line], data={})

    HANDLER.on_approved(request, by=staff)

    assert not ExtraCharge.objects.exists()


# ---------------------------------------------------------------------------
# The complaint's deadline: reminders before, escalation after, each once
# ---------------------------------------------------------------------------
@pytest.fixture
def reported(cast: Cast) -> Any:
    """A report of 1 December 2026: the complaint is due on 8 December."""
    return make_request(
        cast.rossi_line_user,
        RequestKind.THEFT_LOSS,
        lines=[cast.rossi_assigned_line],
        submitted_at=aware(2026, 12, 1),
        due_on=date(2026, 12, 8),
    )


def reminders(request: Any) -> list[str]:
    return list(
        RequestEvent.objects.filter(request=request, action="complaint_reminder").values_list(
            "note", flat=True
        )
    )


def test_no_reminder_while_the_deadline_is_far(reported: Any) -> None:
    assert theft_complaints_follow_up(today=date(2026, 12, 5)) == (0, 0)
    assert not Notification.objects.filter(event="theft_complaint_reminder").exists()


def test_reminders_two_days_and_one_day_before_each_once(reported: Any, cast: Cast) -> None:
    assert theft_complaints_follow_up(today=date(2026, 12, 6)) == (1, 0)
    assert theft_complaints_follow_up(today=date(2026, 12, 6)) == (0, 0)
    assert reminders(reported) == ["2"]
    assert theft_complaints_follow_up(today=date(2026, 12, 7)) == (1, 0)
    theft_complaints_remind.run(day="2026-12-07")
    assert reminders(reported) == ["2", "1"]

    told = Notification.objects.filter(event="theft_complaint_reminder", channel=Channel.EMAIL)
    assert told.count() == 2
    assert set(told.values_list("user", flat=True)) == {cast.rossi_line_user.user_id}
    assert "2026" in told.first().subject  # type: ignore[union-attr]


def test_a_reminder_missed_the_day_before_is_the_last_one_only(reported: Any) -> None:
    assert theft_complaints_follow_up(today=date(2026, 12, 8)) == (1, 0)
    assert reminders(reported) == ["1"]


def test_escalation_after_the_deadline_once_to_procedures_staff(reported: Any) -> None:
    teresa = procedures_staff()
    procedures_staff("no.group@operator.example").groups.clear()

    assert theft_complaints_follow_up(today=date(2026, 12, 8)) == (1, 0)
    assert theft_complaints_follow_up(today=date(2026, 12, 9)) == (0, 1)
    theft_complaints_remind.run(day="2026-12-09")
    theft_complaints_remind.run(day="2026-12-10")

    assert RequestEvent.objects.filter(request=reported, action="escalated").count() == 1
    assert LogEntry.objects.filter(additional_data__event="theft_complaint_escalated").count() == 1
    alerts = Notification.objects.filter(event="theft_complaint_escalated")
    assert [(alert.user_id, alert.channel) for alert in alerts] == [(teresa.pk, Channel.EMAIL)]
    assert reported.reference in alerts[0].subject


def test_an_uploaded_complaint_stops_the_reminders_and_the_escalation(reported: Any, cast: Cast) -> None:
    from procedures.documents import document_check, document_store

    document_store(
        request=reported,
        role="police_complaint",
        checked=document_check(pdf_upload()),
        by=cast.rossi_line_user.user,
    )

    assert theft_complaints_follow_up(today=date(2026, 12, 7)) == (0, 0)
    assert theft_complaints_follow_up(today=date(2026, 12, 12)) == (0, 0)


def test_asked_for_information_the_customer_still_uploads_the_complaint_as_such(
    reported: Any, cast: Cast, client_as: Any
) -> None:
    reported.status = RequestStatus.NEEDS_INFO
    reported.save()
    client = client_as(cast.rossi_line_user)

    page = client.get(f"/requests/{reported.pk}/", HTTP_ACCEPT_LANGUAGE="en").content.decode()
    sent = client.post(
        f"/requests/{reported.pk}/documents/", {"role": "police_complaint", "file": pdf_upload()}
    )

    assert 'id="request-document-form"' in page
    assert '<option value="police_complaint">' in page
    assert sent.status_code == 302
    assert reported.documents.filter(role="police_complaint").count() == 1
    assert theft_complaints_follow_up(today=date(2026, 12, 12)) == (0, 0)


def test_a_decided_report_is_no_longer_chased(reported: Any) -> None:
    reported.status = RequestStatus.REJECTED
    reported.save()

    assert theft_complaints_follow_up(today=date(2026, 12, 12)) == (0, 0)


def test_a_line_user_gets_the_form_with_their_own_line_only(client: Any, cast: Cast) -> None:
    from django.urls import reverse

    from tests.conftest import log_in

    page = log_in(client, cast.rossi_line_user).get(
        reverse("procedures:request-create", kwargs={"kind": "theft_loss"})
    )

    assert page.status_code == 200
    body = page.content.decode()
    assert cast.rossi_assigned_line.number in body
    assert cast.rossi_other_line.number not in body
