"""Takeover: the incoming company gets the lines from the date as new records; the history stays with the outgoing."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

import pytest
from auditlog.models import LogEntry
from django.core.exceptions import ValidationError
from django.utils import timezone

from billing.models import InvoiceLine, PaymentMethod, PaymentMethodKind, TrafficDailyTotal
from procedures.kinds import handler_for
from procedures.kinds.takeover import TakeoverForm
from procedures.models import RequestKind, RequestStatus
from procedures.services import request_approve, request_submit
from selfcare.models import Company, Line, LineStatus, Membership, Notification, Role, User
from tests.billing.invoices import make_invoice
from tests.cast import Cast
from tests.factories import CompanyFactory, UserFactory, vat_number
from tests.procedures import requests_helpers
from tests.procedures.kind_helpers import make_request
from tests.procedures.requests_helpers import pdf_upload

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("private_storage")]


# The requests' fixtures, shared with the mechanism's tests.
private_storage = requests_helpers.private_storage
staff = requests_helpers.staff

HANDLER = handler_for(RequestKind.TAKEOVER)
INCOMING_VAT = vat_number(4_242_017)  # the last three digits: a tax office (017)
TAKEOVER_DAY = timezone.localdate() + timedelta(days=10)


def takeover(*lines: Any, **overrides: Any) -> dict[str, Any]:
    return {
        "incoming_name": "Verdi Servizi S.r.l.",
        "incoming_vat_number": INCOMING_VAT,
        "incoming_tax_code": INCOMING_VAT.removeprefix("IT"),
        "incoming_registered_office": "Via Po 1, 10121 Torino TO",
        "incoming_pec": "verdi@pec.example.it",
        "incoming_recipient_code": "",
        "incoming_legal_rep_name": "Elena Verdi",
        "incoming_legal_rep_email": "elena@verdi.example",
        "takeover_date": TAKEOVER_DAY.isoformat(),
        "lines": [str(line.pk) for line in lines],
        "outgoing_consent": "on",
        **overrides,
    }


def approved_data(*lines: Any, **overrides: Any) -> dict[str, Any]:
    data = takeover(*lines, **overrides)
    del data["lines"]
    data["outgoing_consent"] = True
    return data


# ---------------------------------------------------------------------------
# Who and what
# ---------------------------------------------------------------------------
def test_only_the_outgoing_legal_rep_may_submit(cast: Cast) -> None:
    assert HANDLER.may_submit(cast.rossi_legal_rep)
    assert not HANDLER.may_submit(cast.rossi_admin)
    assert not HANDLER.may_submit(cast.rossi_line_user)


def test_the_form_needs_a_valid_other_company_the_consent_a_future_date_and_a_pec_or_code(cast: Cast) -> None:
    line = cast.rossi_other_line
    cases = {
        "incoming_vat_number": takeover(line, incoming_vat_number="IT01234567890"),
        "outgoing_consent": takeover(line, outgoing_consent=""),
        "takeover_date": takeover(line, takeover_date=timezone.localdate().isoformat()),
        "incoming_recipient_code": takeover(line, incoming_pec=""),
        "lines": takeover(cast.bianchi_line),
    }
    for field, data in cases.items():
        form = TakeoverForm(data, membership=cast.rossi_legal_rep)
        assert not form.is_valid()
        assert field in form.errors, (field, form.errors)
    own = TakeoverForm(
        takeover(line, incoming_vat_number=cast.rossi.vat_number), membership=cast.rossi_legal_rep
    )
    assert not own.is_valid()
    assert "incoming_vat_number" in own.errors
    assert TakeoverForm(takeover(line), membership=cast.rossi_legal_rep).is_valid()


def test_the_form_asks_for_both_identity_documents() -> None:
    assert [document.role for document in HANDLER.documents] == ["identity_outgoing", "identity_incoming"]
    assert all(document.at_submission and document.required for document in HANDLER.documents)


# ---------------------------------------------------------------------------
# The approval's effects
# ---------------------------------------------------------------------------
def test_approval_moves_the_lines_to_new_records_and_the_history_stays(cast: Cast, staff: User) -> None:
    old = cast.rossi_other_line
    TrafficDailyTotal.objects.create(
        company=cast.rossi,
        line=old,
        day=timezone.localdate(),
        service="voice",
        direction="out",
        country="IT",
        records=3,
    )
    invoice = make_invoice(cast.rossi, lines=[(old, "Ufficio", "10.00")])
    request = make_request(cast.rossi_legal_rep, RequestKind.TAKEOVER, lines=[old], data=approved_data())

    HANDLER.on_approved(request, by=staff)

    old.refresh_from_db()
    assert (old.status, old.ceased_on, old.company) == (
        LineStatus.CEASED,
        TAKEOVER_DAY - timedelta(days=1),
        cast.rossi,
    )
    incoming = Company.objects.get(vat_number=INCOMING_VAT)
    new = Line.objects.get(company=incoming)
    assert (new.number, new.iccid, new.offer_id, new.kind, new.sim) == (
        old.number,
        old.iccid,
        old.offer_id,
        old.kind,
        old.sim,
    )
    assert (new.status, new.activated_on, new.cost_centre, new.assigned_to) == (
        LineStatus.ACTIVE,
        TAKEOVER_DAY,
        "",
        None,
    )
    # Traffic and invoices before the takeover stay with the outgoing company's record.
    assert TrafficDailyTotal.objects.get().line_id == old.pk
    assert TrafficDailyTotal.objects.get().company_id == cast.rossi.pk
    assert set(InvoiceLine.objects.filter(invoice=invoice).values_list("line_id", flat=True)) - {None} == {
        old.pk
    }
    assert not TrafficDailyTotal.objects.filter(line=new).exists()
    # The other line is untouched, and the incoming company is new, with the form's data.
    cast.rossi_assigned_line.refresh_from_db()
    assert cast.rossi_assigned_line.status == LineStatus.ACTIVE
    assert (incoming.name, incoming.pec) == ("Verdi Servizi S.r.l.", "verdi@pec.example.it")
    assert request.data["incoming_company_id"] == incoming.pk
    assert LogEntry.objects.filter(additional_data__event="takeover_applied").count() == 1


def test_an_existing_incoming_company_is_found_by_its_vat_number_and_kept(cast: Cast, staff: User) -> None:
    existing = CompanyFactory.create(name="Verdi già cliente", vat_number=INCOMING_VAT)
    request = make_request(
        cast.rossi_legal_rep, RequestKind.TAKEOVER, lines=[cast.rossi_other_line], data=approved_data()
    )

    HANDLER.on_approved(request, by=staff)

    existing.refresh_from_db()
    assert existing.name == "Verdi già cliente"
    assert Line.objects.filter(company=existing, number=cast.rossi_other_line.number).exists()


def test_the_incoming_legal_rep_is_invited_once(cast: Cast, staff: User) -> None:
    request = make_request(
        cast.rossi_legal_rep, RequestKind.TAKEOVER, lines=[cast.rossi_other_line], data=approved_data()
    )

    HANDLER.on_approved(request, by=staff)

    membership = Membership.objects.get(user__email="elena@verdi.example")
    assert membership.role == Role.LEGAL_REP
    assert membership.company.vat_number == INCOMING_VAT
    assert Notification.objects.filter(event="member_invited", user=membership.user).exists()


def test_an_incoming_legal_rep_already_a_member_keeps_their_membership(cast: Cast, staff: User) -> None:
    incoming = CompanyFactory.create(vat_number=INCOMING_VAT)
    already = Membership.objects.create(
        user=UserFactory.create(email="elena@verdi.example"), company=incoming, role=Role.ADMIN
    )
    request = make_request(
        cast.rossi_legal_rep, RequestKind.TAKEOVER, lines=[cast.rossi_other_line], data=approved_data()
    )

    HANDLER.on_approved(request, by=staff)

    assert list(Membership.objects.filter(company=incoming)) == [already]


def mandate(company: Company) -> PaymentMethod:
    return PaymentMethod.objects.create(
        company=company,
        kind=PaymentMethodKind.SEPA_DIRECT_DEBIT,
        iban="IT60X0542811101000000123456",
        iban_last4="3456",
        account_holder=company.name,
        mandate_reference="RSS-0001",
        mandate_signed_on=date(2025, 1, 1),
    )


def test_the_mandate_lapses_once_no_line_is_left(cast: Cast, staff: User) -> None:
    current = mandate(cast.rossi)
    request = make_request(
        cast.rossi_legal_rep,
        RequestKind.TAKEOVER,
        lines=[cast.rossi_other_line, cast.rossi_assigned_line],
        data=approved_data(),
    )

    HANDLER.on_approved(request, by=staff)

    current.refresh_from_db()
    assert current.superseded_at is not None
    assert not PaymentMethod.objects.current().filter(company=cast.rossi).exists()
    assert LogEntry.objects.filter(additional_data__event="payment_mandate_lapsed").count() == 1
    assert "mandate has lapsed" in request.events.get(action="takeover_applied").note


def test_the_mandate_stays_while_lines_are_left(cast: Cast, staff: User) -> None:
    current = mandate(cast.rossi)
    request = make_request(
        cast.rossi_legal_rep, RequestKind.TAKEOVER, lines=[cast.rossi_other_line], data=approved_data()
    )

    HANDLER.on_approved(request, by=staff)

    current.refresh_from_db()
    assert current.superseded_at is None


def test_a_line_ceased_since_the_submission_refuses_the_approval(cast: Cast, staff: User) -> None:
    request = make_request(
        cast.rossi_legal_rep, RequestKind.TAKEOVER, lines=[cast.rossi_other_line], data=approved_data()
    )
    Line.objects.filter(pk=cast.rossi_other_line.pk).update(
        status=LineStatus.CEASED, ceased_on=timezone.localdate()
    )

    with pytest.raises(ValidationError):
        HANDLER.on_approved(request, by=staff)

    assert not Company.objects.filter(vat_number=INCOMING_VAT).exists()


# ---------------------------------------------------------------------------
# End to end, through the procedures' services
# ---------------------------------------------------------------------------
def test_a_takeover_submitted_and_approved_through_the_procedures(cast: Cast, staff: User) -> None:
    request = request_submit(
        membership=cast.rossi_legal_rep,
        kind=RequestKind.TAKEOVER,
        data=takeover(cast.rossi_other_line),
        files={
            "document_identity_outgoing": pdf_upload("anna.pdf"),
            "document_identity_incoming": pdf_upload(),
        },
    )
    assert set(request.documents.values_list("role", flat=True)) >= {"identity_outgoing", "identity_incoming"}
    cast.rossi_other_line.refresh_from_db()
    assert cast.rossi_other_line.status == LineStatus.ACTIVE

    request_approve(request=request, by=staff)

    request.refresh_from_db()
    assert request.status == RequestStatus.APPROVED
    cast.rossi_other_line.refresh_from_db()
    assert cast.rossi_other_line.status == LineStatus.CEASED
    assert Line.objects.get(
        number=cast.rossi_other_line.number, status=LineStatus.ACTIVE
    ).company.vat_number == (INCOMING_VAT)


def test_the_legal_rep_gets_the_form_and_an_admin_is_told_who_may_submit(client: Any, cast: Cast) -> None:
    from django.urls import reverse

    from tests.conftest import log_in

    url = reverse("procedures:request-create", kwargs={"kind": "takeover"})
    client.defaults["HTTP_ACCEPT_LANGUAGE"] = "en"

    assert 'name="incoming_vat_number"' in log_in(client, cast.rossi_legal_rep).get(url).content.decode()
    refused = log_in(client, cast.rossi_admin).get(url)
    assert refused.status_code == 403
    assert "outgoing company" in refused.content.decode()
