"""The demo data of `make run`: a provisioning document like the operator's feed, and the demo 2FA secret.

`seed_demo` imports the document through the same service as the real feed,
so the demo data pass every rule the feed's data do. Everything here is fixed
(no randomness, no "today"): a second run finds the same document and adds
nothing.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any, Protocol

from allauth.mfa import app_settings as mfa_settings
from allauth.mfa.totp.internal.auth import format_hotp_value, hotp_value
from stdnum import luhn


class Writer(Protocol):
    """Where the demo loaders report what they did: a command's stdout, or any text stream."""

    def write(self, msg: str, /) -> Any: ...


# Published on purpose, like the demo password: every demo login that needs
# two-factor authentication (staff, administrators, legal representatives)
# shares it. Base32, 32 characters (160 bits, as allauth generates them).
DEMO_TOTP_SECRET = "AREACLIENTIBUSINESSDEMOTOTP23456"  # noqa: S105 - published with the demo logins  # nosec B105


def demo_totp_code(*, at: float | None = None) -> str:
    """The demo secret's current 6-digit code, as an authenticator app shows it."""
    counter = int(time.time() if at is None else at) // mfa_settings.TOTP_PERIOD
    return str(format_hotp_value(hotp_value(DEMO_TOTP_SECRET, counter)))


def _vat_number(body: str) -> str:
    """Seven digits of the company, three of the tax office, and the Luhn check digit."""
    return f"IT{body}{luhn.calc_check_digit(body)}"


def _iccid(company: int, serial: int) -> str:
    """A 19-digit ICCID of an Italian SIM (89 39 …) with its Luhn check digit."""
    body = f"89390100{company:02d}{serial:08d}"
    return body + luhn.calc_check_digit(body)


OFFERS: list[dict[str, Any]] = [
    {
        "code": "BIZ-UNL-100",
        "name": "Business Unlimited 100",
        "payment": "postpaid",
        "monthly_fee": "29.00",
        "unlimited_voice_sms": True,
        "unlimited_data": False,
        "data_gb": 100,
    },
    {
        "code": "BIZ-UNL-TOP",
        "name": "Business Unlimited Top",
        "payment": "postpaid",
        "monthly_fee": "39.90",
        "unlimited_voice_sms": True,
        "unlimited_data": True,
        "data_gb": None,
    },
    {
        "code": "BIZ-START-20",
        "name": "Business Start 20",
        "payment": "postpaid",
        "monthly_fee": "9.90",
        "unlimited_voice_sms": False,
        "unlimited_data": False,
        "data_gb": 20,
    },
    {
        "code": "RIC-BIZ-50",
        "name": "Ricaricabile Business 50",
        "payment": "prepaid",
        "monthly_fee": "12.00",
        "unlimited_voice_sms": True,
        "unlimited_data": False,
        "data_gb": 50,
    },
    {
        "code": "RIC-BIZ-BASE",
        "name": "Ricaricabile Business Base",
        "payment": "prepaid",
        "monthly_fee": "5.00",
        "unlimited_voice_sms": False,
        "unlimited_data": False,
        "data_gb": 10,
    },
    {
        "code": "FIBRA-BIZ",
        "name": "Fibra Business",
        "payment": "postpaid",
        "monthly_fee": "34.90",
        "unlimited_voice_sms": True,
        "unlimited_data": True,
        "data_gb": None,
    },
]

# Mobile lines cycle through these offers: mostly postpaid, some prepaid.
_MOBILE_OFFERS = ["BIZ-UNL-100", "BIZ-UNL-100", "BIZ-UNL-TOP", "BIZ-START-20", "RIC-BIZ-50", "RIC-BIZ-BASE"]


@dataclass(frozen=True)
class _DemoCompany:
    number: int
    name: str
    vat_body: str
    pec: str
    recipient_code: str
    registered_office: str
    domain: str
    # (name, role); e-mail addresses are name.surname@domain.
    people: list[tuple[str, str]]
    mobile_prefix: str
    mobile_lines: int
    fixed_prefix: str
    fixed_lines: int
    cost_centres: list[str]
    first_activation: date


# A consultant who administers two of the companies (DOMAIN.md: a consultant
# may serve several): one login, a company switcher.
CONSULTANT = {"email": "davide.greco@studiogreco.example", "name": "Davide Greco", "role": "admin"}

