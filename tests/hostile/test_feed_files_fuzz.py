"""Hypothesis mutations of good feed files, imported for real: bad feeds lose nothing (QUALITY.md).

A good traffic file and a good provisioning file are mutated at random (cut
mid-row, bytes flipped, a byte-order mark, CRLF, a Latin-1 row, NUL bytes, a
huge field, rows repeated or changed under the same id, blank lines, a bad
header) and imported on PostgreSQL. The invariants: the file is refused whole
with nothing written exactly when it is not UTF-8 or its header is wrong;
otherwise every data row is inserted, a duplicate or rejected with its row
number and reason, and which one is what the row-by-row rules of
billing.traffic_feed say (the embedded mode's checker: so the set-based SQL
check and the Python one agree on hostile rows too); the good rows are
stored exactly once; and importing the same file again inserts nothing and
rejects the same rows. The provisioning feed likewise: refused whole, or
each bad item rejected by its path, and a rerun changes nothing.

tests/billing/test_traffic_import.py and tests/selfcare/test_import_customers.py
hold the hand-written cases; these find the ones nobody thought of. Each
example runs in a savepoint rolled back after it, so examples do not see
each other's rows.
"""

# ruff: noqa: RUF001, PT017 - look-alike digits are the point; an except block is where a refusal is checked

from __future__ import annotations

import csv
import json
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pytest
from django.db import transaction
from django.utils import timezone
from hypothesis import event, given
from hypothesis import strategies as st

from billing.models import TrafficDailyTotal, TrafficRecord, TrafficRecordId
from billing.traffic_feed import (
    ERROR_ORDER,
    FEED_COLUMNS,
    TrafficFeedRefusedError,
    split_quoted_row,
    traffic_row_check,
)
from billing.traffic_import import traffic_import_file
from selfcare.models import Company, Line, Membership, Offer, User
from selfcare.services.provisioning import FeedRefusedError, customers_feed_parse, customers_import
from tests.billing.traffic_files import HEADER, call, data_session, row_text
from tests.factories import CompanyFactory, LineFactory
from tests.hostile.strategies import stable

pytestmark = pytest.mark.django_db

ROSSI, BIANCHI = "+393331112222", "+393334445555"


class _RollbackError(Exception):
    pass


@contextmanager
def rolled_back() -> Iterator[None]:
    """The block in a savepoint that is always undone: each Hypothesis example starts from the same database."""
    try:
        with transaction.atomic():
            yield
            raise _RollbackError
    except _RollbackError:
        pass


# ---------------------------------------------------------------------------
# The traffic feed
# ---------------------------------------------------------------------------


def good_rows() -> list[str]:
    return [
        row_text(call("r1", ROSSI)),
        row_text(call("r2", BIANCHI, direction="in", other_party="")),
        row_text(data_session("r3", ROSSI, country="FR")),
        row_text(call("r4", ROSSI, service="sms", duration_s="0", other_party="4916")),
        row_text(call("r5", BIANCHI, started_at="2026-11-21T23:30:00Z", other_operator="ILIAD")),
        row_text(data_session("r6", BIANCHI, volume_bytes="1", topup="1")),
    ]


# Each mutation: (kind, a position drawn as a fraction of the file, a byte).
MUTATIONS = st.lists(
    st.tuples(
        st.sampled_from(
            [
                "truncate",
                "flip",
                "bom",
                "crlf",
                "latin1",
                "nul",
                "huge_field",
                "duplicate",
                "conflict",
                "blank",
                "junk_line",
                "quote",
                "header",
                "lone_cr",
            ]
        ),
        st.floats(min_value=0, max_value=1),
        st.integers(min_value=0, max_value=255),
    ),
    min_size=1,
    max_size=4,
)


