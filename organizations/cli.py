"""The --organization option every command about one organization shares."""

from typing import Any

from django.core.management.base import CommandParser
from django.utils.translation import gettext as _

from config.cli import InputRefused
from organizations.models import Organization
from organizations.selectors import organization_by_nit


def add_organization_argument(parser: CommandParser) -> None:
    parser.add_argument(
        "--organization",
        required=True,
        metavar="NIT",
        help="NIT de la organización, con o sin dígito de verificación (900123456 o 900123456-8).",
    )


def organization_from(options: dict[str, Any]) -> Organization:
    """The organization named by --organization, or a one-line refusal (exit 2)."""
    try:
        return organization_by_nit(options["organization"])
    except (ValueError, Organization.DoesNotExist) as error:
        raise InputRefused(
            _("--organization: No existe la organización con NIT %(nit)s.")
            % {"nit": options["organization"]}
        ) from error
