"""Traffic rows for tests that need a company's traffic to exist without a day of their own (the cross-company walks)."""

from __future__ import annotations

import tempfile
from datetime import timedelta
from pathlib import Path

from django.utils import timezone

from billing.models import TrafficRecord
from billing.traffic_import import traffic_import_files
from selfcare.models import Line
from tests.billing.traffic_files import call, feed_file


def recent_traffic(line: Line, *, record_id: str) -> TrafficRecord:
    """A call of `line` yesterday, imported as the network's feed would bring it: inside any 90-day report."""
    started_at = timezone.localtime() - timedelta(days=1)
    with tempfile.TemporaryDirectory(prefix="traffic-test-") as folder:
        result = traffic_import_files(
            paths=[
                feed_file(
                    Path(folder),
                    [call(record_id, line.number, started_at=started_at.replace(microsecond=0).isoformat())],
                )
            ]
        )
    assert not result.refused, result.as_dict()
    assert not result.result.rejected, result.as_dict()
    return TrafficRecord.objects.get(record_id=record_id)