def mutate(rows: list[str], mutations: list[tuple[str, float, int]], junk: str) -> bytes:
    """The file's bytes: the header and `rows`, changed by each mutation in turn."""
    lines = [HEADER, *rows]
    tail: list[tuple[str, float, int]] = []
    for kind, where, byte in mutations:
        at = 1 + int(where * (len(lines) - 1)) if len(lines) > 1 else 0
        at = min(at, len(lines) - 1)
        if kind == "duplicate" and len(lines) > 1:
            lines.insert(at, lines[max(at, 1)])
        elif kind == "conflict" and len(lines) > 1:
            lines.append(lines[max(at, 1)].replace(",0,IT,", ",1,IT,", 1).replace("120,", "121,", 1))
        elif kind == "blank":
            lines.insert(max(at, 1), "")
        elif kind == "junk_line":
            lines.insert(max(at, 1), junk)
        elif kind == "huge_field" and len(lines) > 1:
            fields = lines[max(at, 1)].split(",")
            fields[byte % len(fields)] = "9" * 200_000
            lines[max(at, 1)] = ",".join(fields)
        elif kind == "quote" and len(lines) > 1:
            fields = lines[max(at, 1)].split(",")
            fields[byte % len(fields)] = '"' + fields[byte % len(fields)] + ('"' if byte % 2 else "")
            lines[max(at, 1)] = ",".join(fields)
        elif kind == "header":
            lines[0] = HEADER.replace("record_id", "id") if byte % 2 else HEADER.upper()
        elif kind == "latin1" and len(lines) > 1:
            lines[max(at, 1)] = lines[max(at, 1)].replace("TIM", "TIMò").replace("r", "ŕ", 1)
            tail.append((kind, where, byte))
        else:
            tail.append((kind, where, byte))
    text = "\n".join(lines) + "\n"
    content = text.encode("utf-8")
    for kind, where, byte in tail:
        at = int(where * len(content))
        if kind == "truncate":
            content = content[:at]
        elif kind == "flip" and content:
            at = min(at, len(content) - 1)
            content = content[:at] + bytes([byte]) + content[at + 1 :]
        elif kind == "bom":
            content = b"\xef\xbb\xbf" + content
        elif kind == "crlf":
            content = content.replace(b"\n", b"\r\n")
        elif kind == "latin1":
            content = text.encode("latin-1", errors="replace")
        elif kind == "nul":
            content = content[:at] + b"\x00" + content[at:]
        elif kind == "lone_cr":
            content = content[:at] + b"\r" + content[at:]
    return content


def expected(content: bytes, numbers: set[str]) -> dict[str, Any] | None:
    """What the contract says an import of `content` does, row by row in Python; None when refused whole.

    Reads the file as the embedded mode does (billing.traffic_import._import_sqlite),
    with PostgreSQL's own reading of bytes COPY cannot take: NUL and a lone CR
    become a control character that rejects their row.
    """
    first, _newline, rest = content.partition(b"\n")
    try:
        header = first.decode("utf-8").removeprefix("\ufeff").rstrip("\r\n")
        text = rest.decode("utf-8")
    except UnicodeDecodeError:
        return None
    try:
        columns = tuple(next(csv.reader([header], strict=True), []))
    except csv.Error:
        return None
    if columns != FEED_COLUMNS:
        return None
    if not first:
        return None
    text = text.replace("\r\n", "\n").replace("\x00", "\x1a").replace("\r", "\x1a")
    lines = text.split("\n")
    if lines and lines[-1] == "":
        lines.pop()
    now = timezone.now()
    rejected: list[tuple[int, str]] = []
    first_of: dict[str, str] = {}
    inserted = duplicates = 0
    for row_no, raw in enumerate(lines, start=1):
        if raw == "":
            continue
        fields = split_quoted_row(raw) if '"' in raw else raw.split(",")
        row = traffic_row_check(row_no=row_no, fields=fields, now=now)
        errors = list(row.errors)
        if (
            fields is not None
            and len(fields) == len(FEED_COLUMNS)
            and "line_format" not in errors
            and fields[1] not in numbers
        ):
            errors.append("line_unknown")
        if errors:
            rejected.append((row_no, min(errors, key=ERROR_ORDER.index)))
            continue
        record_id = row.fields[0]
        if record_id not in first_of:
            first_of[record_id] = row.fingerprint
            inserted += 1
        elif first_of[record_id] == row.fingerprint:
            duplicates += 1
        else:
            rejected.append((row_no, "conflict_in_file"))
    return {"inserted": inserted, "duplicates": duplicates, "rejected": rejected}


def written() -> tuple[int, int, int, int]:
    totals = sum(TrafficDailyTotal.objects.values_list("records", flat=True))
    return (
        TrafficRecord.objects.count(),
        TrafficRecordId.objects.count(),
        TrafficDailyTotal.objects.count(),
        totals,
    )


@stable(40)
@given(mutations=MUTATIONS, junk=st.text(max_size=60))
def test_a_mutated_traffic_file_is_refused_whole_or_imported_row_by_row_and_a_rerun_changes_nothing(
    tmp_path_factory: pytest.TempPathFactory, mutations: list[tuple[str, float, int]], junk: str
) -> None:
    content = mutate(good_rows(), mutations, junk)
    path = tmp_path_factory.mktemp("feed") / "traffic.csv"
    path.write_bytes(content)

    with rolled_back():
        rossi = LineFactory.create(number=ROSSI, company=CompanyFactory.create(name="Rossi"))
        LineFactory.create(number=BIANCHI, company=CompanyFactory.create(name="Bianchi"))
        assert rossi.activated_on is not None
        want = expected(content, {ROSSI, BIANCHI})

        try:
            result = traffic_import_file(path=path)
        except TrafficFeedRefusedError as refusal:
            event("refused whole")
            assert want is None, f"refused a readable file: {refusal}"
            assert "Nothing was imported" in str(refusal)
            assert written() == (0, 0, 0, 0)
            return
        assert want is not None, "imported a file that is not UTF-8 or has the wrong header"

        got = [(rejection.row, rejection.code) for rejection in result.rejected]
        event(f"imported, {len(got)} row(s) rejected")
        assert got == want["rejected"]
        assert all(rejection.error for rejection in result.rejected)
        assert (result.inserted, result.duplicates) == (want["inserted"], want["duplicates"])
        records, ids, _totals, summed = written()
        assert records == ids == summed == result.inserted  # each good row stored exactly once, and counted

        again = traffic_import_file(path=path)
        assert again.inserted == 0
        assert again.duplicates == result.inserted + result.duplicates
        assert [(rejection.row, rejection.code) for rejection in again.rejected] == got
        assert written() == (records, ids, _totals, summed)


