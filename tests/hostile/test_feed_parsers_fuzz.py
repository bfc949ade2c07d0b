"""Property-based tests of the feed parsers, without a database: they never raise on hostile input.

The traffic feed's row rules (billing.traffic_feed) and the provisioning
feed's reading (selfcare.services.provisioning_feed) take any text or bytes:
a row or an item is good or rejected with its reasons, a file is parsed or
refused with FeedRefusedError, and nothing else escapes (an escaping
exception is a traceback in the import command and a file lost in the
inbox). Round trips: a timestamp written in the feed's form reads back as
the same instant; a row written by the csv module splits back into its
fields; a good row passes the rules.
"""

# ruff: noqa: PT017 - look-alike digits are the point; an except block is where a refusal is checked

from __future__ import annotations

import csv
import io
import json
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

from hypothesis import given
from hypothesis import strategies as st

from billing.traffic_feed import FEED_COLUMNS, parse_started_at, split_quoted_row, traffic_row_check
from selfcare.services.provisioning_feed import (
    FeedRefusedError,
    Problems,
    customers_feed_parse,
    read_company,
    read_line,
    read_offer,
    read_user,
)
from tests.billing.traffic_files import call, data_session
from tests.hostile.strategies import italian_mobiles, stable

NOW = datetime(2026, 12, 2, 12, 0, tzinfo=UTC)
OFFSETS = st.integers(min_value=-14 * 60, max_value=14 * 60).map(lambda m: timezone(timedelta(minutes=m)))


@stable(200)
@given(
    moment=st.datetimes(min_value=datetime(2000, 1, 2), max_value=datetime(2099, 12, 30), timezones=OFFSETS),
    zulu=st.booleans(),
)
def test_a_timestamp_in_the_feed_s_form_reads_back_as_the_same_instant(moment: datetime, zulu: bool) -> None:
    text = moment.astimezone(UTC).isoformat().replace("+00:00", "Z") if zulu else moment.isoformat()

    assert parse_started_at(text) == moment


@stable(300)
@given(
    value=st.one_of(
        st.text(), st.from_regex(r"[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9:.]{8,15}(Z|[+-][0-9]{2}:[0-9]{2})")
    )
)
def test_any_text_as_timestamp_is_a_datetime_with_an_offset_or_none(value: str) -> None:
    parsed = parse_started_at(value)
    assert parsed is None or parsed.utcoffset() is not None


FIELD = st.text(alphabet=st.characters(blacklist_characters="\r\n", codec="utf-8"), max_size=20)


@stable(200)
@given(fields=st.lists(FIELD, min_size=1, max_size=14))
def test_a_row_written_by_the_csv_module_splits_back_into_its_fields(fields: list[str]) -> None:
    buffer = io.StringIO()
    csv.writer(buffer, quoting=csv.QUOTE_ALL, lineterminator="").writerow(fields)

    assert split_quoted_row(buffer.getvalue()) == fields


@stable(300)
@given(raw=st.text(max_size=200))
def test_any_line_splits_into_fields_or_is_malformed_and_never_raises(raw: str) -> None:
    fields = split_quoted_row(raw)
    assert fields is None or isinstance(fields, list)
    checked = traffic_row_check(row_no=1, fields=fields, now=NOW)
    assert checked.errors or len(checked.fields) == len(FEED_COLUMNS)


@stable(300)
@given(
    fields=st.lists(
        st.one_of(FIELD, st.sampled_from(["", "0", "-1", "9" * 40, "IT", "voice", "data", "in"])),
        min_size=12,
        max_size=12,
    )
)
def test_any_twelve_fields_are_a_good_record_or_rejected_with_known_codes(fields: list[str]) -> None:
    checked = traffic_row_check(row_no=7, fields=fields, now=NOW)

    assert checked.row_no == 7
    if not checked.errors:
        assert checked.started_at is not None
        assert len(checked.fingerprint) == 32


@stable(200)
@given(
    line=italian_mobiles(),
    party=italian_mobiles(),
    moment=st.datetimes(min_value=datetime(2001, 1, 1), max_value=datetime(2026, 11, 30), timezones=OFFSETS),
    seconds=st.integers(min_value=0, max_value=86_400),
    volume=st.integers(min_value=0, max_value=10**11),
    data=st.booleans(),
)
def test_a_good_record_passes_the_rules(
    line: str, party: str, moment: datetime, seconds: int, volume: int, data: bool
) -> None:
    started = moment.replace(microsecond=0).isoformat()
    if data:
        record = data_session("r", line, started_at=started, volume_bytes=str(volume))
    else:
        record = call("r", line, started_at=started, other_party=party, duration_s=str(seconds))

    checked = traffic_row_check(row_no=1, fields=[record[column] for column in FEED_COLUMNS], now=NOW)

    assert checked.errors == ()


# ---------------------------------------------------------------------------
# The provisioning feed
# ---------------------------------------------------------------------------

JSON_VALUES = st.recursive(
    st.one_of(st.none(), st.booleans(), st.integers(), st.floats(allow_nan=False), st.text(max_size=20)),
    lambda children: (
        st.lists(children, max_size=3) | st.dictionaries(st.text(max_size=8), children, max_size=3)
    ),
    max_leaves=10,
)


@stable(300)
@given(content=st.one_of(st.binary(max_size=200), JSON_VALUES.map(lambda v: json.dumps(v).encode())))
def test_any_bytes_are_a_document_or_refused_whole(content: bytes) -> None:
    try:
        document = customers_feed_parse(content=content)
    except FeedRefusedError as refusal:
        assert "Nothing was imported" in str(refusal)
        return
    assert {"offers", "companies"} & document.keys()


def test_deep_nesting_huge_numbers_and_nan_are_refused_whole() -> None:
    for content in (b"[" * 100_000, b'{"offers": [1' + b"0" * 5000 + b"]}", b'{"offers": [NaN]}'):
        try:
            customers_feed_parse(content=content)
        except FeedRefusedError:
            continue
        raise AssertionError(content[:40])


ITEM_KEYS = [
    "code", "name", "payment", "monthly_fee", "unlimited_voice_sms", "unlimited_data", "data_gb",
    "vat_number", "tax_code", "pec", "recipient_code", "registered_office", "email", "role",
    "number", "kind", "sim", "iccid", "offer", "cost_centre", "status", "activated_on", "ceased_on", "assigned_to",
]  # fmt: skip
ITEMS = st.dictionaries(st.sampled_from(ITEM_KEYS), JSON_VALUES, max_size=12)


@stable(300)
@given(item=ITEMS)
def test_any_item_is_read_into_a_row_or_reasons_and_never_raises(item: dict[str, Any]) -> None:
    from datetime import date

    for read in (
        lambda problems: read_offer(item, problems),
        lambda problems: read_company(item, problems),
        lambda problems: read_user(0, item, problems),
        lambda problems: read_line(0, item, problems, date(2026, 12, 2)),
    ):
        problems = Problems()
        read(problems)
        for code, message in problems.reasons:
            assert code
            assert message
