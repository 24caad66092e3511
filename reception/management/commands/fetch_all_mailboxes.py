"""Run the scheduled fetch once, here and now: every fetchable mailbox, one after another."""

from typing import Any

from django.core.management.base import BaseCommand

from reception.tasks import fetch_mailbox, fetchable_mailboxes


class Command(BaseCommand):
    help = "Lee una vez todos los buzones activos (y los POP3 por activar), uno tras otro."

    def handle(self, *args: Any, **options: Any) -> None:
        failures = 0
        for mailbox in fetchable_mailboxes().select_related("organization"):
            result = fetch_mailbox(mailbox.pk, trigger="cli")
            failures += "unreachable" in result
            self.stdout.write(f"{mailbox.organization.nit_display} {mailbox.username}: {result}")
        if failures:
            raise SystemExit(1)
