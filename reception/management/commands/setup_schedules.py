"""Create or update the background schedules (idempotent; `make run` calls it)."""

from typing import Any

from django.core.management.base import BaseCommand

from reception.schedules import schedules_ensure


class Command(BaseCommand):
    help = "Crea o actualiza las tareas programadas (lectura de buzones, vencimiento de secretos)."

    def handle(self, *args: Any, **options: Any) -> None:
        for name, created in schedules_ensure():
            self.stdout.write(f"{name}: {'creada' if created else 'actualizada'}")
