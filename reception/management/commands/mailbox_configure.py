"""Configure an organization's reception mailbox from JSON on stdin, through the admin's form.

    python manage.py mailbox_configure --organization 900123456 < config.json

Same form, same validations and same service as the admin: invalid input prints every error
with its field, one line each, and exits with 2, saving nothing (`config.cli` checks the bytes,
size and shape of the JSON before the form sees it). Omitting `secret` (or `password`) keeps the
stored one while the connection fields stay as they are, so the command can be run again with
the same file; a file that changes them must carry the secret (or password) again.
"""

import re
from typing import Any

from django.core.management.base import CommandParser
from django.http import QueryDict

from config.cli import (
    MAX_ARGUMENT_CHARS,
    InputCommand,
    InputRefused,
    length_problems,
    read_json_object,
    text_problems,
)
from organizations.cli import add_organization_argument, organization_from
from reception.exceptions import DestinationRefused, ServerTypeChangeNotConfirmed
from reception.forms import SWITCH_WARNING, MailboxConfigurationForm
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


#: How a key of ours looks; anything else is reported without being echoed.
_KEY = re.compile(r"[a-z_]{1,40}")


class Command(InputCommand):
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
        data = self.form_data(read_json_object(options.get("stdin")))
        mailbox = ReceptionMailbox.objects.filter(organization=organization).first()
        form = MailboxConfigurationForm(data, instance=mailbox)
        if not form.is_valid():
            raise InputRefused(
                *(
                    f"{'general' if field == '__all__' else field}: {message}"
                    for field, messages in form.errors.items()
                    for message in messages
                )
            )
        if form.switches_server_type and not options["confirm_switch"]:
            raise InputRefused(
                f"server_type: {SWITCH_WARNING} Repite el comando con --confirm-switch."
            )
        try:
            saved = mailbox_configure(
                organization=organization,
                data=form.cleaned_data,
                source="cli",
                confirm_switch=options["confirm_switch"],
            )
        except DestinationRefused as error:
            raise InputRefused(f"{error.field}: {error}") from error
        except ServerTypeChangeNotConfirmed as error:  # the type changed since it was read
            raise InputRefused(f"server_type: {error}") from error
        saved.refresh_from_db()
        self.stdout.write(f"Correo de recepción guardado: {saved.username} ({organization})")
        self.stdout.write(f"Estado: {saved.get_status_display()} — {saved.status_reason}")

    def form_data(self, document: dict[str, Any]) -> QueryDict:
        """The JSON as the form would receive it from the page (null and absent are empty).

        Values are text or whole numbers (a port); text longer than its field, with control
        characters or lone surrogates (a `\\udcff` escape) is refused here, one line a key.
        """
        unknown = sorted(set(document) - set(KEYS) - set(CONFIRM_KEYS))
        if unknown:
            lines = (
                f"{key if _KEY.fullmatch(key) else 'stdin'}: clave desconocida." for key in unknown
            )
            raise InputRefused(*dict.fromkeys(lines))
        problems = [
            f"{key}: debe ser un texto o un número entero."
            for key, value in document.items()
            if not (value is None or isinstance(value, str) or type(value) is int)
        ]
        problems += [
            problem
            for key, value in document.items()
            if isinstance(value, str)
            for problem in (
                length_problems(key, value.strip(), _max_length(key)) or text_problems(key, value)
            )
        ]
        if problems:
            raise InputRefused(*problems)
        data = QueryDict(mutable=True)
        for key, value in document.items():
            data[key] = "" if value is None else str(value)
        for confirm, key in CONFIRM_KEYS.items():
            if confirm not in data and key in data:
                data[confirm] = data[key]
        return data


def _max_length(key: str) -> int:
    """The form field's limit; fields without one (choices, dates) get an option's."""
    field = MailboxConfigurationForm.base_fields[key]
    return getattr(field, "max_length", None) or MAX_ARGUMENT_CHARS
