"""Print the signed XML of an invoice's latest RADIAN event with the given code.

    python manage.py radian_event_xml --organization 900123456 --document CUFE --code 030

Exit status 2 when there is no such event (send it first with `radian_send`).
"""

from __future__ import annotations

from typing import Any

from django.core.management.base import CommandParser
from django.utils.translation import gettext as _

from config.cli import InputCommand, InputRefused
from invoices.management.commands._radian import (
    add_event_arguments,
    code_from,
    document_from,
)
from organizations.cli import organization_from


class Command(InputCommand):
    help = "Imprime el XML firmado del último evento RADIAN de una factura con ese código."

    def add_arguments(self, parser: CommandParser) -> None:
        add_event_arguments(parser)

    def handle(self, *args: Any, **options: Any) -> None:
        organization = organization_from(options)
        document = document_from(organization, options)
        code = code_from(options)
        event = document.radian_events.filter(code=code).order_by("-created_at", "-id").first()
        if event is None:
            raise InputRefused(
                _("--code: la factura no tiene un evento %(code)s; envíalo con radian_send.")
                % {"code": code}
            )
        self.stdout.write(event.signed_xml, ending="\n")
