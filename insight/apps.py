from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class InsightConfig(AppConfig):
    """Insight: spend and traffic charts, their tables and exports, and spend alerts (docs/insight.md)."""

    default_auto_field = "django.db.models.BigAutoField"
    name = "insight"
    verbose_name = _("Insight")
