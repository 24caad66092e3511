"""Run the daily secret-expiry job once (warnings 5 days ahead, Inactivo when expired)."""

from typing import Any

from django.core.management.base import BaseCommand

from reception.services import secrets_notify_expiring


class Command(BaseCommand):
    help = "Avisa los secretos próximos a vencer e inactiva los buzones con secreto vencido."

    def handle(self, *args: Any, **options: Any) -> None:
        counts = secrets_notify_expiring()
        self.stdout.write(
            f"Avisos de vencimiento enviados: {counts['warned']}; "
            f"secretos vencidos: {counts['expired']}"
        )
