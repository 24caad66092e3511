"""Register a new client secret for an organization's mailbox, read from standard input.

    printf '%s\n%s\n' "$SECRETO" "$SECRETO" | python manage.py mailbox_rotate_secret \
        --organization 900123456 --expires-on 2027-01-31 --notification-email ti@empresa.co

The secret never goes on the command line (shell history, the process list): the first line
of the input is the secret, the second its confirmation (one line counts as both). Same form
and same service as the admin's «Actualizar secreto»: invalid input prints every error with its
field and exits with 2, changing nothing; a failing connection check exits with 1. Standard
input and the options are checked as text first (`config.cli`), so bytes that are not UTF-8
never become a stored secret.
"""

from typing import Any

from django.core.management.base import CommandParser
from django.http import QueryDict

from config.cli import InputCommand, InputRefused, read_stdin
from organizations.cli import add_organization_argument
from reception.forms import SecretRotationForm
from reception.management.commands._organization import mailbox_from
from reception.services import secret_rotate


class Command(InputCommand):
    help = (
        "Actualiza el secreto de la aplicación de Entra ID del buzón. Lee de la entrada estándar "
        "el secreto y, en una segunda línea, su confirmación. Sale con 2 si los datos no son "
        "válidos y con 1 si la prueba de conexión falla."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        add_organization_argument(parser)
        parser.add_argument(
            "--expires-on",
            metavar="AAAA-MM-DD",
            default="",
            help="Fecha Expiración del nuevo secreto en Entra ID.",
        )
        parser.add_argument(
            "--notification-email",
            metavar="CORREO",
            default="",
            help="Correo Notificación: recibe el aviso antes de que el secreto expire.",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        mailbox = mailbox_from(options)
        if not mailbox.uses_modern_auth:
            raise InputRefused(f"--organization: el buzón {mailbox} no usa secreto de aplicación.")
        secret, confirmation = self.read_secret(read_stdin())
        data = QueryDict(mutable=True)
        data.update(
            {
                "secret": secret,
                "secret_confirm": confirmation,
                "secret_expires_on": options["expires_on"],
                "notification_email": options["notification_email"],
            }
        )
        form = SecretRotationForm(data)
        if not form.is_valid():
            raise InputRefused(
                *(
                    f"{'general' if field == '__all__' else field}: {message}"
                    for field, messages in form.errors.items()
                    for message in messages
                )
            )
        diagnosis = secret_rotate(
            mailbox,
            value=form.cleaned_data["secret"],
            expires_on=form.cleaned_data["secret_expires_on"],
            notification_email=form.cleaned_data["notification_email"],
            source="cli",
        )
        mailbox.refresh_from_db()
        self.stdout.write(f"Secreto actualizado: {mailbox.username} ({mailbox.organization})")
        self.stdout.write(f"Estado: {mailbox.get_status_display()} — {mailbox.status_reason}")
        if not diagnosis.ok:
            raise SystemExit(1)

    def read_secret(self, text: str) -> tuple[str, str]:
        """Two lines (secret, confirmation) or one (both); only the line breaks are removed,
        so stray spaces reach the form and are reported like in the admin."""
        lines = text.splitlines()
        while lines and not lines[-1].strip():
            lines.pop()
        if len(lines) > 2:
            raise InputRefused("stdin: escribe solo el secreto y, en otra línea, su confirmación.")
        if len(lines) == 1:
            return lines[0], lines[0]
        return (lines[0], lines[1]) if lines else ("", "")
