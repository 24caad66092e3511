"""What the RADIAN commands share: the organization and the document they are about."""

from __future__ import annotations

from typing import Any

from django.core.management.base import CommandParser
from django.utils.translation import gettext as _

from config.cli import InputRefused
from invoices.models import ReceivedDocument
from invoices.radian_services import RADIAN_CODES
from organizations.models import Organization
from organizations.selectors import organization_by_nit


def add_organization_argument(parser: CommandParser) -> None:
    parser.add_argument(
        "--organization",
        required=True,
        metavar="NIT",
        help="NIT de la organización, con o sin dígito de verificación (900123456 o 900123456-8).",
    )


def add_event_arguments(parser: CommandParser) -> None:
    add_organization_argument(parser)
    parser.add_argument("--document", required=True, metavar="CUFE", help="CUFE de la factura.")
    parser.add_argument(
        "--code", required=True, metavar="CÓDIGO", help="Evento: 030, 031, 032 o 033."
    )


def organization_from(options: dict[str, Any]) -> Organization:
    try:
        return organization_by_nit(options["organization"])
    except (ValueError, Organization.DoesNotExist) as error:
        raise InputRefused(
            _("--organization: No existe la organización con NIT %(nit)s.")
            % {"nit": options["organization"]}
        ) from error


def document_from(organization: Organization, options: dict[str, Any]) -> ReceivedDocument:
    cufe = options["document"].strip().lower()
    document = ReceivedDocument.objects.filter(organization=organization, cufe=cufe).first()
    if document is None:
        raise InputRefused(
            _("--document: %(org)s no tiene un documento con ese CUFE.") % {"org": organization}
        )
    return document


def code_from(options: dict[str, Any]) -> str:
    code = options["code"]
    if code not in RADIAN_CODES:
        raise InputRefused(_("--code: usa 030, 031, 032 o 033."))
    return code
