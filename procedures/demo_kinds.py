"""Demo requests of four kinds for `seed_demo`: a theft report, a withdrawal, a takeover, numbers in clear.

Made through the same service as real requests (procedures.services.request_submit),
so that each has its reference, receipt, history and effects:
- Ferretti: a line user's theft report, with a replacement SIM; the line is
  blocked, and the complaint is due in two days (the report is dated five
  days back), so the reminder shows up;
- Conti & Marino: the legal representative's withdrawal of one line,
  effective 30 days after receipt, with its letter for PEC;
- Lombardi: the legal representative's takeover of one line by a new
  company, waiting for staff, with both identity documents;
- Ferretti: a request for numbers in clear, if the company has invoices.

Idempotent: a company that has a request of the kind already gets no other.
"""

from __future__ import annotations

import base64
from datetime import timedelta
from typing import Any

from django.core.exceptions import ValidationError
from django.core.files.uploadedfile import SimpleUploadedFile
from django.utils import timezone

from procedures.models import Request, RequestKind
from selfcare.demo import Writer, demo_document
from selfcare.models import Company, Line, LineKind, LineStatus, Membership, Role

# A 1x1 PNG: the demo's stand-in for a scanned identity document.
_PNG = base64.b64decode(
    "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8BQDwAEhQGAhKmMIQAAAABJRU5ErkJggg=="
)


def _member(company: Company, role: Role) -> Membership | None:
    return Membership.objects.filter(company=company, role=role).select_related("user").order_by("pk").first()


def _mobile_lines(company: Company, membership: Membership | None = None) -> list[Line]:
    lines = Line.objects.filter(company=company, kind=LineKind.MOBILE, status=LineStatus.ACTIVE)
    if membership is not None:
        lines = lines.filter(assigned_to=membership)
    return list(lines.order_by("number")[:2])


def _submit(
    membership: Membership, kind: str, data: dict[str, Any], files: dict[str, Any] | None = None
) -> Request | None:
    from procedures.services import request_submit

    try:
        return request_submit(membership=membership, kind=kind, data=data, files=files)
    except ValidationError:
        # A demo company whose data do not fit the kind's rules (no invoice for numbers in clear).
        return None


def _theft(company: Company) -> Request | None:
    member = _member(company, Role.LINE_USER) or _member(company, Role.ADMIN)
    if member is None:
        return None
    lines = _mobile_lines(company, member if member.role == Role.LINE_USER else None) or _mobile_lines(
        company
    )
    if not lines:
        return None
    request = _submit(
        member,
        RequestKind.THEFT_LOSS,
        {
            "lines": [str(lines[0].pk)],
            "circumstance": "theft",
            "happened_on": (timezone.localdate() - timedelta(days=5)).isoformat(),
            "replacement": "physical",
            "delivery_address": "Via Melchiorre Gioia 74, 20125 Milano MI",
            "blocking_understood": "on",
        },
    )
    if request is not None:
        # Reported five days ago: the complaint is due in two days, so the reminder is on its way.
        reported_at = timezone.now() - timedelta(days=5)
        Request.objects.filter(pk=request.pk).update(
            submitted_at=reported_at, due_on=timezone.localdate(reported_at) + timedelta(days=7)
        )
    return request


def _withdrawal(company: Company) -> Request | None:
    legal_rep = _member(company, Role.LEGAL_REP)
    lines = _mobile_lines(company)
    if legal_rep is None or not lines:
        return None
    return _submit(
        legal_rep,
        RequestKind.WITHDRAWAL,
        {
            "scope": "lines",
            "lines": [str(lines[-1].pk)],
            "reason": "Linea non più utilizzata dallo studio.",
            "effective_understood": "on",
        },
    )


def _takeover(company: Company) -> Request | None:
    legal_rep = _member(company, Role.LEGAL_REP)
    lines = _mobile_lines(company)
    if legal_rep is None or not lines:
        return None
    return _submit(
        legal_rep,
        RequestKind.TAKEOVER,
        {
            "incoming_name": "Lombardi Logistica Nord S.r.l.",
            "incoming_vat_number": "IT01114601006",
            "incoming_tax_code": "01114601006",
            "incoming_registered_office": "Via dell'Industria 22, 37135 Verona VR",
            "incoming_pec": "amministrazione@pec.lombardilogisticanord.example.it",
            "incoming_recipient_code": "",
            "incoming_legal_rep_name": "Giorgio Lombardi",
            "incoming_legal_rep_email": "giorgio@lombardilogisticanord.example.it",
            "takeover_date": (timezone.localdate() + timedelta(days=20)).isoformat(),
            "lines": [str(lines[-1].pk)],
            "outgoing_consent": "on",
        },
        files={
            "document_identity_outgoing": SimpleUploadedFile("documento-uscente.png", _PNG, "image/png"),
            "document_identity_incoming": SimpleUploadedFile("documento-entrante.png", _PNG, "image/png"),
        },
    )


def _clear_numbers(company: Company) -> Request | None:
    from billing.clear_numbers import clear_numbers_earliest_day, clear_numbers_last_invoiced_day

    legal_rep = _member(company, Role.LEGAL_REP)
    last = clear_numbers_last_invoiced_day(company_id=company.pk)
    lines = _mobile_lines(company)
    if legal_rep is None or last is None or not lines:
        return None
    return _submit(
        legal_rep,
        RequestKind.CLEAR_NUMBERS,
        {
            "lines": [str(lines[0].pk)],
            "period_start": max(clear_numbers_earliest_day(), last.replace(day=1)).isoformat(),
            "period_end": last.isoformat(),
            "users_informed": "on",
        },
    )


DEMOS = (
    (0, RequestKind.THEFT_LOSS, _theft),
    (1, RequestKind.WITHDRAWAL, _withdrawal),
    (2, RequestKind.TAKEOVER, _takeover),
    (0, RequestKind.CLEAR_NUMBERS, _clear_numbers),
)


def seed_demo_kinds(*, stdout: Writer | None = None) -> int:
    """Make the demo requests that are not there yet; how many were made."""
    vat_numbers = [company["vat_number"] for company in demo_document()["companies"]]
    by_vat = {company.vat_number: company for company in Company.objects.filter(vat_number__in=vat_numbers)}
    made = 0
    for index, kind, make in DEMOS:
        company = by_vat.get(vat_numbers[index]) if index < len(vat_numbers) else None
        if company is None or Request.objects.filter(company=company, kind=kind).exists():
            continue
        if make(company) is not None:
            made += 1
    if stdout is not None:
        stdout.write(f"Demo requests (takeover, withdrawal, theft, numbers in clear): {made} made.\n")
    return made
