"""The requests' services: submission, each transition, illegal ones, a concurrent decision, notifications once."""

from __future__ import annotations

import threading
from datetime import date
from decimal import Decimal
from pathlib import Path

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import connection
from django.utils import timezone

from billing.models import TaxExemption
from procedures.models import Request, RequestEvent, RequestStatus
from procedures.services import (
    RequestInvalidError,
    RequestStateError,
    request_answer,
    request_approve,
    request_ask_info,
    request_assign,
    request_document_add,
    request_message_send,
    request_reject,
    request_review_start,
    request_submit,
)
from roaming.models import LineRoaming
from selfcare.models import Notification, User
from tests.cast import Cast
from tests.procedures.requests_helpers import pdf_upload, submit_listing

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("private_storage")]


def test_submission_gives_a_reference_a_receipt_a_history_and_tells_the_managers(cast: Cast) -> None:
    request = submit_listing(cast.rossi_admin)

    assert request.reference.startswith(f"R-{timezone.localdate().year}-")
    assert request.status == RequestStatus.SUBMITTED
    assert list(request.lines.all()) == [cast.rossi.lines.order_by("pk").first()]
    assert request.data["listed"] is True
    assert request.data["published_name"] == "Rossi Impianti"
    receipt = request.documents.get(role="receipt")
    assert receipt.generated
    assert receipt.content_type == "application/pdf"
    assert receipt.file.read().startswith(b"%PDF")
    assert list(request.events.values_list("action", "status_to")) == [("submitted", "submitted")]
    told = set(
        Notification.objects.filter(event="request_submitted", channel="inbox").values_list(
            "user__email", flat=True
        )
    )
    assert told == {"anna@rossi.example", "marco@rossi.example"}


def test_references_follow_each_other(cast: Cast) -> None:
    first, second = submit_listing(cast.rossi_admin), submit_listing(cast.rossi_legal_rep)

    assert int(second.reference[-6:]) == int(first.reference[-6:]) + 1


def test_a_role_that_may_not_submit_is_told_who_may(cast: Cast) -> None:
    with pytest.raises(PermissionDenied, match="legal representative"):
        request_submit(membership=cast.rossi_admin, kind="company_data", data={})
    assert not Request.objects.exists()


def test_invalid_data_and_missing_documents_are_refused_with_the_bound_form(cast: Cast) -> None:
    with pytest.raises(RequestInvalidError) as caught:
        request_submit(
            membership=cast.rossi_legal_rep,
            kind="company_data",
            data={"name": "Rossi Nuova", "vat_number": "IT01234560018", "tax_code": "01234560017"},
        )

    assert "vat_number" in caught.value.form.errors
    assert caught.value.form.data["name"] == "Rossi Nuova"
    assert "chamber_extract" in caught.value.document_errors
    assert not Request.objects.exists()


def test_another_companys_line_is_refused(cast: Cast) -> None:
    with pytest.raises(RequestInvalidError) as caught:
        request_submit(
            membership=cast.rossi_admin,
            kind="directory_listing",
            data={"lines": [str(cast.bianchi_line.pk)], "listed": "no"},
        )
    assert "lines" in caught.value.form.errors


def test_staff_review_ask_answer_approve(cast: Cast, staff: User) -> None:
    request = submit_listing(cast.rossi_admin)

    request_review_start(request=request, by=staff)
    assert request.status == RequestStatus.IN_REVIEW
    assert request.assigned_to == staff
    request_ask_info(request=request, by=staff, message="Which address should we publish?")
    assert Request.objects.get(pk=request.pk).status == RequestStatus.NEEDS_INFO
    request_answer(
        request=request, membership=cast.rossi_admin, message="Via Roma 1", files=[pdf_upload("visura.pdf")]
    )
    assert Request.objects.get(pk=request.pk).status == RequestStatus.IN_REVIEW
    assert request.documents.filter(role="additional", uploaded_by=cast.rossi_admin.user).count() == 1
    request_approve(request=request, by=staff)

    request.refresh_from_db()
    assert request.status == RequestStatus.APPROVED
    assert request.decided_at is not None
    assert list(request.events.values_list("action", flat=True)) == [
        "submitted",
        "review_started",
        "info_requested",
        "answered",
        "approved",
    ]
    assert list(request.messages.values_list("from_staff", flat=True)) == [True, False]
    # The admin who answered is not told of their own answer; the legal rep is.
    answered = request.events.get(action="answered")
    assert set(
        Notification.objects.filter(
            dedupe_key__contains=f"request-event-{answered.pk}", channel="inbox"
        ).values_list("user__email", flat=True)
    ) == {"anna@rossi.example"}


def test_reject_needs_a_reason_and_tells_it(cast: Cast, staff: User) -> None:
    request = submit_listing(cast.rossi_admin)

    with pytest.raises(ValidationError):
        request_reject(request=request, by=staff, reason="  ")
    request_reject(request=request, by=staff, reason="The number is not listable.")

    assert Request.objects.get(pk=request.pk).status == RequestStatus.REJECTED
    assert Notification.objects.filter(event="request_updated", body__contains="not listable").exists()


