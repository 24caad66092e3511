"""Run the connection check of an organization's mailbox and print its steps."""

from typing import Any

from django.core.management.base import CommandParser

from config.cli import InputCommand
from organizations.cli import add_organization_argument
from reception.management.commands._organization import mailbox_from
from reception.services import mailbox_check

SYMBOLS = {"ok": "OK", "failed": "FALLÓ", "not_run": "no se ejecutó"}


class Command(InputCommand):
    help = "Prueba la conexión del buzón paso a paso. Sale con 0 si todo pasa, 1 si no."

    def add_arguments(self, parser: CommandParser) -> None:
        add_organization_argument(parser)

    def handle(self, *args: Any, **options: Any) -> None:
        mailbox = mailbox_from(options)
        diagnosis = mailbox_check(mailbox, source="cli")
        for number, step in enumerate(diagnosis.steps, start=1):
            line = f"{number}. [{SYMBOLS[str(step.status)]}] {step.title}"
            self.stdout.write(self.style.SUCCESS(line) if step.status == "ok" else line)
            if step.detail:
                self.stdout.write(f"   {step.detail}")
            for cause in step.causes:
                section = f" (guía: «{cause.section}»)" if cause.section else ""
                self.stdout.write(f"   - {cause.text}{section}")
                for command in cause.commands:
                    self.stdout.write(f"       {command}")
        mailbox.refresh_from_db()
        self.stdout.write(f"Estado: {mailbox.get_status_display()} — {mailbox.status_reason}")
        if not diagnosis.ok:
            raise SystemExit(1)
