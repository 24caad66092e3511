"""Configure an organization's DIAN credentials from JSON on stdin, through the admin's form.

    python manage.py dian_configure --organization 900123456 < dian.json

Same form and service as the admin: invalid input prints every error with its field, one line
each, and exits with 2, saving nothing. The certificate is read from `certificate_path`; the
password and the PIN never appear in the output.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management.base import CommandParser
from django.http import QueryDict
from django.utils.translation import gettext as _

from config.cli import InputCommand, InputRefused, read_json_object, text_problems
from invoices.models import DianCredentials
from invoices.radian_forms import MAX_CERTIFICATE_BYTES, DianCredentialsForm
from invoices.radian_services import dian_credentials_configure
from organizations.cli import add_organization_argument, organization_from

#: The secrets and the certificate's path, then what a person types as it is (the model's list).
KEYS = (
    "certificate_path",
    "certificate_password",
    "software_pin",
    *DianCredentials.PLAIN_FIELDS,
)
_KEY = re.compile(r"[a-z_]{1,40}")


class Command(InputCommand):
    help = (
        "Configura las credenciales DIAN (certificado, software, numeración de eventos) con un "
        f"JSON leído de la entrada estándar. Claves: {', '.join(KEYS)}. "
        "Sale con 2 si los datos no son válidos (no guarda nada)."
    )
    stealth_options = ("stdin",)

    def add_arguments(self, parser: CommandParser) -> None:
        add_organization_argument(parser)

    def handle(self, *args: Any, **options: Any) -> None:
        organization = organization_from(options)
        document = read_json_object(options.get("stdin"))
        data, files = self.form_input(document)
        instance = DianCredentials.objects.filter(organization=organization).first()
        form = DianCredentialsForm(data, files, organization=organization, instance=instance)
        if not form.is_valid():
            raise InputRefused(
                *(
                    f"{_field_name(field)}: {message}"
                    for field, messages in form.errors.items()
                    for message in messages
                )
            )
        saved = dian_credentials_configure(
            organization=organization, data=form.cleaned_data, certificate=form.certificate_bytes
        )
        for warning in form.warnings:
            self.stderr.write(_("Aviso: %(warning)s") % {"warning": warning})
        self.stdout.write(
            _(
                "Credenciales DIAN guardadas para %(org)s (%(env)s); certificado válido "
                "hasta %(until)s."
            )
            % {
                "org": organization,
                "env": saved.get_environment_display(),
                "until": saved.certificate_not_after.date().isoformat(),
            }
        )

    def form_input(self, document: dict[str, Any]) -> tuple[QueryDict, dict[str, Any]]:
        unknown = sorted(set(document) - set(KEYS))
        if unknown:
            lines = (
                f"{key if _KEY.fullmatch(key) else 'stdin'}: {_('clave desconocida.')}"
                for key in unknown
            )
            raise InputRefused(*dict.fromkeys(lines))
        data = QueryDict(mutable=True)
        problems: list[str] = []
        for key in KEYS:
            value = document.get(key)
            if value is None:
                continue
            if not isinstance(value, str):
                problems.append(f"{key}: {_('debe ser texto.')}")
                continue
            problems += text_problems(key, value, allowed=())
            if key != "certificate_path":
                data[key] = value
        if problems:
            raise InputRefused(*problems)
        files: dict[str, Any] = {}
        path = document.get("certificate_path")
        if path:
            files["certificate"] = SimpleUploadedFile("certificado.p12", _read_certificate(path))
        return data, files


def _read_certificate(path: str) -> bytes:
    file = Path(path)
    try:
        if file.stat().st_size > MAX_CERTIFICATE_BYTES:
            raise InputRefused(
                _("certificate_path: el archivo es demasiado grande para ser un certificado.")
            )
        return file.read_bytes()
    except OSError as error:
        raise InputRefused(
            _("certificate_path: no se pudo leer el archivo del certificado.")
        ) from error


def _field_name(field: str) -> str:
    if field == "certificate":
        return "certificate_path"
    return "general" if field == "__all__" else field