@pytest.mark.parametrize(
    ("step", "status"),
    [
        ("review", RequestStatus.IN_REVIEW),
        ("approve", RequestStatus.APPROVED),
        ("ask", RequestStatus.REJECTED),
        ("answer", RequestStatus.SUBMITTED),
        ("reject", RequestStatus.APPROVED),
    ],
)
def test_illegal_transitions_are_refused_and_change_nothing(
    cast: Cast, staff: User, step: str, status: str
) -> None:
    request = submit_listing(cast.rossi_admin)
    Request.objects.filter(pk=request.pk).update(status=status)
    events = RequestEvent.objects.count()

    steps = {
        "review": lambda: request_review_start(request=request, by=staff),
        "approve": lambda: request_approve(request=request, by=staff),
        "ask": lambda: request_ask_info(request=request, by=staff, message="?"),
        "answer": lambda: request_answer(request=request, membership=cast.rossi_admin, message="Here"),
        "reject": lambda: request_reject(request=request, by=staff, reason="No"),
    }

    with pytest.raises(RequestStateError, match=request.reference):
        steps[step]()

    assert Request.objects.get(pk=request.pk).status == status
    assert RequestEvent.objects.count() == events


def test_customers_cannot_take_staff_steps(cast: Cast) -> None:
    request = submit_listing(cast.rossi_admin)
    with pytest.raises(PermissionDenied):
        request_approve(request=request, by=cast.rossi_legal_rep.user)


def test_a_line_user_cannot_act_on_a_request_they_do_not_see(cast: Cast) -> None:
    request = submit_listing(cast.rossi_admin)
    with pytest.raises(PermissionDenied):
        request_message_send(request=request, membership=cast.rossi_line_user, body="Hello")
    with pytest.raises(PermissionDenied):
        request_message_send(request=request, membership=cast.bianchi_legal_rep, body="Hello")


def test_documents_and_messages_later_are_recorded_and_decided_requests_take_none(
    cast: Cast, staff: User
) -> None:
    request = submit_listing(cast.rossi_admin)
    request_document_add(
        request=request, membership=cast.rossi_legal_rep, role="additional", upload=pdf_upload()
    )
    request_message_send(request=request, membership=cast.rossi_legal_rep, body="Any news?")
    with pytest.raises(ValidationError):
        request_document_add(
            request=request, membership=cast.rossi_legal_rep, role="receipt", upload=pdf_upload()
        )
    request_reject(request=request, by=staff, reason="Duplicate")

    with pytest.raises(RequestStateError):
        request_message_send(request=request, membership=cast.rossi_legal_rep, body="Why?")
    assert list(request.events.values_list("action", flat=True)) == [
        "submitted",
        "document",
        "message",
        "rejected",
    ]


def test_assignment_to_staff_only_and_recorded(cast: Cast, staff: User, other_staff: User) -> None:
    request = submit_listing(cast.rossi_admin)

    request_assign(request=request, by=staff, to=other_staff)
    with pytest.raises(ValidationError):
        request_assign(request=request, by=staff, to=cast.rossi_admin.user)

    assert Request.objects.get(pk=request.pk).assigned_to == other_staff
    assert request.events.filter(action="assigned").count() == 1


def test_notifications_are_keyed_by_event_and_sent_once(cast: Cast, staff: User) -> None:
    from procedures.services import EVENT_UPDATED, _notify

    request = submit_listing(cast.rossi_admin)
    request_review_start(request=request, by=staff)
    event = request.events.get(action="review_started")
    before = Notification.objects.count()

    _notify(request, event=event, notify_event=EVENT_UPDATED, actor=None)

    assert Notification.objects.count() == before
    assert (
        Notification.objects.filter(dedupe_key__contains=f"request-event-{event.pk}").count() == 4
    )  # 2 users, inbox and e-mail


# ---------------------------------------------------------------------------
# What approvals do
# ---------------------------------------------------------------------------


def test_company_data_approval_updates_the_company(cast: Cast, staff: User) -> None:
    request = request_submit(
        membership=cast.rossi_legal_rep,
        kind="company_data",
        data={
            "name": "Rossi Impianti Nuovi S.r.l.",
            "vat_number": "01234560017",
            "tax_code": "01234560017",
            "street": "Via Torino 5",
            "postcode": "20123",
            "city": "Milano",
            "province": "mi",
            "recipient_code": "",
            "pec": "nuova@pec.example.it",
        },
        files={"document_chamber_extract": pdf_upload("visura.pdf")},
    )
    assert request.data["vat_number"] == "IT01234560017"

    request_approve(request=request, by=staff)

    cast.rossi.refresh_from_db()
    assert cast.rossi.name == "Rossi Impianti Nuovi S.r.l."
    assert cast.rossi.registered_office == "Via Torino 5, 20123 Milano MI"
    assert cast.rossi.pec == "nuova@pec.example.it"


