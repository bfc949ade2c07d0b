from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class SelfcareConfig(AppConfig):
    name = "selfcare"
    verbose_name = _("Companies, users and lines")