COMPANIES = [
    _DemoCompany(
        number=1,
        name="Ferretti Costruzioni S.r.l.",
        vat_body="0865432015",
        pec="ferretticostruzioni@pec.ferretti.example",
        recipient_code="M5UXCR1",
        registered_office="Via Melchiorre Gioia 72, 20125 Milano MI",
        domain="ferretti.example",
        people=[
            ("Marta Ferretti", "legal_rep"),
            ("Paolo Colombo", "admin"),
            ("Luca Bianchi", "line_user"),
            ("Sara Galli", "line_user"),
            ("Matteo Fontana", "line_user"),
            ("Giorgia Rinaldi", "line_user"),
            ("Andrea Moretti", "line_user"),
        ],
        mobile_prefix="347",
        mobile_lines=21,
        fixed_prefix="02",
        fixed_lines=3,
        cost_centres=["Direzione", "Cantieri", "Ufficio tecnico", "Amministrazione"],
        first_activation=date(2023, 2, 1),
    ),
    _DemoCompany(
        number=2,
        name="Studio Associato Conti & Marino",
        vat_body="1234567100",
        pec="studiocontimarino@pec.contimarino.example",
        recipient_code="KRRH6B9",
        registered_office="Via Cola di Rienzo 212, 00192 Roma RM",
        domain="contimarino.example",
        people=[
            ("Alessandro Conti", "legal_rep"),
            ("Francesca Marino", "admin"),
            ("Chiara De Luca", "line_user"),
            ("Simone Gallo", "line_user"),
            ("Elena Ricci", "line_user"),
        ],
        mobile_prefix="335",
        mobile_lines=9,
        fixed_prefix="06",
        fixed_lines=3,
        cost_centres=["Studio", "Consulenza fiscale", "Segreteria"],
        first_activation=date(2023, 9, 15),
    ),
    _DemoCompany(
        number=3,
        name="Lombardi Trasporti S.p.A.",
        vat_body="0456789023",
        pec="lombarditrasporti@pec.lombardi.example",
        recipient_code="SUBM70N",
        registered_office="Via dell'Industria 18, 37135 Verona VR",
        domain="lombardi.example",
        people=[
            ("Roberto Lombardi", "legal_rep"),
            ("Paola Barbieri", "admin"),
            ("Stefano Mancini", "line_user"),
            ("Valentina Costa", "line_user"),
            ("Giuseppe Esposito", "line_user"),
            ("Federica Romano", "line_user"),
        ],
        mobile_prefix="340",
        mobile_lines=16,
        fixed_prefix="045",
        fixed_lines=2,
        cost_centres=["Autisti", "Magazzino", "Logistica", "Direzione"],
        first_activation=date(2024, 1, 10),
    ),
]

# Companies the consultant administers.
CONSULTANT_COMPANIES = {1, 3}


def _email(full_name: str, domain: str) -> str:
    return f"{full_name.lower().replace(' ', '.')}@{domain}"


def _users(company: _DemoCompany) -> list[dict[str, str]]:
    users = [
        {"email": _email(name, company.domain), "name": name, "role": role} for name, role in company.people
    ]
    if company.number in CONSULTANT_COMPANIES:
        users.append(dict(CONSULTANT))
    return users


def _lines(company: _DemoCompany, users: list[dict[str, str]]) -> list[dict[str, Any]]:
    line_users = [user["email"] for user in users if user["role"] == "line_user"]
    legal_rep = next(user["email"] for user in users if user["role"] == "legal_rep")
    lines: list[dict[str, Any]] = []
    for i in range(company.mobile_lines):
        # Line users get one or two phones each; the legal representative one;
        # the rest are pool phones of a cost centre, assigned to nobody.
        assigned_to = line_users[i] if i < len(line_users) else None
        if i == len(line_users) + 1:
            assigned_to = line_users[0]
        if i == len(line_users):
            assigned_to = legal_rep
        lines.append(
            {
                "number": f"+39{company.mobile_prefix}{4_100_000 + company.number * 137_000 + i * 7_919:07d}",
                "kind": "mobile",
                "sim": "esim" if i % 5 == 2 else "physical",
                "iccid": _iccid(company.number, i + 1),
                "offer": _MOBILE_OFFERS[i % len(_MOBILE_OFFERS)],
                "cost_centre": company.cost_centres[i % len(company.cost_centres)],
                "status": "active",
                "activated_on": (company.first_activation + timedelta(days=23 * i)).isoformat(),
                "ceased_on": None,
                "assigned_to": assigned_to,
            }
        )
    for i in range(company.fixed_lines):
        # Fixed numbers: the area code (02 Milano, 06 Roma, 045 Verona) and
        # the subscriber number, ten digits in all.
        digits = 10 - len(company.fixed_prefix)
        subscriber = 8 * 10 ** (digits - 1) + company.number * 10_000 + i * 101
        lines.append(
            {
                "number": f"+39{company.fixed_prefix}{subscriber}",
                "kind": "fixed",
                "offer": "FIBRA-BIZ",
                "cost_centre": company.cost_centres[0],
                "status": "active",
                "activated_on": company.first_activation.isoformat(),
                "ceased_on": None,
            }
        )
    if company.number == 1:
        # A line given back after a site closed: its history and invoices stay.
        lines[-company.fixed_lines - 1].update(status="ceased", ceased_on="2025-06-30", assigned_to=None)
    return lines


def demo_document(companies_of_the_demo: Sequence[_DemoCompany] = COMPANIES) -> dict[str, Any]:
    """The demo offers, companies, users and lines, as the provisioning feed would send them.

    Other companies of the same shape (the load benchmark's) go through the same document.
    """
    companies = []
    for company in companies_of_the_demo:
        users = _users(company)
        companies.append(
            {
                "vat_number": _vat_number(company.vat_body),
                "name": company.name,
                "tax_code": _vat_number(company.vat_body).removeprefix("IT"),
                "pec": company.pec,
                "recipient_code": company.recipient_code,
                "registered_office": company.registered_office,
                "users": users,
                "lines": _lines(company, users),
            }
        )
    return {"offers": OFFERS, "companies": companies}