def test_company_data_needs_a_recipient_code_or_a_pec(cast: Cast) -> None:
    with pytest.raises(RequestInvalidError) as caught:
        request_submit(
            membership=cast.rossi_legal_rep,
            kind="company_data",
            data={
                "name": "Rossi",
                "vat_number": "IT01234560017",
                "tax_code": "01234560017",
                "street": "Via Torino 5",
                "postcode": "20123",
                "city": "Milano",
                "province": "MI",
            },
            files={"document_chamber_extract": pdf_upload()},
        )
    assert "recipient_code" in caught.value.form.errors


def _exemption(cast: Cast, *, valid_from: str = "2026-01-01") -> Request:
    return request_submit(
        membership=cast.rossi_legal_rep,
        kind="stamp_duty_exemption",
        data={"legal_reference": "Art. 16 DPR 642/1972", "valid_from": valid_from},
        files={"document_exemption_ground": pdf_upload()},
    )


def test_exemption_approval_creates_an_approved_tax_exemption(cast: Cast, staff: User) -> None:
    request_approve(request=_exemption(cast), by=staff)

    exemption = TaxExemption.objects.get(company=cast.rossi)
    assert exemption.kind == "stamp_duty"
    assert exemption.approved_by == staff
    assert exemption.valid_from == date(2026, 1, 1)
    assert exemption.valid_until is None


def test_an_approval_the_kind_refuses_changes_nothing(cast: Cast, staff: User) -> None:
    first, overlapping = _exemption(cast), _exemption(cast, valid_from="2026-06-01")
    request_approve(request=first, by=staff)

    with pytest.raises(ValidationError, match="already has an exemption"):
        request_approve(request=overlapping, by=staff)

    overlapping.refresh_from_db()
    assert overlapping.status == RequestStatus.SUBMITTED
    assert overlapping.decided_at is None
    assert not overlapping.events.filter(action="approved").exists()
    assert TaxExemption.objects.count() == 1


def test_vat_letter_of_intent_needs_its_protocol_and_ceiling(cast: Cast) -> None:
    with pytest.raises(RequestInvalidError) as caught:
        request_submit(
            membership=cast.rossi_legal_rep,
            kind="vat_exemption",
            data={
                "regime_kind": "letter_of_intent",
                "legal_reference": "Art. 8 c. 1 lett. c DPR 633/1972",
                "valid_from": "2026-01-01",
            },
            files={"document_exemption_ground": pdf_upload()},
        )
    assert {"protocol_number", "ceiling"} <= set(caught.value.form.errors)


def test_roaming_cap_approval_raises_the_granted_cap(cast: Cast, staff: User) -> None:
    line = cast.rossi_other_line
    request = request_submit(
        membership=cast.rossi_admin, kind="roaming_cap", data={"lines": [str(line.pk)], "cap": "500.00"}
    )

    request_approve(request=request, by=staff)

    settings = LineRoaming.objects.get(line=line)
    assert settings.spending_cap_granted == Decimal("500.00")
    assert settings.spending_cap == Decimal("500.00")


def test_dispute_names_the_companys_invoices(cast: Cast) -> None:
    from tests.billing.invoices import make_invoice

    invoice, foreign = make_invoice(cast.rossi), make_invoice(cast.bianchi)
    with pytest.raises(RequestInvalidError) as caught:
        request_submit(
            membership=cast.rossi_admin,
            kind="dispute",
            data={"invoices": [str(foreign.pk)], "reason": "Time-barred"},
            files={"document_dispute_evidence": pdf_upload()},
        )
    assert "invoices" in caught.value.form.errors

    request = request_submit(
        membership=cast.rossi_admin,
        kind="dispute",
        data={"invoices": [str(invoice.pk)], "reason": "Time-barred", "time_barred": "on"},
        files={"document_dispute_evidence": pdf_upload()},
    )
    assert request.data["invoices"] == [invoice.pk]


# ---------------------------------------------------------------------------
# Two staff at once
# ---------------------------------------------------------------------------


@pytest.mark.django_db(transaction=True)
def test_two_staff_deciding_at_once_one_wins(
    cast: Cast, staff: User, other_staff: User, private_storage: Path
) -> None:
    request = submit_listing(cast.rossi_admin)
    barrier = threading.Barrier(2)
    outcomes: list[str] = []

    def decide(by: User, approve: bool) -> None:
        try:
            barrier.wait()
            if approve:
                request_approve(request=Request.objects.get(pk=request.pk), by=by)
            else:
                request_reject(request=Request.objects.get(pk=request.pk), by=by, reason="No")
            outcomes.append("won")
        except RequestStateError:
            outcomes.append("lost")
        finally:
            connection.close()

    threads = [
        threading.Thread(target=decide, args=(staff, True)),
        threading.Thread(target=decide, args=(other_staff, False)),
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert sorted(outcomes) == ["lost", "won"]
    request.refresh_from_db()
    assert request.status in (RequestStatus.APPROVED, RequestStatus.REJECTED)
    assert request.events.filter(action__in=["approved", "rejected"]).count() == 1
