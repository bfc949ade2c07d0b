"""Roaming traffic for the tests: feed files of calls, messages and data abroad, imported as the inbox does."""

from __future__ import annotations

from datetime import date
from pathlib import Path

from django.utils import timezone

from billing.traffic_import import traffic_import_file
from selfcare.models import Line
from tests.billing.traffic_files import call, data_session, feed_file


def started(day: date) -> str:
    # Just after midnight, Rome time: the record's Rome day is `day`, and today's is never in the future.
    return f"{day:%Y-%m-%d}T00:05:00+01:00"


def megabytes_abroad(
    record_id: str, line: Line, *, day: date, mb: int, country: str = "CH"
) -> dict[str, str]:
    return data_session(
        record_id, line.number, started_at=started(day), country=country, volume_bytes=str(mb * 10**6)
    )


def voice_abroad(
    record_id: str, line: Line, *, day: date, seconds: int, direction: str = "out", country: str = "CH"
) -> dict[str, str]:
    return call(
        record_id,
        line.number,
        started_at=started(day),
        country=country,
        direction=direction,
        duration_s=str(seconds),
    )


def message_abroad(
    record_id: str,
    line: Line,
    *,
    day: date,
    service: str = "sms",
    direction: str = "out",
    country: str = "CH",
) -> dict[str, str]:
    return call(
        record_id,
        line.number,
        started_at=started(day),
        country=country,
        direction=direction,
        service=service,
        duration_s="0",
    )


def import_rows(folder: Path, rows: list[dict[str, str]], *, name: str = "traffic.csv") -> None:
    result = traffic_import_file(path=feed_file(folder, rows, name=name))
    assert not result.rejected, [rejection.as_dict() for rejection in result.rejected]


def today() -> date:
    return timezone.localdate()
