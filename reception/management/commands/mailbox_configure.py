"""Configure an organization's reception mailbox from JSON on stdin, through the admin's form.

    python manage.py mailbox_configure --organization 900123456 < config.json

Same form, same validations and same service as the admin: invalid input prints every error
with its field and exits with 2, saving nothing. Omitting `secret` (or `password`) keeps the
stored one while the connection fields stay as they are, so the command can be run again with
the same file; a file that changes them must carry the secret (or password) again.
"""

import json
import sys
from typing import Any, NoReturn

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.http import QueryDict

from reception.destinations import DestinationRefused
from reception.exceptions import ServerTypeChangeNotConfirmed
from reception.forms import SWITCH_WARNING, MailboxConfigurationForm
from reception.management.commands._organization import add_organization_argument, organization_from
from reception.models import ReceptionMailbox
from reception.services import mailbox_configure

KEYS = (
    "server_type",
    "protocol",
    "host",
    "port",
    "security",
    "username",
    "password",
    "tenant_id",
    "client_id",
    "secret",
    "secret_expires_on",
    "notification_email",
    "backup_email",
    "object_id",
)
#: Confirmation keys; when absent they repeat their value, as if typed twice.
CONFIRM_KEYS = {
    "tenant_id_confirm": "tenant_id",
    "client_id_confirm": "client_id",
    "secret_confirm": "secret",
}


class Command(BaseCommand):
    help = (
        "Configura el Correo Recepción de Documentos Electrónicos con un JSON leído de la "
        f"entrada estándar. Claves: {', '.join([*KEYS, *CONFIRM_KEYS])}. "
        "Sale con 2 si los datos no son válidos (no guarda nada)."
    )
    stealth_options = ("stdin",)

    def add_arguments(self, parser: CommandParser) -> None:
        add_organization_argument(parser)
        parser.add_argument(
            "--confirm-switch",
            action="store_true",
            help="Confirma un cambio de Tipo de Servidor: elimina todos los parámetros anteriores.",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        organization = organization_from(options)
        data = self.form_data(options.get("stdin") or sys.stdin)
        mailbox = ReceptionMailbox.objects.filter(organization=organization).first()
        form = MailboxConfigurationForm(data, instance=mailbox)
        if not form.is_valid():
            self.fail(
                [
                    f"{'general' if field == '__all__' else field}: {message}"
                    for field, messages in form.errors.items()
                    for message in messages
                ]
            )
        if form.switches_server_type and not options["confirm_switch"]:
            self.fail([f"server_type: {SWITCH_WARNING} Repite el comando con --confirm-switch."])
        try:
            saved = mailbox_configure(
                organization=organization,
                data=form.cleaned_data,
                source="cli",
                confirm_switch=options["confirm_switch"],
            )
        except DestinationRefused as error:
            self.fail([f"{error.field}: {error}"])
        except ServerTypeChangeNotConfirmed as error:  # the type changed since it was read
            raise CommandError(f"server_type: {error}", returncode=2) from error
        saved.refresh_from_db()
        self.stdout.write(f"Correo de recepción guardado: {saved.username} ({organization})")
        self.stdout.write(f"Estado: {saved.get_status_display()} — {saved.status_reason}")

    def form_data(self, stream: Any) -> QueryDict:
        """The JSON as the form would receive it from the page (null and absent are empty)."""
        try:
            document = json.load(stream)
        except json.JSONDecodeError as error:
            self.fail([f"JSON inválido: {error}"])
        if not isinstance(document, dict):
            self.fail(["El JSON debe ser un objeto con las claves de la configuración."])
        unknown = sorted(set(document) - set(KEYS) - set(CONFIRM_KEYS))
        if unknown:
            self.fail([f"{key}: clave desconocida." for key in unknown])
        nested = sorted(key for key, value in document.items() if isinstance(value, dict | list))
        if nested:
            self.fail([f"{key}: debe ser un texto o un número." for key in nested])
        data = QueryDict(mutable=True)
        for key, value in document.items():
            data[key] = "" if value is None else str(value)
        for confirm, key in CONFIRM_KEYS.items():
            if confirm not in data and key in data:
                data[confirm] = data[key]
        return data

    def fail(self, lines: list[str]) -> NoReturn:
        """Print each error on its own line (field first) and exit with status 2."""
        for line in lines:
            self.stderr.write(line)
        raise CommandError("Datos no válidos; no se guardó nada.", returncode=2)
