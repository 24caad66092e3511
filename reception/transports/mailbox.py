"""The one entry point the check and the fetch share, whatever the protocol."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from reception.transports.base import MailboxSettings, MailProtocol, TokenProvider
from reception.transports.imap import ImapSession, open_imap
from reception.transports.pop3 import Pop3Session, open_pop3

MailboxSession = ImapSession | Pop3Session


@contextmanager
def open_mailbox(settings: MailboxSettings, tokens: TokenProvider) -> Iterator[MailboxSession]:
    """A logged-in session for the mailbox's protocol, closed (LOGOUT/QUIT) on the way out."""
    if settings.protocol == MailProtocol.IMAP:
        with open_imap(settings, tokens) as imap_session:
            yield imap_session
    else:
        with open_pop3(settings, tokens) as pop3_session:
            yield pop3_session
