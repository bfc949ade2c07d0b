"""The traffic inbox: feed files dropped in a folder, imported by a periodic task.

The network's systems write a file under another name (a dot in front, or
any suffix but `.csv`) and rename it to `NAME.csv` in `TRAFFIC_INBOX` once
complete; a rename is atomic, so a half-written file is never picked up.
Each file is then:
- claimed by renaming it into `processing/` (atomic: of two workers, one wins);
- imported in one transaction (`traffic_import_file`);
- moved to `done/`, or to `refused/` when the file is refused whole, with
  `NAME.csv.json` beside it: the summary of CONTRACTS.md, or the reason.
A failure that is not the file's fault (the database away) puts the file back in the
inbox for the retry. A file left in `processing/` by a worker that died is taken again
after STALE_CLAIM: its import was rolled back, or committed, in which case the
replay finds only duplicates.
"""

from __future__ import annotations

import json
import logging
import os
import time
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path

from django.conf import settings
from django.utils import timezone

from billing.traffic_feed import TrafficFeedRefusedError
from billing.traffic_import import TrafficImportResult, traffic_import_file

logger = logging.getLogger(__name__)


def _stale_claim_s() -> float:
    # Longer than any import may run (the task's hard time limit), so a claim is
    # only taken over from a worker that is gone.
    return float(settings.CELERY_TASK_TIME_LIMIT) + 300


@dataclass
class TrafficInboxRun:
    """What one pass over the inbox did: files imported, files refused, and the line-days touched."""

    imported: list[str] = field(default_factory=list)
    refused: list[str] = field(default_factory=list)
    touched: set[tuple[int, int, date]] = field(default_factory=set)


def _folders(inbox: Path) -> tuple[Path, Path, Path]:
    processing, done, refused = inbox / "processing", inbox / "done", inbox / "refused"
    for folder in (inbox, processing, done, refused):
        folder.mkdir(parents=True, exist_ok=True)
    return processing, done, refused


def _claim(source: Path, processing: Path) -> Path | None:
    claimed = processing / source.name
    try:
        os.rename(source, claimed)
    except FileNotFoundError:
        return None  # another worker claimed it first
    os.utime(claimed)  # the claim's time, for the stale-claim check
    return claimed


def _file_away(claimed: Path, folder: Path, report: dict[str, object]) -> None:
    target = folder / claimed.name
    if target.exists():
        target = folder / f"{claimed.stem}-{timezone.now():%Y%m%dT%H%M%S%f}{claimed.suffix}"
    # The report first: a file in done/ or refused/ always has its report beside it.
    target.with_name(target.name + ".json").write_text(json.dumps(report, indent=2))
    os.replace(claimed, target)


def traffic_inbox_import(*, inbox: Path) -> TrafficInboxRun:
    """Import every complete `.csv` file of the inbox, and those left claimed by a dead worker."""
    processing, done, refused = _folders(inbox)
    run = TrafficInboxRun()
    waiting = sorted(path for path in inbox.glob("*.csv") if path.is_file())
    stale_before = time.time() - _stale_claim_s()
    abandoned = sorted(path for path in processing.glob("*.csv") if path.stat().st_mtime < stale_before)
    for source in [*abandoned, *waiting]:
        claimed = _claim(source, processing)
        if claimed is None:
            continue
        try:
            result: TrafficImportResult = traffic_import_file(path=claimed)
        except TrafficFeedRefusedError as error:
            logger.warning("traffic file refused: %s", error)
            _file_away(claimed, refused, {"file": claimed.name, "refused": str(error)})
            run.refused.append(claimed.name)
            continue
        except BaseException:
            # Not the file's fault: back in the inbox for the next try.
            os.replace(claimed, inbox / claimed.name)
            raise
        _file_away(claimed, done, {"file": claimed.name, **result.as_dict()})
        run.imported.append(claimed.name)
        run.touched |= result.touched
    return run
