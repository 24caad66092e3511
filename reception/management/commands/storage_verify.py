"""manage.py storage_verify: after a restore (or any time), every stored file the database
refers to exists and holds what its row says. Exit 0, or 1 listing what is missing or altered."""

from django.core.management.base import BaseCommand
from django.utils.translation import gettext as _

from reception.integrity import storage_verify


class Command(BaseCommand):
    help = _(
        "Comprueba que cada archivo guardado al que se refiere la base de datos exista y "
        "coincida con su hash. Sale con 0, o con 1 y la lista de los que faltan o cambiaron."
    )

    def handle(self, *args, **options) -> None:
        report = storage_verify()
        for problem in report.problems:
            state = _("falta") if problem.missing else _("alterado")
            self.stdout.write(f"{state}: {problem.name} ({problem.model} {problem.pk})")
        self.stdout.write(
            _("%(checked)d archivos verificados, %(bad)d con problemas")
            % {"checked": report.checked, "bad": len(report.problems)}
        )
        if report.problems:
            raise SystemExit(1)
