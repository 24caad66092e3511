"""Send a RADIAN event of an invoice to DIAN now, as the review action and the worker do.

    python manage.py radian_send --organization 900123456 --document CUFE --code 030

Exit status: 0 registered, 1 rejected or failed (DIAN's rules are printed), 2 invalid input.
"""

from __future__ import annotations

import sys
from typing import Any

from django.core.management.base import CommandParser
from django.utils.translation import gettext as _

from config.cli import InputCommand, InputRefused
from invoices.dian.radian import CLAIM, CLAIM_CONCEPTS
from invoices.exceptions import ReviewRefused
from invoices.management.commands._radian import (
    add_event_arguments,
    code_from,
    document_from,
)
from invoices.models import RadianEventState
from invoices.radian_services import radian_event_request, radian_event_send
from organizations.cli import organization_from


class Command(InputCommand):
    help = (
        "Firma y envía a la DIAN un evento RADIAN (030, 031, 032, 033) de una factura. Sale con "
        "0 si quedó registrado, 1 si la DIAN lo rechazó o no se pudo enviar, 2 si los datos no "
        "son válidos."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        add_event_arguments(parser)
        parser.add_argument("--concept", default="", help="Concepto del reclamo (031): 01 a 04.")
        parser.add_argument("--note", default="", help="Nota; en un reclamo, el motivo.")

    def handle(self, *args: Any, **options: Any) -> None:
        organization = organization_from(options)
        document = document_from(organization, options)
        code = code_from(options)
        concept = options["concept"]
        if code == CLAIM and concept not in CLAIM_CONCEPTS:
            raise InputRefused(_("--concept: un reclamo (031) necesita el concepto 01 a 04."))
        if code != CLAIM and concept:
            raise InputRefused(_("--concept: solo un reclamo (031) lleva concepto."))
        try:
            event = radian_event_request(
                document=document,
                actor=None,
                code=code,
                concept=concept,
                note=options["note"],
                queue=False,
            )
        except ReviewRefused as refused:
            raise InputRefused(f"--code: {refused}") from refused
        event = radian_event_send(event_id=event.pk)
        self.stdout.write(
            _("Evento %(code)s %(number)s: %(state)s")
            % {"code": event.code, "number": event.number, "state": event.get_state_display()}
        )
        self.stdout.write(f"CUDE: {event.cude}")
        if event.state == RadianEventState.REGISTERED:
            return
        for line in event.dian_errors or [event.last_error]:
            self.stderr.write(line)
        if event.next_retry_at:
            self.stderr.write(
                _("Se reintentará automáticamente a partir de %(at)s.")
                % {"at": event.next_retry_at.isoformat(timespec="minutes")}
            )
        sys.exit(1)