# ---------------------------------------------------------------------------
# The provisioning feed
# ---------------------------------------------------------------------------


def provisioning_document() -> dict[str, Any]:
    from tests.selfcare.test_import_customers import rossi_document

    return rossi_document()


def _counts() -> dict[str, int]:
    return {model.__name__: model.objects.count() for model in (Offer, Company, User, Membership, Line)}


# JSON values that are wrong for almost any field.
BAD_VALUES = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(10**30), max_value=10**30),
    st.floats(allow_nan=False, allow_infinity=False),
    st.text(max_size=30),
    st.sampled_from(["", " ", "\x00", "٣٣٣", "x" * 5000, "IT00000000000", "+39٣٣٣١١١٢٢٢٢", "2026-02-30"]),
    st.lists(st.integers(), max_size=2),
    st.dictionaries(st.text(max_size=5), st.integers(), max_size=2),
)


def _places(document: dict[str, Any]) -> list[tuple[Any, str]]:
    """Every (container, key) of the document's items, to put a bad value in."""
    places: list[tuple[Any, str]] = []
    for offer in document["offers"]:
        places += [(offer, key) for key in offer]
    for company in document["companies"]:
        places += [(company, key) for key in company]
        for item in company["users"] + company["lines"]:
            places += [(item, key) for key in item]
    return places


@stable(30)
@given(data=st.data(), byte_mutation=st.sampled_from(["none", "truncate", "latin1", "bom", "nul", "flip"]))
def test_a_mutated_provisioning_file_is_refused_whole_or_imported_item_by_item_and_a_rerun_changes_nothing(
    data: st.DataObject, byte_mutation: str
) -> None:
    document = provisioning_document()
    places = _places(document)
    for _ in range(data.draw(st.integers(min_value=0, max_value=3), label="changes")):
        container, key = data.draw(st.sampled_from(places), label="where")
        if data.draw(st.booleans(), label="delete"):
            container.pop(key, None)
        else:
            container[key] = data.draw(BAD_VALUES, label="value")
    content = json.dumps(document, ensure_ascii=False, default=str).encode()
    where = data.draw(st.integers(min_value=0, max_value=len(content) - 1), label="at")
    if byte_mutation == "truncate":
        content = content[:where]
    elif byte_mutation == "latin1":
        content = json.dumps(document | {"note": "Città"}, ensure_ascii=False, default=str).encode(
            "latin-1", "replace"
        )
    elif byte_mutation == "bom":
        content = b"\xef\xbb\xbf" + content
    elif byte_mutation == "nul":
        content = content[:where] + b"\x00" + content[where:]
    elif byte_mutation == "flip":
        content = (
            content[:where] + bytes([data.draw(st.integers(0, 255), label="byte")]) + content[where + 1 :]
        )

    with rolled_back():
        before = _counts()
        try:
            parsed = customers_feed_parse(content=content, name="feed.json")
        except FeedRefusedError as refusal:
            event("refused whole")
            assert "Nothing was imported" in str(refusal)
            assert _counts() == before
            return
        summary = customers_import(document=parsed)
        event(f"imported, {len(summary.rejected)} item(s) rejected")
        for rejection in summary.rejected:
            assert rejection.path.startswith(("offers[", "companies[")), rejection
            assert rejection.error
            assert rejection.code
        after = _counts()

        again = customers_import(document=parsed)
        assert (again.inserted, again.updated) == (0, 0), again.as_dict()
        assert [(r.path, r.code) for r in again.rejected] == [(r.path, r.code) for r in summary.rejected]
        assert _counts() == after


def test_a_carriage_return_inside_the_header_refuses_the_file_instead_of_crashing(tmp_path: Any) -> None:
    """Found by the fuzzing: csv raised its own error on the header, a traceback instead of a refusal."""
    path = tmp_path / "traffic.csv"
    path.write_bytes(
        HEADER.replace("line", "li\rne").encode() + b"\n" + row_text(call("r1", ROSSI)).encode() + b"\n"
    )

    with pytest.raises(TrafficFeedRefusedError, match="wrong header"):
        traffic_import_file(path=path)
    assert written() == (0, 0, 0, 0)
