"""The load benchmark's data: many companies like the demo ones, made once, and a login for each client.

Everything goes through the demo's own loaders, so the load data obey the
same rules as the demo and the real feeds:

- the three demo companies come from `seed_demo` (with their requests, fair
  use findings, activation orders and help pages);
- the other companies (`BENCH_LOAD_COMPANIES` in all) are the demo's shape
  (selfcare.demo's `_DemoCompany`, `_users`, `_lines`), imported through the
  provisioning feed's service, each with a legal representative, two
  administrators, eight line users, 16 mobile and 2 fixed lines;
- their 90 days of traffic are drawn by billing.demo_traffic and imported as
  a feed file; `seed_demo`'s billing run then bills twelve months of every
  company (the run bills the whole database); their requests are the demo
  requests' forms (procedures.demo_requests), submitted by their members.

Seeding happens once: a database that already has the last company, its
requests and last month's billing run is used as it is.
"""

from __future__ import annotations

import io
import tempfile
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path
from typing import Any

from django.core.management import call_command
from django.db import connection, transaction
from django.utils import timezone

DEMO_COMPANIES = 3  # selfcare.demo.COMPANIES: numbers 1 to 3
_SURNAMES = [
    "Bruno", "Caruso", "Ferrara", "Gatti", "Leone", "Longo", "Mariani", "Martini", "Messina", "Monti",
    "Palumbo", "Pellegrini", "Riva", "Sala", "Serra", "Testa", "Villa", "Vitale", "Zanetti", "Fabbri",
]  # fmt: skip
_FIRST_NAMES = [
    "Giulia",
    "Marco",
    "Anna",
    "Nicola",
    "Irene",
    "Davide",
    "Elisa",
    "Franco",
    "Laura",
    "Pietro",
    "Silvia",
]
_MOBILE_PREFIXES = ["320", "328", "333", "338", "345", "349", "366", "380", "388", "392"]
_FIXED_PREFIXES = ["011", "051", "055", "081"]
_ROLES = ["legal_rep", "admin", "admin"] + ["line_user"] * 8


def load_companies(count: int) -> list[Any]:
    """The generated companies, numbered after the demo's (4 to `count`): the demo's shape, other names."""
    from selfcare.demo import _DemoCompany

    companies = []
    for number in range(DEMO_COMPANIES + 1, count + 1):
        surname = _SURNAMES[number % len(_SURNAMES)]
        companies.append(
            _DemoCompany(
                number=number,
                name=f"{surname} Carico {number:02d} S.r.l.",
                # Seven digits of the company, the tax office's three (015: valid).
                vat_body=f"{8_100_000 + number:07d}015",
                pec=f"carico{number}@pec.carico{number}.example",
                recipient_code="M5UXCR1",
                registered_office=f"Via del Carico {number}, 20100 Milano MI",
                domain=f"carico{number}.example",
                people=[(f"{_FIRST_NAMES[i]} {surname}", role) for i, role in enumerate(_ROLES)],
                # Numbers are prefix + 4,100,000 + number * 137,000 + i * 7,919: 16 lines stay in the company's range.
                mobile_prefix=_MOBILE_PREFIXES[number % len(_MOBILE_PREFIXES)],
                mobile_lines=16,
                fixed_prefix=_FIXED_PREFIXES[number % len(_FIXED_PREFIXES)],
                fixed_lines=2,
                cost_centres=["Direzione", "Vendite", "Magazzino", "Assistenza"],
                first_activation=date(2023, 3, 1) + timedelta(days=7 * number),
            )
        )
    return companies


def load_document(count: int) -> dict[str, Any]:
    """The generated companies as the provisioning feed would send them: selfcare.demo's document of them."""
    from selfcare.demo import demo_document

    return demo_document(load_companies(count))


def company_vat_numbers(count: int) -> list[str]:
    from selfcare.demo import demo_document

    return [c["vat_number"] for c in demo_document()["companies"]] + [
        c["vat_number"] for c in load_document(count)["companies"]
    ]


def _seeded(count: int) -> bool:
    from billing.models import BillingRun, BillingRunStatus
    from procedures.models import Request

    last_vat = company_vat_numbers(count)[-1]
    last_month = (timezone.localdate().replace(day=1) - timedelta(days=1)).replace(day=1)
    return (
        Request.objects.filter(company__vat_number=last_vat).exists()
        and BillingRun.objects.filter(status=BillingRunStatus.DONE, period_start=last_month).exists()
    )


def _import_traffic(vat_numbers: list[str]) -> int:
    """The demo's 90 days of traffic for the generated companies' lines, through the feed's importer."""
    from billing.demo_traffic import demo_lines, demo_traffic_write
    from billing.traffic_import import traffic_import_files

    with tempfile.TemporaryDirectory(prefix="bench-load-traffic-") as folder:
        path = Path(folder) / "load-traffic.csv"
        demo_traffic_write(path=path, today=timezone.localdate(), lines=demo_lines(vat_numbers))
        batch = traffic_import_files(paths=[path])
    if batch.refused or batch.result.rejected:
        raise ValueError(f"The load traffic was not accepted: {batch.refused} {batch.result.rejected[:5]}")
    return batch.result.inserted


