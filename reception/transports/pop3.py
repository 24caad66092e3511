"""POP3 sessions through poplib: login (USER/PASS or AUTH XOAUTH2), UIDL, RETR, DELE.

POP3 deletes only when the session ends with QUIT, so a session that ends with an error resets
its deletion marks first: nothing leaves the server unless the caller got to the end.
"""

from __future__ import annotations

import base64
import contextlib
import poplib
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass

from reception.transports.base import (
    AuthMethod,
    ConnectionInfo,
    ErrorKind,
    MailboxSettings,
    MailProtocol,
    Security,
    Stage,
    TokenProvider,
    TransportError,
    connection_error,
    lost_connection,
    refusal_kind,
    scrub,
    server_text,
    staged_tls,
)
from reception.transports.destinations import connect_first, vetted_addresses
from reception.transports.tokens import check_claims


@dataclass(frozen=True)
class PopMessage:
    """A message as listed: its number is valid for this session only, its uid across sessions."""

    number: int
    uid: str
    size: int


@dataclass(frozen=True)
class MaildropState:
    messages: int
    size: int


def _text(response: bytes) -> str:
    return response.decode(errors="replace")


class Pop3Session:
    """A logged-in POP3 connection; get one from ``open_pop3`` or ``open_mailbox``."""

    protocol = MailProtocol.POP3

    def __init__(
        self, client: poplib.POP3, settings: MailboxSettings, info: ConnectionInfo
    ) -> None:
        self.client = client
        self.info = info
        self._secrets = settings.secrets

    def _failure(self, error: Exception) -> TransportError:
        detail = scrub(server_text(error), self._secrets)
        if isinstance(error, TimeoutError):
            return TransportError(ErrorKind.TIMEOUT, Stage.INBOX, "tiempo de espera agotado")
        if lost_connection(error):
            return TransportError(ErrorKind.NETWORK, Stage.INBOX, detail)
        kind = refusal_kind(detail)
        if kind == ErrorKind.AUTH_REFUSED:
            kind = ErrorKind.MAILBOX_ERROR
        return TransportError(kind, Stage.INBOX, detail)

    def inbox_status(self) -> MaildropState:
        """STAT: proves the maildrop itself can be read, not just the login."""
        try:
            count, size = self.client.stat()
        except (OSError, poplib.error_proto) as error:
            raise self._failure(error) from error
        return MaildropState(messages=count, size=size)

    def messages(self) -> list[PopMessage]:
        """UIDL and LIST in two round trips whatever the number of messages; UIDL alone if none."""
        try:
            _response, uid_lines, _octets = self.client.uidl()
            if not uid_lines:
                return []  # an idle poll stops here
            _response, size_lines, _octets = self.client.list()
        except (OSError, poplib.error_proto) as error:
            raise self._failure(error) from error
        sizes: dict[int, int] = {}
        for line in size_lines:
            number, size = line.split()[:2]
            sizes[int(number)] = int(size)
        listed: list[PopMessage] = []
        for line in uid_lines:
            number, uid = line.split()[:2]
            listed.append(
                PopMessage(number=int(number), uid=_text(uid), size=sizes.get(int(number), 0))
            )
        return listed

    def retrieve(self, number: int) -> bytes:
        try:
            _response, lines, _octets = self.client.retr(number)
        except (OSError, poplib.error_proto) as error:
            raise self._failure(error) from error
        return b"\r\n".join(lines) + b"\r\n"

    def delete(self, number: int) -> None:
        """Mark for deletion; the server deletes when the session ends normally (QUIT)."""
        try:
            self.client.dele(number)
        except (OSError, poplib.error_proto) as error:
            raise self._failure(error) from error


def _xoauth2(client: poplib.POP3, username: str, token: str) -> None:
    """AUTH XOAUTH2 in two steps: the initial response is too long for the command line.

    poplib has no SASL helper, so this talks through its line primitive. A refusal comes as a
    "+ <base64 JSON>" challenge; an empty line then gets the final -ERR.
    """
    initial = base64.b64encode(f"user={username}\x01auth=Bearer {token}\x01\x01".encode())
    client._shortcmd("AUTH XOAUTH2")
    response = client._shortcmd(initial.decode())
    if not response.startswith(b"+OK"):
        client._shortcmd("")


def _login(client: poplib.POP3, settings: MailboxSettings, tokens: TokenProvider) -> None:
    secrets = settings.secrets
    try:
        if settings.auth == AuthMethod.OAUTH2:
            token = tokens.get_token(settings)
            check_claims(token.claims, MailProtocol.POP3)
            secrets = (*secrets, token.value)
            _xoauth2(client, settings.username, token.value)
        else:
            client.user(settings.username)
            client.pass_(settings.password)
    except poplib.error_proto as error:
        detail = scrub(server_text(error), secrets)
        kind = ErrorKind.NETWORK if lost_connection(error) else refusal_kind(detail)
        raise TransportError(kind, Stage.AUTH, detail) from error
    except TimeoutError as error:
        raise TransportError(ErrorKind.TIMEOUT, Stage.AUTH, "tiempo de espera agotado") from error
    except OSError as error:
        raise TransportError(ErrorKind.NETWORK, Stage.AUTH, scrub(str(error), secrets)) from error


def _connect(settings: MailboxSettings, address: str) -> tuple[poplib.POP3, ConnectionInfo]:
    """Connect to one vetted address of the host; TLS checks the certificate against its name."""
    context = staged_tls(settings.ca_bundle, server_hostname=settings.host)
    client: poplib.POP3
    try:
        if settings.security == Security.SSL:
            client = poplib.POP3_SSL(
                address, settings.port, timeout=settings.timeout, context=context
            )
        else:
            client = poplib.POP3(address, settings.port, timeout=settings.timeout)
    except (OSError, poplib.error_proto) as error:
        raise connection_error(error, context=context, upgrading=False) from error
    try:
        if settings.security == Security.STARTTLS:
            client.stls(context=context)
        context.info.greeting = scrub(_text(client.getwelcome()), settings.secrets)
    except (OSError, poplib.error_proto) as error:
        with contextlib.suppress(OSError):  # a failed STLS handshake already closed it
            client.close()
        raise connection_error(error, context=context, upgrading=True) from error
    return client, context.info


@contextmanager
def open_pop3(
    settings: MailboxSettings, tokens: TokenProvider, addresses: Sequence[str] | None = None
) -> Iterator[Pop3Session]:
    """Connect, secure, log in; QUIT on the way out, after RSET if the caller failed.

    ``addresses`` as for ``open_imap``: vetted by the caller, or here.
    """
    if addresses is None:
        addresses = vetted_addresses(settings)
    client, info = connect_first(addresses, lambda address: _connect(settings, address))
    logged_in = committed = False
    try:
        try:
            _login(client, settings, tokens)
        except TransportError as error:
            error.connection = info
            raise
        logged_in = True
        yield Pop3Session(client, settings, info)
        committed = True
    finally:
        try:
            if logged_in and not committed:
                client.rset()
            client.quit()
        except (OSError, poplib.error_proto):
            client.close()
