"""The provisioning feed, `import_customers FILE.json [--json]` (CONTRACTS.md, "The provisioning feed")."""

from __future__ import annotations

import copy
import json
import subprocess
from collections.abc import Callable
from datetime import UTC, date, datetime
from decimal import Decimal
from io import StringIO
from pathlib import Path
from typing import Any

import pytest
import time_machine
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import IntegrityError, connection
from django.test.utils import CaptureQueriesContext

from selfcare.models import Company, Line, LineStatus, Membership, Offer, Role, User
from selfcare.services import provisioning
from tests.cast import Cast
from tests.commands import manage, on_the_test_database
from tests.factories import iccid, vat_number

pytestmark = pytest.mark.django_db

ROSSI_VAT = "IT01234560017"
VERDI_VAT = vat_number(5_550_001)


def offer(code: str = "BIZ-UNL", **fields: Any) -> dict[str, Any]:
    return {
        "code": code,
        "name": f"Business {code}",
        "payment": "postpaid",
        "monthly_fee": "29.00",
        "unlimited_voice_sms": True,
        "unlimited_data": False,
        "data_gb": 100,
        **fields,
    }


def sim(serial: int) -> str:
    """A valid ICCID far from those of the factories' sequence (the cast's lines)."""
    return iccid(900_000_000 + serial)


def mobile(number: str, serial: int, **fields: Any) -> dict[str, Any]:
    return {
        "number": number,
        "kind": "mobile",
        "sim": "physical",
        "iccid": sim(serial),
        "offer": "BIZ-UNL",
        "cost_centre": "Vendite",
        "status": "active",
        "activated_on": "2025-03-01",
        "ceased_on": None,
        **fields,
    }


def company(vat: str = ROSSI_VAT, **fields: Any) -> dict[str, Any]:
    return {
        "vat_number": vat,
        "name": "Rossi Impianti S.r.l.",
        "tax_code": vat.removeprefix("IT"),
        "pec": "rossi@pec.example.it",
        "recipient_code": "M5UXCR1",
        "registered_office": "Via Roma 1, 20121 Milano MI",
        "users": [],
        "lines": [],
        **fields,
    }


def rossi_document() -> dict[str, Any]:
    """Two offers; Rossi with a legal rep, an admin and a line user; a physical SIM, an eSIM and a fixed line."""
    return {
        "offers": [offer("BIZ-UNL"), offer("RIC-50", payment="prepaid", monthly_fee="12.50", data_gb=50)],
        "companies": [
            company(
                users=[
                    {"email": "anna@rossi.example", "name": "Anna Rossi", "role": "legal_rep"},
                    {"email": "Marco@Rossi.example", "name": "Marco Rossi", "role": "admin"},
                    {"email": "luca@rossi.example", "name": "Luca Verdi", "role": "line_user"},
                ],
                lines=[
                    mobile("+393331234567", 1, assigned_to="luca@rossi.example"),
                    mobile("+393331234568", 2, sim="esim", offer="RIC-50", cost_centre="Cantieri"),
                    {
                        "number": "+390212345678",
                        "kind": "fixed",
                        "offer": "BIZ-UNL",
                        "status": "active",
                        "activated_on": "2024-11-15",
                    },
                ],
            )
        ],
    }


@pytest.fixture
def write_feed(tmp_path: Path) -> Callable[[dict[str, Any]], Path]:
    def write(document: dict[str, Any]) -> Path:
        path = tmp_path / f"feed-{len(list(tmp_path.iterdir()))}.json"
        path.write_text(json.dumps(document), encoding="utf-8")
        return path

    return write


@pytest.fixture
def import_feed(write_feed: Callable[[dict[str, Any]], Path]) -> Callable[[dict[str, Any]], dict[str, Any]]:
    """Run `import_customers FILE --json` on a document; return the JSON summary of its last line."""

    def run(document: dict[str, Any]) -> dict[str, Any]:
        out = StringIO()
        call_command("import_customers", str(write_feed(document)), "--json", stdout=out)
        summary: dict[str, Any] = json.loads(out.getvalue().splitlines()[-1])
        return summary

    return run


def rejections(summary: dict[str, Any]) -> dict[str, str]:
    return {rejection["path"]: rejection["code"] for rejection in summary["rejected"]}


