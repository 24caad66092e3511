"""Domain errors of the reception app; library errors are wrapped with their cause kept.

The network slice (reception.transports) keeps its own TransportError, as invoices.dian keeps
DianError: pure code raises what it knows, and the services turn it into a status with a reason.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from reception.fetching import FetchSummary
    from reception.transports.base import Refusal, TransportError


class ReceptionError(Exception):
    """Base of every error this app raises on purpose. Its text never contains a secret."""


class ServerTypeChangeNotConfirmed(ReceptionError):
    """Changing the server type wipes the earlier parameters: it needs an explicit yes."""


class MailboxBusy(ReceptionError):
    """Another fetch of the same mailbox holds its lock."""


class LockLost(ReceptionError):
    """Another process took over this fetch's lease: this run must stop writing."""

    def __init__(self, mailbox_id: int) -> None:
        super().__init__(f"fetch lease of mailbox {mailbox_id} was taken over")


class MailboxUnreachable(ReceptionError):
    """The mailbox could not be reached or read; the run is recorded as failed."""

    def __init__(self, error: TransportError, summary: FetchSummary) -> None:
        super().__init__(error.detail)
        self.error = error
        self.summary = summary


class DestinationRefused(ReceptionError):
    """A configuration names a destination its credential may not be sent to."""

    def __init__(self, refusal: Refusal, message: str) -> None:
        super().__init__(message)
        self.refusal = refusal
        self.field = refusal.field


class SecretNotApplicable(ReceptionError):
    """A secret was given for a mailbox whose server type authenticates without one."""


class BackupLinkInvalid(ReceptionError):
    """The confirmation link is tampered, expired, already used or replaced by a newer one."""


class BackupNotAwaitingConfirmation(ReceptionError):
    """The mailbox has no backup address waiting to be confirmed (not POP3, none, or done)."""
