"""What the RADIAN commands share: the organization and the document they are about."""

from __future__ import annotations

from typing import Any

from django.core.management.base import CommandParser
from django.utils.translation import gettext as _

from config.cli import InputRefused
from invoices.models import ReceivedDocument
from invoices.radian_services import RADIAN_CODES
from organizations.cli import add_organization_argument
from organizations.models import Organization


def add_event_arguments(parser: CommandParser) -> None:
    add_organization_argument(parser)
    parser.add_argument("--document", required=True, metavar="CUFE", help="CUFE de la factura.")
    parser.add_argument(
        "--code", required=True, metavar="CÓDIGO", help="Evento: 030, 031, 032 o 033."
    )


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
