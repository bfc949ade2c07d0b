from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class ProceduresConfig(AppConfig):
    name = "procedures"
    verbose_name = _("Procedures and documents")

    def ready(self) -> None:
        # Each kind registers itself when its module is imported (procedures.kinds).
        from procedures import kinds  # noqa: F401
