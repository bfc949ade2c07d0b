"""Background work of the traffic report as XLSX: building a large export, and the sweep of lost ones.

Imported by billing.tasks, so Celery's autodiscovery (which reads
`<app>.tasks`) registers these tasks too.
"""

from __future__ import annotations

from celery import shared_task

from billing import traffic_xlsx
from selfcare.celery import resumable_task


# The database gone for a moment: the export is still pending or running, and
# building it again from the first row is safe (the file is stored only when complete).
@resumable_task()
def traffic_export_build(export_id: int) -> None:
    """Build a requested export and tell who asked; nothing to do if it is ready, failed or gone."""
    traffic_xlsx.traffic_export_build(export_id=export_id)


@shared_task(ignore_result=True)
def traffic_exports_sweep() -> None:
    """Queue again the exports whose task was lost (scheduled by beat)."""
    traffic_xlsx.traffic_exports_sweep()