def counts() -> dict[str, int]:
    return {model.__name__: model.objects.count() for model in (Offer, Company, User, Membership, Line)}


# ---------------------------------------------------------------------------
# A good file
# ---------------------------------------------------------------------------


def test_a_good_file_goes_in_and_the_json_summary_is_the_last_line(import_feed: Any) -> None:
    summary = import_feed(rossi_document())

    # 2 offers + 1 company + 3 users + 3 lines
    assert summary == {"inserted": 9, "updated": 0, "duplicates": 0, "rejected": []}
    rossi = Company.objects.get(vat_number=ROSSI_VAT)
    assert (rossi.name, rossi.tax_code, rossi.pec, rossi.recipient_code) == (
        "Rossi Impianti S.r.l.",
        "01234560017",
        "rossi@pec.example.it",
        "M5UXCR1",
    )
    roles = {m.user.email: m.role for m in Membership.objects.filter(company=rossi).select_related("user")}
    assert roles == {
        "anna@rossi.example": Role.LEGAL_REP,
        "marco@rossi.example": Role.ADMIN,
        "luca@rossi.example": Role.LINE_USER,
    }
    lines = {line.number: line for line in Line.objects.filter(company=rossi).select_related("offer")}
    phone, esim, fixed = lines["+393331234567"], lines["+393331234568"], lines["+390212345678"]
    assert (phone.number, phone.sim, phone.offer.code, phone.activated_on) == (
        "+393331234567",
        "physical",
        "BIZ-UNL",
        date(2025, 3, 1),
    )
    assert phone.assigned_to is not None
    assert phone.assigned_to.user.email == "luca@rossi.example"
    assert (esim.sim, esim.offer.payment, esim.cost_centre, esim.assigned_to) == (
        "esim",
        "prepaid",
        "Cantieri",
        None,
    )
    assert (fixed.kind, fixed.sim, fixed.iccid) == ("fixed", "", "")
    assert Offer.objects.get(code="RIC-50").monthly_fee == Decimal("12.50")


def test_users_created_by_the_feed_have_no_usable_password(import_feed: Any) -> None:
    import_feed(rossi_document())

    users = User.objects.filter(email__endswith="@rossi.example")
    assert users.count() == 3
    assert not any(user.has_usable_password() for user in users)


def test_an_existing_user_keeps_their_password_and_name_when_added_to_another_company(
    import_feed: Any,
) -> None:
    consultant = User.objects.create_user("anna@rossi.example", "la-sua-password-1", name="Anna R.")

    summary = import_feed(rossi_document())

    consultant.refresh_from_db()
    assert consultant.check_password("la-sua-password-1")
    assert consultant.name == "Anna R."
    assert Membership.objects.get(user=consultant).role == Role.LEGAL_REP
    assert summary["inserted"] == 9


def test_without_json_the_command_prints_counts_and_each_rejection(
    write_feed: Callable[[dict[str, Any]], Path],
) -> None:
    document = rossi_document()
    document["companies"][0]["lines"][0]["number"] = "+39333"
    out = StringIO()

    call_command("import_customers", str(write_feed(document)), stdout=out)

    assert out.getvalue().splitlines() == [
        "Inserted 8, updated 0, duplicates 0, rejected 1.",
        "  companies[0].lines[0]: +39333 is not a phone number in international form (+39…).",
    ]


# ---------------------------------------------------------------------------
# Bad items: rejected one by one with their path and reason, the rest go in
# ---------------------------------------------------------------------------


def _spoil_line(**fields: Any) -> Callable[[dict[str, Any]], None]:
    def spoil(document: dict[str, Any]) -> None:
        document["companies"][0]["lines"][0].update(fields)

    return spoil


def _spoil_company(**fields: Any) -> Callable[[dict[str, Any]], None]:
    def spoil(document: dict[str, Any]) -> None:
        document["companies"][0].update(fields)

    return spoil


def _spoil_user(**fields: Any) -> Callable[[dict[str, Any]], None]:
    def spoil(document: dict[str, Any]) -> None:
        document["companies"][0]["users"][1].update(fields)

    return spoil


def _spoil_offer(**fields: Any) -> Callable[[dict[str, Any]], None]:
    """A third offer, that no line of the file needs."""

    def spoil(document: dict[str, Any]) -> None:
        document["offers"].append(offer("SPARE", **fields))

    return spoil


