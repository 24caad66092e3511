"""The --organization option every mailbox command shares."""

from typing import Any

from django.core.management.base import CommandError, CommandParser

from organizations.models import Organization
from organizations.selectors import organization_by_nit
from reception.models import ReceptionMailbox


def add_organization_argument(parser: CommandParser) -> None:
    parser.add_argument(
        "--organization",
        required=True,
        metavar="NIT",
        help="NIT de la organización, con o sin dígito de verificación (900123456 o 900123456-8).",
    )


def organization_from(options: dict[str, Any]) -> Organization:
    try:
        return organization_by_nit(options["organization"])
    except (ValueError, Organization.DoesNotExist) as error:
        raise CommandError(
            f"No existe la organización con NIT {options['organization']}.", returncode=2
        ) from error


def mailbox_from(options: dict[str, Any]) -> ReceptionMailbox:
    organization = organization_from(options)
    try:
        return organization.mailbox
    except ReceptionMailbox.DoesNotExist as error:
        raise CommandError(
            f"La organización {organization} no tiene buzón de recepción configurado.",
            returncode=2,
        ) from error
