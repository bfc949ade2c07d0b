"""Traffic feed files for the tests: a valid record by default, any field overridden."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from pathlib import Path

from billing.traffic_feed import FEED_COLUMNS

HEADER = ",".join(FEED_COLUMNS)


def call(record_id: str, line: str, /, **fields: str) -> dict[str, str]:
    """An outgoing call of two minutes to a TIM mobile, in Italy, on 20 November 2026 (Rome time)."""
    return {
        "record_id": record_id,
        "line": line,
        "started_at": "2026-11-20T09:15:00+01:00",
        "direction": "out",
        "service": "voice",
        "other_party": "+393471234567",
        "other_operator": "TIM",
        "other_network": "mobile",
        "duration_s": "120",
        "volume_bytes": "0",
        "country": "IT",
        "topup": "0",
        **fields,
    }


def data_session(record_id: str, line: str, /, **fields: str) -> dict[str, str]:
    """A data session of 5 MB, in Italy, on 20 November 2026."""
    session = {
        "service": "data",
        "other_party": "",
        "other_operator": "",
        "other_network": "",
        "duration_s": "0",
        "volume_bytes": "5000000",
    }
    return call(record_id, line, **{**session, **fields})


def row_text(record: Mapping[str, str]) -> str:
    return ",".join(record[column] for column in FEED_COLUMNS)


def feed_text(rows: Iterable[Mapping[str, str] | str], *, header: str = HEADER) -> str:
    """The file's text: the header, then each row (a record, or a line of text as it is)."""
    lines = [header, *(row if isinstance(row, str) else row_text(row) for row in rows)]
    return "\n".join(lines) + "\n"


def feed_file(
    folder: Path, rows: Iterable[Mapping[str, str] | str], *, name: str = "traffic.csv", header: str = HEADER
) -> Path:
    path = folder / name
    path.write_text(feed_text(rows, header=header), encoding="utf-8")
    return path