BAD_ITEMS = {
    "bad VAT number": (
        _spoil_company(vat_number="IT01234560018"),
        "companies[0]",
        "invalid_vat_number",
        "IT01234560018 is not a valid Italian VAT number.",
    ),
    "bad tax code": (
        _spoil_company(tax_code="RSSMRA80A01F205Y"),
        "companies[0]",
        "invalid_tax_code",
        "RSSMRA80A01F205Y is not a valid Italian tax code.",
    ),
    "bad recipient code": (
        _spoil_company(recipient_code="M5UX"),
        "companies[0]",
        "invalid_recipient_code",
        "The e-invoicing recipient code has seven letters or digits.",
    ),
    "bad PEC": (
        _spoil_company(pec="rossi-at-pec"),
        "companies[0]",
        "invalid_email",
        "pec: rossi-at-pec is not a valid e-mail address.",
    ),
    "missing company name": (
        _spoil_company(name=" "),
        "companies[0]",
        "missing",
        "name is empty.",
    ),
    "bad number": (
        _spoil_line(number="+39 333 123 4567"),
        "companies[0].lines[0]",
        "invalid_phone_number",
        "+39 333 123 4567 is not a phone number in international form (+39…).",
    ),
    "impossible number": (
        _spoil_line(number="+391234567"),
        "companies[0].lines[0]",
        "invalid_phone_number",
        "+391234567 is not a valid phone number.",
    ),
    "bad ICCID check digit": (
        _spoil_line(iccid="8939880000000000007"),
        "companies[0].lines[0]",
        "invalid_iccid_check_digit",
        "The ICCID's check digit is wrong.",
    ),
    "ICCID that is no ICCID": (
        _spoil_line(iccid="12345"),
        "companies[0].lines[0]",
        "invalid_iccid",
        "An ICCID has 19 or 20 digits and starts with 89.",
    ),
    "unknown offer": (
        _spoil_line(offer="NO-SUCH-OFFER"),
        "companies[0].lines[0]",
        "unknown_offer",
        "Unknown offer NO-SUCH-OFFER.",
    ),
    "unknown assigned user": (
        _spoil_line(assigned_to="nobody@rossi.example"),
        "companies[0].lines[0]",
        "unknown_assigned_user",
        "Unknown assigned user nobody@rossi.example: not a user of this company.",
    ),
    "bad kind": (
        _spoil_line(kind="satellite"),
        "companies[0].lines[0]",
        "bad_choice",
        'kind must be one of "mobile", "fixed".',
    ),
    "bad SIM": (
        _spoil_line(sim="nano"),
        "companies[0].lines[0]",
        "bad_choice",
        'sim must be one of "physical", "esim".',
    ),
    "a fixed line with a SIM": (
        _spoil_line(kind="fixed"),
        "companies[0].lines[0]",
        "not_for_this_kind",
        "A fixed line has no SIM: sim must be empty. A fixed line has no SIM: iccid must be empty.",
    ),
    "bad status": (
        _spoil_line(status="stolen"),
        "companies[0].lines[0]",
        "bad_choice",
        'status must be one of "active", "suspended", "blocked", "ceased".',
    ),
    "bad date": (
        _spoil_line(activated_on="01/03/2025"),
        "companies[0].lines[0]",
        "bad_date",
        "activated_on must be a date written YYYY-MM-DD.",
    ),
    "ceased before activated": (
        _spoil_line(ceased_on="2025-02-28"),
        "companies[0].lines[0]",
        "bad_dates",
        "ceased_on is before activated_on.",
    ),
    "a NUL byte in a cost centre": (
        _spoil_line(cost_centre="Vendite\u0000"),
        "companies[0].lines[0]",
        "unprintable",
        "cost_centre contains control characters.",
    ),
    "a lone surrogate in a company name": (
        _spoil_company(name="Rossi \ud800"),
        "companies[0]",
        "unprintable",
        "name contains control characters.",
    ),
    "a line that is not an object": (
        lambda document: document["companies"][0]["lines"].__setitem__(0, "+393331234567"),
        "companies[0].lines[0]",
        "not_an_object",
        "A line must be a JSON object.",
    ),
    "bad user e-mail": (
        _spoil_user(email="marco.rossi.example"),
        "companies[0].users[1]",
        "invalid_email",
        "email: marco.rossi.example is not a valid e-mail address.",
    ),
    "bad role": (
        _spoil_user(role="owner"),
        "companies[0].users[1]",
        "bad_choice",
        'role must be one of "line_user", "admin", "legal_rep".',
    ),
    "bad payment": (
        _spoil_offer(payment="monthly"),
        "offers[2]",
        "bad_choice",
        'payment must be one of "postpaid", "prepaid".',
    ),
    "a fee with three decimals": (
        _spoil_offer(monthly_fee="12.505"),
        "offers[2]",
        "bad_amount",
        'monthly_fee must be an amount in euros with at most two decimals, such as "29.00".',
    ),
    "a fee that is a boolean": (
        _spoil_offer(monthly_fee=True),
        "offers[2]",
        "bad_amount",
        'monthly_fee must be an amount in euros with at most two decimals, such as "29.00".',
    ),
    "an unlimited flag that is a string": (
        _spoil_offer(unlimited_data="no"),
        "offers[2]",
        "not_boolean",
        "unlimited_data must be true or false.",
    ),
}


