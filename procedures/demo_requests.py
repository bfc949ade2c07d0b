"""Demo requests for `seed_demo`: a few forms of the demo companies, in every status of their review.

Submitted through procedures.services and moved on by a staff user through
the same services, so each has its receipt, history, messages and
notifications as a real one. Idempotent: a company that already has a
request of a kind gets no second one of it.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date
from typing import Any

from django.core.files.uploadedfile import SimpleUploadedFile
from django.utils import timezone

from procedures.models import Request
from procedures.services import (
    RequestInvalidError,
    request_approve,
    request_ask_info,
    request_reject,
    request_review_start,
    request_submit,
)
from selfcare.demo import COMPANIES
from selfcare.models import Company, LineKind, Membership, Role, User

# A one-page PDF standing in for the customer's scans.
_DEMO_PDF = (
    b"%PDF-1.4\n1 0 obj<</Type/Catalog/Pages 2 0 R>>endobj\n2 0 obj<</Type/Pages/Kids[3 0 R]/Count 1>>endobj\n"
    b"3 0 obj<</Type/Page/Parent 2 0 R/MediaBox[0 0 595 842]>>endobj\ntrailer<</Root 1 0 R>>\n%%EOF\n"
)
DEMO_STAFF_EMAIL = "staff@operatore.example.it"


def _scan(name: str) -> SimpleUploadedFile:
    return SimpleUploadedFile(name, _DEMO_PDF, content_type="application/pdf")


def _member(company: Company, role: str) -> Membership | None:
    return (
        Membership.objects.filter(company=company, role=role)
        .select_related("user", "company")
        .order_by("pk")
        .first()
    )


def seed_demo_requests(*, staff: User | None = None) -> int:
    """Make the demo requests that are missing; returns how many were made."""
    staff = (
        staff
        or User.objects.filter(email=DEMO_STAFF_EMAIL).first()
        or User.objects.filter(is_staff=True).first()
    )
    if staff is None:
        return 0
    companies = {demo.number: Company.objects.filter(name=demo.name).first() for demo in COMPANIES}
    made = 0
    for number, kind, role, build, then in _DEMO_REQUESTS:
        company = companies.get(number)
        member = _member(company, role) if company is not None else None
        if member is None or Request.objects.filter(company=member.company, kind=kind).exists():
            continue
        data, files = build(member)
        try:
            request = request_submit(membership=member, kind=kind, data=data, files=files)
        except RequestInvalidError:
            continue  # the demo company lacks what the form needs (no invoice yet to dispute)
        then(request, staff)
        made += 1
    return made


def _listing(member: Membership) -> tuple[dict[str, Any], dict[str, Any]]:
    lines = member.company.lines.filter(kind=LineKind.MOBILE).order_by("number")[:2]
    return {
        "lines": [str(line.pk) for line in lines],
        "listed": "yes",
        "published_name": member.company.name,
        "published_address": member.company.registered_office,
        "reverse_search": "on",
    }, {}


def _roaming_cap(member: Membership) -> tuple[dict[str, Any], dict[str, Any]]:
    line = member.company.lines.filter(kind=LineKind.MOBILE).order_by("number").first()
    return {
        "lines": [str(line.pk)] if line else [],
        "cap": "400.00",
        "reason": "Trasferta di tre settimane in Brasile per un cantiere.",
    }, {}


def _company_data(member: Membership) -> tuple[dict[str, Any], dict[str, Any]]:
    company = member.company
    return {
        "name": company.name,
        "vat_number": company.vat_number,
        "tax_code": company.tax_code,
        "street": "Via Melchiorre Gioia 80",
        "postcode": "20125",
        "city": "Milano",
        "province": "MI",
        "recipient_code": company.recipient_code,
        "pec": company.pec,
    }, {"document_chamber_extract": _scan("visura_camerale.pdf")}


def _stamp_duty(member: Membership) -> tuple[dict[str, Any], dict[str, Any]]:
    return {
        "legal_reference": "Esente da bollo art. 16 Tabella B DPR 642/1972",
        "valid_from": date(timezone.localdate().year, 1, 1).isoformat(),
    }, {"document_exemption_ground": _scan("dichiarazione_esenzione.pdf")}


def _dispute(member: Membership) -> tuple[dict[str, Any], dict[str, Any]]:
    invoice = member.company.invoices.order_by("issued_on").first()
    return {
        "invoices": [str(invoice.pk)] if invoice else [],
        "time_barred": "on",
        "reason": "Addebiti di traffico di oltre due anni fa fatturati solo ora.",
    }, {"document_dispute_evidence": _scan("fattura_contestata.pdf")}


def _vat_exemption(member: Membership) -> tuple[dict[str, Any], dict[str, Any]]:
    return {
        "regime_kind": "letter_of_intent",
        "legal_reference": "Non imponibile art. 8 c. 1 lett. c DPR 633/1972",
        "protocol_number": "24011512345678-000001",
        "ceiling": "15000.00",
        "valid_from": date(timezone.localdate().year, 1, 1).isoformat(),
    }, {"document_exemption_ground": _scan("dichiarazione_intento.pdf")}


def _leave(request: Request, staff: User) -> None:
    """Left as submitted: the work queue's newest."""


def _approve(request: Request, staff: User) -> None:
    request_review_start(request=request, by=staff)
    request_approve(request=request, by=staff, note="Limite attivo da subito.")


def _ask(request: Request, staff: User) -> None:
    request_review_start(request=request, by=staff)
    request_ask_info(
        request=request,
        by=staff,
        message="La visura allegata non riporta la nuova sede: ci invii quella aggiornata.",
    )


def _review(request: Request, staff: User) -> None:
    request_review_start(request=request, by=staff)


def _reject(request: Request, staff: User) -> None:
    request_reject(
        request=request,
        by=staff,
        reason="Gli addebiti contestati sono stati fatturati entro due anni: la prescrizione breve non si applica.",
    )


_Build = Callable[[Membership], tuple[dict[str, Any], dict[str, Any]]]
_Then = Callable[[Request, User], None]
# (demo company number, kind, who submits it, the form's data, what staff then do)
_DEMO_REQUESTS: tuple[tuple[int, str, str, _Build, _Then], ...] = (
    (1, "directory_listing", Role.ADMIN, _listing, _leave),
    (1, "roaming_cap", Role.ADMIN, _roaming_cap, _approve),
    (1, "company_data", Role.LEGAL_REP, _company_data, _ask),
    (2, "stamp_duty_exemption", Role.LEGAL_REP, _stamp_duty, _review),
    (2, "dispute", Role.ADMIN, _dispute, _reject),
    (3, "vat_exemption", Role.LEGAL_REP, _vat_exemption, _leave),
)
