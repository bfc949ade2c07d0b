"""The Celery application. Its configuration is the CELERY_* settings."""

import os
from pathlib import Path

from celery import Celery

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "selfcare.settings")

app = Celery("selfcare")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()


def _prepare_filesystem_broker() -> None:
    """kombu's filesystem transport (the embedded `make run`) needs its folders to exist."""
    if not str(app.conf.broker_url).startswith("filesystem://"):
        return
    options = app.conf.broker_transport_options or {}
    for key in ("data_folder_in", "data_folder_out", "control_folder"):
        if options.get(key):
            Path(options[key]).mkdir(parents=True, exist_ok=True)


_prepare_filesystem_broker()