@pytest.mark.parametrize(("spoil", "path", "code", "error"), BAD_ITEMS.values(), ids=BAD_ITEMS.keys())
def test_a_bad_item_is_rejected_with_its_path_and_reason(
    import_feed: Any, spoil: Callable[[dict[str, Any]], None], path: str, code: str, error: str
) -> None:
    document = rossi_document()
    spoil(document)

    summary = import_feed(document)

    assert summary["rejected"] == [{"path": path, "error": error, "code": code}]


def test_the_good_items_of_a_file_with_bad_ones_still_go_in(import_feed: Any) -> None:
    document = rossi_document()
    document["offers"][1]["payment"] = "monthly"  # RIC-50 rejected: so is the line that needs it
    rossi = document["companies"][0]
    rossi["users"][2]["role"] = "boss"  # luca rejected: so is the line assigned to him
    rossi["lines"].append(mobile("+393331234569", 3, iccid="8939880000000000007"))
    bad_vat = company(vat_number="IT12345678901", lines=[mobile("+393339999999", 9)])
    verdi = company(VERDI_VAT, name="Verdi S.n.c.", lines=[mobile("+393338888888", 8)])
    document["companies"] += [bad_vat, verdi]

    summary = import_feed(document)

    assert rejections(summary) == {
        "offers[1]": "bad_choice",
        "companies[0].users[2]": "bad_choice",
        "companies[0].lines[0]": "unknown_assigned_user",
        "companies[0].lines[1]": "unknown_offer",
        "companies[0].lines[3]": "invalid_iccid_check_digit",
        "companies[1]": "invalid_vat_number",
    }
    # BIZ-UNL; Rossi, Anna and Marco, the fixed line; Verdi and its line.
    assert summary["inserted"] == 7
    assert set(Line.objects.values_list("number", flat=True)) == {"+390212345678", "+393338888888"}
    assert set(Company.objects.values_list("vat_number", flat=True)) == {ROSSI_VAT, VERDI_VAT}
    assert set(User.objects.values_list("email", flat=True)) == {"anna@rossi.example", "marco@rossi.example"}


def test_an_offer_already_in_the_database_serves_the_lines_of_a_file_without_offers(
    import_feed: Any,
) -> None:
    Offer.objects.create(code="BIZ-UNL", name="Business", payment="postpaid", monthly_fee=Decimal("29.00"))
    document = rossi_document()
    del document["offers"]
    document["companies"][0].update(users=[], lines=[mobile("+393331234567", 1)])

    summary = import_feed(document)

    assert summary == {"inserted": 2, "updated": 0, "duplicates": 0, "rejected": []}


def test_a_line_active_in_another_company_is_rejected(import_feed: Any, cast: Cast) -> None:
    document = rossi_document()
    document["companies"][0]["lines"][0]["number"] = cast.bianchi_line.number

    summary = import_feed(document)

    assert summary["rejected"] == [
        {
            "path": "companies[0].lines[0]",
            "error": f"The number {cast.bianchi_line.number} is active in another company; "
            "it must be ceased there first.",
            "code": "number_in_another_company",
        }
    ]
    cast.bianchi_line.refresh_from_db()
    assert cast.bianchi_line.company == cast.bianchi
    assert Line.objects.filter(number=cast.bianchi_line.number).count() == 1


