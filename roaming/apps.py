from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class RoamingConfig(AppConfig):
    name = "roaming"
    verbose_name = _("Abroad")
