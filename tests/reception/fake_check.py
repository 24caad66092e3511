"""A stand-in for `reception.services.mailbox_check` in the configuration tests.

Replaced by the real check in the connectivity tests: these tests are about the form, the
admin and the CLI, so the check only records that it ran and sets the status a passing check
would (IMAP Activo, POP3 Por Activar).
"""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any

import pytest

from reception.models import MailboxStatus, Protocol, ReceptionMailbox
from reception.services import mailbox_set_status

PASSING_REASON = "Conexión verificada (prueba)."


class FakeCheck:
    def __init__(self) -> None:
        self.calls: list[dict[str, Any]] = []

    def __call__(
        self, mailbox: ReceptionMailbox, *, actor: Any = None, source: str, **options: Any
    ) -> SimpleNamespace:
        self.calls.append({"mailbox": mailbox.pk, "actor": actor, "source": source})
        status = (
            MailboxStatus.PENDING if mailbox.protocol == Protocol.POP3 else MailboxStatus.ACTIVE
        )
        mailbox_set_status(mailbox, status, reason=PASSING_REASON, actor=actor, source=source)
        return SimpleNamespace(ok=True)


def install_fake_check(monkeypatch: pytest.MonkeyPatch) -> FakeCheck:
    check = FakeCheck()
    monkeypatch.setattr("reception.services.mailbox_check", check)
    return check