def test_the_same_number_in_two_companies_of_one_file_goes_to_the_first_only(import_feed: Any) -> None:
    document = rossi_document()
    document["companies"].append(company(VERDI_VAT, name="Verdi S.n.c.", lines=[mobile("+393331234567", 7)]))

    summary = import_feed(document)

    assert rejections(summary) == {"companies[1].lines[0]": "number_in_another_company"}
    assert Line.objects.get(number="+393331234567").company.vat_number == ROSSI_VAT


def test_after_a_takeover_a_number_ceased_in_another_company_becomes_a_new_line(import_feed: Any) -> None:
    outgoing = company(VERDI_VAT, name="Verdi S.n.c.", lines=[mobile("+393331234567", 1)])
    import_feed({"offers": [offer()], "companies": [outgoing]})
    ceased = copy.deepcopy(outgoing)
    ceased["lines"][0].update(status="ceased", ceased_on="2025-09-30")
    incoming = company(lines=[mobile("+393331234567", 2, activated_on="2025-10-01")])

    summary = import_feed({"companies": [ceased, incoming]})

    assert summary == {"inserted": 2, "updated": 1, "duplicates": 1, "rejected": []}
    old, new = Line.objects.filter(number="+393331234567").order_by("pk")
    assert (old.company.vat_number, old.status, old.ceased_on) == (VERDI_VAT, "ceased", date(2025, 9, 30))
    assert (new.company.vat_number, new.status, new.activated_on) == (ROSSI_VAT, "active", date(2025, 10, 1))


def test_a_line_ceased_without_a_date_is_ceased_on_the_day_of_the_import_in_rome(import_feed: Any) -> None:
    document = rossi_document()
    lines = document["companies"][0]["lines"]
    lines[0].update(status="ceased")
    del lines[1]["activated_on"]

    # 23:30 in London on 1 March is already 2 March in Rome.
    with time_machine.travel(datetime(2026, 3, 1, 23, 30, tzinfo=UTC), tick=False):
        import_feed(document)

    ceased = Line.objects.get(number="+393331234567")
    assert (ceased.status, ceased.ceased_on) == ("ceased", date(2026, 3, 2))
    assert Line.objects.get(number="+393331234568").activated_on == date(2026, 3, 2)


def test_a_repeated_item_is_a_duplicate_and_a_conflicting_one_is_rejected(import_feed: Any) -> None:
    document = rossi_document()
    document["offers"].append(offer("BIZ-UNL"))
    document["offers"].append(offer("RIC-50", monthly_fee="99.00"))
    lines = document["companies"][0]["lines"]
    lines.append(copy.deepcopy(lines[0]))
    lines.append({**lines[1], "cost_centre": "Altro"})

    summary = import_feed(document)

    assert rejections(summary) == {"offers[3]": "conflict", "companies[0].lines[4]": "conflict"}
    assert summary["inserted"] == 9
    assert summary["duplicates"] == 2
    assert Offer.objects.get(code="RIC-50").monthly_fee == Decimal("12.50")


# ---------------------------------------------------------------------------
# Reruns and changes
# ---------------------------------------------------------------------------


def test_a_rerun_inserts_nothing_and_updates_nothing(import_feed: Any) -> None:
    document = rossi_document()
    document["companies"][0]["lines"][0].update(status="ceased", ceased_on="2025-09-30")
    import_feed(document)
    before = counts()
    stamps = dict(Line.objects.values_list("pk", "updated_at"))

    summary = import_feed(document)

    assert summary == {"inserted": 0, "updated": 0, "duplicates": 9, "rejected": []}
    assert counts() == before
    assert dict(Line.objects.values_list("pk", "updated_at")) == stamps


