"""The one entry point the check and the fetch share, whatever the protocol."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager

from reception.transports.base import MailboxSettings, MailProtocol, TokenProvider
from reception.transports.imap import ImapSession, open_imap
from reception.transports.pop3 import Pop3Session, open_pop3

MailboxSession = ImapSession | Pop3Session


@contextmanager
def open_mailbox(
    settings: MailboxSettings, tokens: TokenProvider, addresses: Sequence[str] | None = None
) -> Iterator[MailboxSession]:
    """A logged-in session for the mailbox's protocol, closed (LOGOUT/QUIT) on the way out.

    The destination rules run first (``destinations.vetted_addresses``, unless the caller passes
    the addresses it vetted): a refused host gets no connection, and no token is requested.
    """
    if settings.protocol == MailProtocol.IMAP:
        with open_imap(settings, tokens, addresses) as imap_session:
            yield imap_session
    else:
        with open_pop3(settings, tokens, addresses) as pop3_session:
            yield pop3_session
