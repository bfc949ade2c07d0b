"""The project package and the core app: companies, users, lines, notifications, help."""

from selfcare.celery import app as celery_app

__all__ = ["celery_app"]