def test_a_changed_field_counts_as_updated(import_feed: Any) -> None:
    document = rossi_document()
    import_feed(document)
    document["offers"][0]["monthly_fee"] = "31.00"
    document["companies"][0]["pec"] = "rossi.impianti@pec.example.it"
    document["companies"][0]["lines"][1].update(offer="BIZ-UNL", iccid=sim(20), cost_centre="Direzione")

    summary = import_feed(document)

    assert summary == {"inserted": 0, "updated": 3, "duplicates": 6, "rejected": []}
    assert Offer.objects.get(code="BIZ-UNL").monthly_fee == Decimal("31.00")
    assert Company.objects.get().pec == "rossi.impianti@pec.example.it"
    line = Line.objects.get(number="+393331234568")
    assert (line.offer.code, line.iccid, line.cost_centre) == ("BIZ-UNL", sim(20), "Direzione")


def test_a_field_missing_from_the_feed_is_left_as_it_is(import_feed: Any) -> None:
    document = rossi_document()
    import_feed(document)
    del document["companies"][0]["registered_office"]
    del document["companies"][0]["lines"][1]["cost_centre"]

    summary = import_feed(document)

    assert summary["updated"] == 0
    assert Company.objects.get().registered_office == "Via Roma 1, 20121 Milano MI"
    assert Line.objects.get(number="+393331234568").cost_centre == "Cantieri"


# ---------------------------------------------------------------------------
# What the portal did stays done
# ---------------------------------------------------------------------------


def test_a_line_blocked_in_the_portal_stays_blocked_while_the_feed_updates_it(import_feed: Any) -> None:
    document = rossi_document()
    import_feed(document)
    Line.objects.filter(number="+393331234567").update(status=LineStatus.BLOCKED)

    rerun = import_feed(document)
    document["companies"][0]["lines"][0]["cost_centre"] = "Direzione"
    changed = import_feed(document)

    assert (rerun["inserted"], rerun["updated"]) == (0, 0)
    assert (changed["inserted"], changed["updated"]) == (0, 1)
    line = Line.objects.get(number="+393331234567")
    assert (line.status, line.cost_centre) == (LineStatus.BLOCKED, "Direzione")


def test_a_line_suspended_in_the_portal_stays_suspended(import_feed: Any) -> None:
    document = rossi_document()
    import_feed(document)
    Line.objects.filter(number="+393331234568").update(status=LineStatus.SUSPENDED)

    summary = import_feed(document)

    assert summary["updated"] == 0
    assert Line.objects.get(number="+393331234568").status == LineStatus.SUSPENDED


def test_the_feed_may_still_cease_a_blocked_line(import_feed: Any) -> None:
    document = rossi_document()
    import_feed(document)
    Line.objects.filter(number="+393331234567").update(status=LineStatus.BLOCKED)
    document["companies"][0]["lines"][0].update(status="ceased", ceased_on="2026-01-31")

    summary = import_feed(document)

    assert summary["updated"] == 1
    line = Line.objects.get(number="+393331234567")
    assert (line.status, line.ceased_on) == (LineStatus.CEASED, date(2026, 1, 31))


def test_a_line_ceased_in_the_portal_is_not_brought_back_by_an_old_file(import_feed: Any) -> None:
    document = rossi_document()
    import_feed(document)
    Line.objects.filter(number="+393331234567").update(status=LineStatus.CEASED, ceased_on=date(2026, 2, 1))

    summary = import_feed(document)

    assert (summary["inserted"], summary["updated"]) == (0, 0)
    assert list(Line.objects.filter(number="+393331234567").values_list("status", flat=True)) == ["ceased"]


def test_a_new_contract_for_a_ceased_number_of_the_same_company_is_a_new_line(import_feed: Any) -> None:
    document = rossi_document()
    document["companies"][0]["lines"][0].update(status="ceased", ceased_on="2025-09-30")
    import_feed(document)
    document["companies"][0]["lines"][0].update(
        status="active", activated_on="2026-01-10", ceased_on=None, iccid=sim(30)
    )

    summary = import_feed(document)

    assert (summary["inserted"], summary["updated"]) == (1, 0)
    assert sorted(Line.objects.filter(number="+393331234567").values_list("status", flat=True)) == [
        "active",
        "ceased",
    ]


def test_a_role_changed_in_the_portal_stays_changed(import_feed: Any) -> None:
    document = rossi_document()
    import_feed(document)
    Membership.objects.filter(user__email="luca@rossi.example").update(role=Role.ADMIN)

    summary = import_feed(document)

    assert (summary["inserted"], summary["updated"]) == (0, 0)
    assert Membership.objects.get(user__email="luca@rossi.example").role == Role.ADMIN