def _submit_requests(vat_numbers: list[str]) -> int:
    """Each generated company gets the demo requests' forms, moved on by staff as the demo's are."""
    from procedures.demo_requests import _DEMO_REQUESTS, DEMO_STAFF_EMAIL, _member
    from procedures.models import Request
    from procedures.services import RequestInvalidError, request_submit
    from selfcare.models import Company, User

    staff = User.objects.get(email=DEMO_STAFF_EMAIL)
    made = 0
    for company in Company.objects.filter(vat_number__in=vat_numbers).order_by("pk"):
        for _number, kind, role, build, then in _DEMO_REQUESTS:
            member = _member(company, role)
            if member is None or Request.objects.filter(company=company, kind=kind).exists():
                continue
            data, files = build(member)
            try:
                request = request_submit(membership=member, kind=kind, data=data, files=files)
            except RequestInvalidError:
                continue
            then(request, staff)
            made += 1
    return made


def seed(count: int) -> None:
    """The load data, unless a previous run made them already."""
    from selfcare.management.commands.seed_demo import _give_demo_two_factor
    from selfcare.models import Membership, Role
    from selfcare.services.provisioning import customers_import

    if _seeded(count):
        print("   load data: already there", flush=True)
        return
    document = load_document(count)
    generated = [c["vat_number"] for c in document["companies"]]
    with transaction.atomic():
        summary = customers_import(document=document)
        if summary.rejected:
            raise ValueError(f"The load companies were rejected: {summary.rejected[:5]}")
        # Administrators and legal representatives must have two-factor set up, or every page asks for it.
        _give_demo_two_factor(
            m.user
            for m in Membership.objects.filter(
                company__vat_number__in=generated, role__in=[Role.ADMIN, Role.LEGAL_REP]
            ).select_related("user")
        )
    print(f"   load data: {len(generated)} companies imported", flush=True)
    print(f"   load data: {_import_traffic(generated)} traffic records imported", flush=True)
    # The demo companies, then twelve months billed for every company.
    call_command("seed_demo", stdout=io.StringIO())
    print(f"   load data: demo seeded and billed; {_submit_requests(generated)} requests made", flush=True)
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE")


@dataclass
class Credential:
    """One client's login: a session cookie for the pages, a token for the API, and what it may open."""

    company: str
    role: str
    cookie_name: str
    session: str
    token: str
    lines: list[int]
    numbers: list[str]
    invoices: list[int]
    requests: list[int]


def credentials(*, count: int, clients: int) -> list[Credential]:
    """`clients` logins, taking the companies in turn so that every company and role is busy."""
    from django.conf import settings

    from benchmarks.bench_pages import api_token, session_cookie
    from billing.models import Invoice
    from procedures.models import Request
    from selfcare.models import Line, Membership, Role

    memberships = list(
        Membership.objects.filter(company__vat_number__in=company_vat_numbers(count))
        .select_related("user", "company")
        .order_by("company_id", "pk")
    )
    by_company: dict[int, list[Any]] = {}
    for membership in memberships:
        by_company.setdefault(membership.company_id, []).append(membership)
    # Round robin: the first member of each company, then the second of each, and so on.
    ordered: list[Any] = []
    rank = 0
    while len(ordered) < len(memberships):
        ordered.extend(members[rank] for members in by_company.values() if rank < len(members))
        rank += 1

    tokens: dict[int, str] = {}
    made = []
    for slot in range(clients):
        membership = ordered[slot % len(ordered)]
        manager = membership.role in (Role.ADMIN, Role.LEGAL_REP)
        lines = Line.objects.filter(company=membership.company)
        if not manager:
            lines = lines.filter(assigned_to=membership)
        line_rows = list(lines.order_by("pk").values_list("pk", "number")[:20])
        if membership.pk not in tokens:
            tokens[membership.pk] = api_token(membership)
        made.append(
            Credential(
                company=membership.company.name,
                role=str(membership.role),
                cookie_name=settings.SESSION_COOKIE_NAME,
                session=session_cookie(membership).split("=", 1)[1],
                token=tokens[membership.pk],
                lines=[pk for pk, _number in line_rows],
                numbers=[number for _pk, number in line_rows],
                invoices=list(
                    Invoice.objects.filter(company=membership.company)
                    .order_by("-issued_on")
                    .values_list("pk", flat=True)[:12]
                )
                if manager
                else [],
                requests=list(
                    Request.objects.filter(company=membership.company).values_list("pk", flat=True)[:10]
                )
                if manager
                else [],
            )
        )
    return made
