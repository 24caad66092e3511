"""Fetch an organization's mailbox once and print what happened."""

from typing import Any

from django.core import checks
from django.core.management.base import CommandParser
from django.utils.translation import gettext as _

from config.cli import InputCommand, InputRefused
from organizations.cli import add_organization_argument
from reception.exceptions import MailboxBusy, MailboxUnreachable
from reception.fetching import FetchSummary, mailbox_fetch
from reception.management.commands._organization import mailbox_from


class Command(InputCommand):
    help = (
        "Lee el buzón una vez: registra cada correo, crea los documentos y ordena el buzón. "
        "Sale con 0 salvo que no se haya podido conectar al buzón."
    )
    # The security checks only (the mail-host allowlist among them), as the scheduler's fetch
    # runs none: the rest (models, admin, templates; ~20 ms of every run from cron) belong to
    # `manage.py check` at deployment, not to a command run every few minutes.
    requires_system_checks = [checks.Tags.security]

    def add_arguments(self, parser: CommandParser) -> None:
        add_organization_argument(parser)
        parser.add_argument("--max-messages", type=int, default=None)
        parser.add_argument(
            "--processes",
            type=int,
            default=None,
            help="Procesos para leer los correos (núcleos); por omisión RECEPTION_PARSE_PROCESSES.",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        counts = ("max_messages", "processes")
        below_one = [name for name in counts if options[name] is not None and options[name] < 1]
        if below_one:
            raise InputRefused(
                *(
                    _("--%(name)s: debe ser un número entero positivo.")
                    % {"name": name.replace("_", "-")}
                    for name in below_one
                )
            )
        mailbox = mailbox_from(options)
        try:
            summary = mailbox_fetch(
                mailbox,
                trigger="cli",
                max_messages=options["max_messages"],
                processes=options["processes"],
            )
        except MailboxBusy as error:
            self.stderr.write(str(error))
            raise SystemExit(1) from error
        except MailboxUnreachable as error:
            self._print(error.summary)
            self.stderr.write(f"No se pudo leer el buzón: {error.error.detail}")
            raise SystemExit(1) from error
        self._print(summary)

    def _print(self, summary: FetchSummary) -> None:
        self.stdout.write(f"Correos nuevos: {summary.seen}")
        self.stdout.write(f"Documentos creados: {summary.documents}")
        self.stdout.write(f"Duplicados: {summary.duplicates}")
        self.stdout.write(f"No electrónicos: {summary.not_dian}")
        self.stdout.write(f"Errores: {sum(summary.errors.values())}")
        for reason, count in sorted(summary.errors.items()):
            self.stdout.write(f"  {reason}: {count}")
        self.stdout.write(
            f"Movidos: {summary.moved}  Respaldados: {summary.backed_up}  "
            f"Borrados: {summary.deleted}"
        )