def test_an_assignment_changed_in_the_portal_stays_changed(import_feed: Any) -> None:
    document = rossi_document()
    import_feed(document)
    anna = Membership.objects.get(user__email="anna@rossi.example")
    Line.objects.filter(number="+393331234567").update(assigned_to=anna)

    summary = import_feed(document)

    assert summary["updated"] == 0
    assert Line.objects.get(number="+393331234567").assigned_to == anna


def test_a_line_may_be_assigned_to_a_member_that_the_file_does_not_list(import_feed: Any, cast: Cast) -> None:
    document = rossi_document()
    document["companies"][0]["users"] = []
    document["companies"][0]["lines"] = [mobile("+393331234567", 1, assigned_to="LUCA@rossi.example")]

    summary = import_feed(document)

    assert summary["rejected"] == []
    assert Line.objects.get(number="+393331234567").assigned_to == cast.rossi_line_user


def test_an_iccid_already_used_by_another_line_of_the_company_is_rejected(
    import_feed: Any, cast: Cast
) -> None:
    document = rossi_document()
    document["companies"][0]["lines"][0]["iccid"] = cast.rossi_other_line.iccid

    summary = import_feed(document)

    assert summary["rejected"] == [
        {
            "path": "companies[0].lines[0]",
            "error": f"The ICCID {cast.rossi_other_line.iccid} is already used by line "
            f"{cast.rossi_other_line.number}.",
            "code": "iccid_in_use",
        }
    ]


# ---------------------------------------------------------------------------
# Files refused whole
# ---------------------------------------------------------------------------

REFUSED_FILES = {
    "not JSON": (b'{"offers": [', "is not valid JSON (line 1, column 13"),
    "Latin-1, not UTF-8": (
        json.dumps(rossi_document(), ensure_ascii=False)
        .replace("Rossi Impianti", "Società Rossi")
        .encode("latin-1"),
        "is not UTF-8 text (byte 0xe0 at offset",
    ),
    "an empty file": (b"", "is not valid JSON (line 1, column 1"),
    "NaN": (b'{"offers": [{"monthly_fee": NaN}]}', "NaN is not a JSON value"),
    "nesting deep enough to exhaust the stack": (
        b'{"companies": ' + b"[" * 100_000 + b"]" * 100_000 + b"}",
        "is not valid JSON (maximum recursion depth exceeded",
    ),
    "an integer of ten thousand digits": (
        b'{"offers": [{"data_gb": ' + b"9" * 10_000 + b"}]}",
        "is not valid JSON (Exceeds the limit",
    ),
    "a list at the top": (b"[]", 'must hold one JSON object with an "offers" array'),
    "an object without offers or companies": (b'{"lines": []}', "must hold one JSON object"),
    "companies that are not an array": (b'{"companies": {"vat_number": "x"}}', "must hold one JSON object"),
}


@pytest.mark.parametrize(("content", "message"), REFUSED_FILES.values(), ids=REFUSED_FILES.keys())
def test_a_malformed_file_is_refused_whole_with_a_clear_message(
    tmp_path: Path, content: bytes, message: str
) -> None:
    path = tmp_path / "feed.json"
    path.write_bytes(content)

    with pytest.raises(CommandError, match="Nothing was imported") as refused:
        call_command("import_customers", str(path), "--json", stdout=StringIO())

    assert message in str(refused.value)
    assert counts() == dict.fromkeys(counts(), 0)


def test_a_missing_file_is_refused_with_a_clear_message(tmp_path: Path) -> None:
    with pytest.raises(CommandError, match=r"Cannot read .*missing\.json: No such file or directory"):
        call_command("import_customers", str(tmp_path / "missing.json"), stdout=StringIO())


def test_a_byte_order_mark_is_accepted(tmp_path: Path) -> None:
    path = tmp_path / "feed.json"
    path.write_bytes(b"\xef\xbb\xbf" + json.dumps(rossi_document()).encode())
    out = StringIO()

    call_command("import_customers", str(path), "--json", stdout=out)

    assert json.loads(out.getvalue().splitlines()[-1])["inserted"] == 9


def _manage(*args: str) -> subprocess.CompletedProcess[str]:
    """manage.py in a subprocess, against this test's database."""
    return manage(*args, env=on_the_test_database(), timeout=120)


