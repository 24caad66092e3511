from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class ReceptionConfig(AppConfig):
    name = "reception"
    verbose_name = _("Recepción de correo")

    def ready(self) -> None:
        from reception import destinations  # noqa: F401 - registers its system check
