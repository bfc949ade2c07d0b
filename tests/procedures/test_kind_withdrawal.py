"""Withdrawal: the legal rep's notice, effective 30 days after receipt, its letter, penalty-free after a measure."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

import pytest
from auditlog.models import LogEntry
from django.utils import translation
from django.utils.translation import gettext as _

from billing.fair_use_texts import fair_use_withdrawal_url
from billing.models import FairUseMeasure, FairUseMeasureKind
from procedures.kinds import handler_for
from procedures.kinds.withdrawal import WITHDRAWAL_VALID_NOTICE, WithdrawalForm, withdrawals_take_effect
from procedures.models import RequestEvent, RequestKind, RequestStatus
from procedures.receipt import request_receipt_html
from procedures.services import request_approve, request_submit
from procedures.tasks_withdrawal import withdrawals_cease_lines
from procedures.withdrawal_letter import withdrawal_letter_html
from selfcare.models import LineStatus, Notification, User
from tests.billing.fair_use_rows import make_finding
from tests.cast import Cast
from tests.factories import LineFactory
from tests.procedures import requests_helpers
from tests.procedures.kind_helpers import aware, make_request

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("private_storage")]


# The requests' fixtures, shared with the mechanism's tests.
private_storage = requests_helpers.private_storage
staff = requests_helpers.staff

HANDLER = handler_for(RequestKind.WITHDRAWAL)


def withdrawal(*lines: Any, **overrides: Any) -> dict[str, Any]:
    return {
        "scope": "lines",
        "lines": [str(line.pk) for line in lines],
        "effective_understood": "on",
        **overrides,
    }


def measure(line: Any, kind: str = FairUseMeasureKind.SPEED_LIMIT) -> FairUseMeasure:
    finding = make_finding(line)
    dates = {"starts_on": date(2026, 11, 21), "ends_on": date(2026, 11, 30)} if kind == "speed_limit" else {}
    return FairUseMeasure.objects.create(
        finding=finding, company_id=line.company_id, line=line, kind=kind, **dates
    )


# ---------------------------------------------------------------------------
# Who, what, when
# ---------------------------------------------------------------------------
def test_only_the_legal_rep_may_withdraw(cast: Cast) -> None:
    assert HANDLER.may_submit(cast.rossi_legal_rep)
    assert not HANDLER.may_submit(cast.rossi_admin)
    assert not HANDLER.may_submit(cast.rossi_line_user)
    assert "legal representative" in str(HANDLER.who_may_submit)


def test_the_whole_contract_names_every_line_still_working(cast: Cast) -> None:
    ceased = LineFactory.create(company=cast.rossi, status=LineStatus.CEASED)

    form = WithdrawalForm(
        {"scope": "contract", "effective_understood": "on"}, membership=cast.rossi_legal_rep
    )

    assert form.is_valid(), form.errors
    assert set(form.cleaned_data["lines"]) == {cast.rossi_assigned_line, cast.rossi_other_line}
    assert ceased not in form.cleaned_data["lines"]


def test_chosen_lines_must_be_named_and_the_companys(cast: Cast) -> None:
    empty = WithdrawalForm(withdrawal(), membership=cast.rossi_legal_rep)
    foreign = WithdrawalForm(withdrawal(cast.bianchi_line), membership=cast.rossi_legal_rep)

    assert not empty.is_valid()
    assert "lines" in empty.errors
    assert not foreign.is_valid()
    assert "lines" in foreign.errors


def test_it_takes_effect_thirty_days_after_receipt(cast: Cast) -> None:
    request = make_request(cast.rossi_legal_rep, RequestKind.WITHDRAWAL, submitted_at=aware(2026, 12, 2, 23))

    assert HANDLER.due_on(request) == date(2027, 1, 1)


# ---------------------------------------------------------------------------
# Penalty-free after a fair-use measure
# ---------------------------------------------------------------------------
def test_a_measure_on_a_withdrawn_line_makes_it_penalty_free_and_says_why(cast: Cast) -> None:
    taken = measure(cast.rossi_other_line)

    form = WithdrawalForm(withdrawal(cast.rossi_other_line), membership=cast.rossi_legal_rep)

    assert form.is_valid(), form.errors
    assert form.cleaned_data["penalty_free"] is True
    assert form.cleaned_data["measure"] == taken.pk
    assert form.cleaned_data["measure_line"] == cast.rossi_other_line.number
    assert form.cleaned_data["finding"] == taken.finding_id


def test_a_warning_or_a_measure_on_another_line_does_not(cast: Cast) -> None:
    measure(cast.rossi_other_line, kind=FairUseMeasureKind.WARNING)
    measure(cast.rossi_assigned_line)

    form = WithdrawalForm(withdrawal(cast.rossi_other_line), membership=cast.rossi_legal_rep)

    assert form.is_valid(), form.errors
    assert form.cleaned_data["penalty_free"] is False


def test_the_finding_linked_from_the_fair_use_pages_is_the_reason(cast: Cast) -> None:
    taken = measure(cast.rossi_assigned_line)

    form = WithdrawalForm(
        withdrawal(cast.rossi_other_line, finding=str(taken.finding_id)), membership=cast.rossi_legal_rep
    )

    assert form.is_valid(), form.errors
    assert form.cleaned_data["penalty_free"] is True
    assert fair_use_withdrawal_url(finding_id=taken.finding_id) == (
        f"/requests/new/withdrawal/?finding={taken.finding_id}"
    )


def test_the_link_from_a_finding_opens_the_form_with_that_finding_chosen(cast: Cast, client_as: Any) -> None:
    taken = measure(cast.rossi_assigned_line)

    page = client_as(cast.rossi_legal_rep).get(fair_use_withdrawal_url(finding_id=taken.finding_id))

    assert page.status_code == 200
    assert f'<option value="{taken.finding_id}" selected>' in page.content.decode()


def test_another_companys_finding_is_refused(cast: Cast) -> None:
    theirs = measure(cast.bianchi_line)

    form = WithdrawalForm(
        withdrawal(cast.rossi_other_line, finding=str(theirs.finding_id)), membership=cast.rossi_legal_rep
    )

    assert not form.is_valid()
    assert "finding" in form.errors


# ---------------------------------------------------------------------------
# Submission: the receipt says the notice is valid, the letter is made
# ---------------------------------------------------------------------------
def test_submission_makes_the_letter_and_the_receipt_says_the_notice_is_valid(cast: Cast) -> None:
    measure(cast.rossi_other_line)

    request = request_submit(
        membership=cast.rossi_legal_rep, kind=RequestKind.WITHDRAWAL, data=withdrawal(cast.rossi_other_line)
    )

    assert request.due_on == request.submitted_at.astimezone().date() + timedelta(days=30)
    letter = request.documents.get(role="letter")
    assert letter.generated
    assert letter.content_type == "application/pdf"
    assert letter.file.read().startswith(b"%PDF")
    html = withdrawal_letter_html(request=request)
    assert "recedere" in html
    assert cast.rossi_other_line.number in html
    assert "senza penali" in html
    assert "124/2017" in html
    # The receipt is in the submitter's language: Italian, by default.
    receipt = request_receipt_html(request=request)
    with translation.override("it"):
        assert str(WITHDRAWAL_VALID_NOTICE)[:60] in receipt.replace("&#x27;", "'")
        assert str(_("Penalty-free")) in receipt
    cast.rossi_legal_rep.user.language = "en"
    cast.rossi_legal_rep.user.save(update_fields=["language"])
    request.refresh_from_db()
    english = request_receipt_html(request=request)
    assert str(WITHDRAWAL_VALID_NOTICE)[:60] in english.replace("&#x27;", "'")
    assert "Penalty-free" in english


def test_the_request_page_offers_the_letter_by_its_name(cast: Cast, client_as: Any) -> None:
    request = request_submit(
        membership=cast.rossi_legal_rep, kind=RequestKind.WITHDRAWAL, data=withdrawal(cast.rossi_other_line)
    )

    page = (
        client_as(cast.rossi_legal_rep)
        .get(f"/requests/{request.pk}/", HTTP_ACCEPT_LANGUAGE="en")
        .content.decode()
    )

    assert "Letter of withdrawal, for PEC or registered post" in page


def test_a_letter_is_made_once(cast: Cast) -> None:
    request = make_request(
        cast.rossi_legal_rep, RequestKind.WITHDRAWAL, lines=[cast.rossi_other_line], data={"scope": "lines"}
    )

    HANDLER.on_submitted(request, membership=cast.rossi_legal_rep)
    HANDLER.on_submitted(request, membership=cast.rossi_legal_rep)

    assert request.documents.filter(role="letter").count() == 1


# ---------------------------------------------------------------------------
# The effective day: the lines are ceased, once
# ---------------------------------------------------------------------------
@pytest.fixture
def approved(cast: Cast) -> Any:
    return make_request(
        cast.rossi_legal_rep,
        RequestKind.WITHDRAWAL,
        lines=[cast.rossi_other_line],
        data={"scope": "lines"},
        status=RequestStatus.APPROVED,
        due_on=date(2027, 1, 1),
    )


def test_approval_ceases_nothing_at_once(cast: Cast, staff: User) -> None:
    request = request_submit(
        membership=cast.rossi_legal_rep, kind=RequestKind.WITHDRAWAL, data=withdrawal(cast.rossi_other_line)
    )

    request_approve(request=request, by=staff)

    cast.rossi_other_line.refresh_from_db()
    assert cast.rossi_other_line.status == LineStatus.ACTIVE


def test_the_lines_cease_on_the_effective_day_once(cast: Cast, approved: Any) -> None:
    assert withdrawals_take_effect(today=date(2026, 12, 31)) == 0
    cast.rossi_other_line.refresh_from_db()
    assert cast.rossi_other_line.status == LineStatus.ACTIVE

    assert withdrawals_take_effect(today=date(2027, 1, 1)) == 1
    withdrawals_cease_lines.run(day="2027-01-02")

    cast.rossi_other_line.refresh_from_db()
    assert (cast.rossi_other_line.status, cast.rossi_other_line.ceased_on) == (
        LineStatus.CEASED,
        date(2027, 1, 1),
    )
    cast.rossi_assigned_line.refresh_from_db()
    assert cast.rossi_assigned_line.status == LineStatus.ACTIVE
    assert RequestEvent.objects.filter(request=approved, action="withdrawal_effective").count() == 1
    assert LogEntry.objects.filter(additional_data__event="withdrawal_lines_ceased").count() == 1
    told = Notification.objects.filter(event="withdrawal_effective", channel="email")
    assert set(told.values_list("user__email", flat=True)) == {"anna@rossi.example", "marco@rossi.example"}


def test_the_whole_contract_ceases_every_line_of_the_company_only(cast: Cast) -> None:
    make_request(
        cast.rossi_legal_rep,
        RequestKind.WITHDRAWAL,
        data={"scope": "contract"},
        status=RequestStatus.APPROVED,
        due_on=date(2027, 1, 1),
    )

    withdrawals_take_effect(today=date(2027, 1, 1))

    assert set(cast.rossi.lines.values_list("status", flat=True)) == {LineStatus.CEASED}
    cast.bianchi_line.refresh_from_db()
    assert cast.bianchi_line.status == LineStatus.ACTIVE


@pytest.mark.parametrize("status", [RequestStatus.SUBMITTED, RequestStatus.IN_REVIEW, RequestStatus.REJECTED])
def test_a_withdrawal_not_approved_ceases_nothing(cast: Cast, approved: Any, status: str) -> None:
    approved.status = status
    approved.save()

    assert withdrawals_take_effect(today=date(2027, 2, 1)) == 0

    cast.rossi_other_line.refresh_from_db()
    assert cast.rossi_other_line.status == LineStatus.ACTIVE


# ---------------------------------------------------------------------------
# The page
# ---------------------------------------------------------------------------
def test_the_legal_rep_gets_the_form_and_an_admin_is_told_who_may_withdraw(client: Any, cast: Cast) -> None:
    from django.urls import reverse

    from tests.conftest import log_in

    url = reverse("procedures:request-create", kwargs={"kind": "withdrawal"})
    client.defaults["HTTP_ACCEPT_LANGUAGE"] = "en"

    form_page = log_in(client, cast.rossi_legal_rep).get(url)
    refused = log_in(client, cast.rossi_admin).get(url)

    assert form_page.status_code == 200
    assert 'name="effective_understood"' in form_page.content.decode()
    assert refused.status_code == 403
    assert "Only the company&#x27;s legal representative." in refused.content.decode()
    assert 'name="effective_understood"' not in refused.content.decode()