@pytest.mark.django_db(transaction=True)
def test_the_command_exits_non_zero_on_a_refused_file_and_zero_with_rejections(tmp_path: Path) -> None:
    latin1 = tmp_path / "latin1.json"
    latin1.write_bytes('{"companies": [{"name": "Società"}]}'.encode("latin-1"))
    partly_bad = tmp_path / "partly-bad.json"
    document = rossi_document()
    document["companies"][0]["lines"][0]["iccid"] = "8939880000000000007"
    partly_bad.write_text(json.dumps(document), encoding="utf-8")

    refused = _manage("import_customers", str(latin1), "--json")
    imported = _manage("import_customers", str(partly_bad), "--json")

    assert refused.returncode != 0
    assert "latin1.json is not UTF-8 text" in refused.stderr
    assert refused.stdout == ""
    assert imported.returncode == 0, imported.stderr
    summary = json.loads(imported.stdout.splitlines()[-1])
    assert (summary["inserted"], rejections(summary)) == (
        8,
        {"companies[0].lines[0]": "invalid_iccid_check_digit"},
    )
    assert Line.objects.count() == 2


# ---------------------------------------------------------------------------
# Transactions and cost
# ---------------------------------------------------------------------------


def test_a_crash_in_the_middle_of_a_company_writes_nothing_of_it(
    import_feed: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    document = rossi_document()
    document["companies"].append(company(VERDI_VAT, name="Verdi S.n.c.", lines=[mobile("+393338888888", 8)]))
    write_lines = provisioning._lines_write

    def crash_on_verdi(company: Company, *args: Any) -> None:
        if company.vat_number == VERDI_VAT:
            raise RuntimeError("the database went away")
        write_lines(company, *args)

    monkeypatch.setattr(provisioning, "_lines_write", crash_on_verdi)

    with pytest.raises(RuntimeError):
        import_feed(document)

    assert list(Company.objects.values_list("vat_number", flat=True)) == [ROSSI_VAT]
    assert Line.objects.filter(number="+393338888888").count() == 0


def test_a_company_that_cannot_be_written_is_rejected_whole_and_the_others_go_in(
    import_feed: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    document = rossi_document()
    document["companies"].insert(
        0, company(VERDI_VAT, name="Verdi S.n.c.", lines=[mobile("+393338888888", 8)])
    )
    write_lines = provisioning._lines_write

    def race_on_verdi(company: Company, *args: Any) -> None:
        if company.vat_number == VERDI_VAT:
            raise IntegrityError('duplicate key value violates unique constraint "line_number_unique"')
        write_lines(company, *args)

    monkeypatch.setattr(provisioning, "_lines_write", race_on_verdi)

    summary = import_feed(document)

    assert rejections(summary) == {"companies[0]": "write_failed"}
    assert list(Company.objects.values_list("vat_number", flat=True)) == [ROSSI_VAT]
    assert Line.objects.count() == 3


def _company_with_lines(vat: str, lines: int, first: int) -> dict[str, Any]:
    users = [
        {"email": f"utente{n}@{vat.lower()}.example", "name": f"Utente {n}", "role": "line_user"}
        for n in range(lines)
    ]
    return company(
        vat,
        users=users,
        lines=[
            mobile(f"+39347{first + n:07d}", first + n, assigned_to=users[n]["email"]) for n in range(lines)
        ],
    )


def test_the_number_of_queries_does_not_grow_with_the_lines_of_a_company() -> None:
    Offer.objects.create(code="BIZ-UNL", name="Business", payment="postpaid", monthly_fee=Decimal("29.00"))

    def queries_to_import(document: dict[str, Any]) -> int:
        with CaptureQueriesContext(connection) as queries:
            summary = provisioning.customers_import(document=document)
        assert summary.rejected == []
        return len(queries)

    small = queries_to_import({"companies": [_company_with_lines(vat_number(7_100_001), 2, 1_000)]})
    large = queries_to_import({"companies": [_company_with_lines(vat_number(7_100_002), 40, 2_000)]})
    rerun = queries_to_import({"companies": [_company_with_lines(vat_number(7_100_002), 40, 2_000)]})

    assert small == large
    assert rerun <= large
