"""Create an organization, or rename it when its NIT exists: safe to run again."""

from typing import Any

from django.core.exceptions import ValidationError
from django.core.management.base import CommandParser

from config.cli import InputCommand, InputRefused
from organizations.services import organization_add


class Command(InputCommand):
    help = (
        "Crea la organización con su NIT (con o sin dígito de verificación) y razón social; "
        "si el NIT ya existe, actualiza la razón social. Sale con 2 si los datos no son válidos."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--nit", required=True, help="NIT, p. ej. 900123456-8.")
        parser.add_argument("--name", required=True, help="Razón social.")

    def handle(self, *args: Any, nit: str, name: str, **options: Any) -> None:
        try:
            organization, created = organization_add(nit=nit, name=name)
        except ValidationError as error:
            raise InputRefused(
                *(
                    f"{field}: {message}"
                    for field, messages in error.message_dict.items()
                    for message in messages
                )
            ) from error
        verb = "creada" if created else "actualizada"
        self.stdout.write(
            f"Organización {verb}: {organization.name} (NIT {organization.nit_display})"
        )
