"""Types shared by the token provider, the IMAP and POP3 sessions and the diagnosis.

This package is handed plain settings and knows nothing of Django models, so the same code serves
the connection check, the scheduled fetch and the command line.
"""

from __future__ import annotations

import functools
import imaplib
import os
import poplib
import re
import socket
import ssl
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any, Protocol

from config.tls import trusting_context

DEFAULT_AUTHORITY_HOST = "https://login.microsoftonline.com"
DEFAULT_TIMEOUT_SECONDS = 30.0


class MailProtocol(StrEnum):
    IMAP = "imap"
    POP3 = "pop3"


class AuthMethod(StrEnum):
    """How the mailbox is logged into: Entra ID app token (XOAUTH2) or user and password."""

    OAUTH2 = "oauth2"
    BASIC = "basic"


class Security(StrEnum):
    """TLS from the first byte (993/995) or upgraded with STARTTLS/STLS; never plain text."""

    SSL = "ssl"
    STARTTLS = "starttls"


#: The one source of the mail ports: TLS from the first byte as the guide gives them (993/995),
#: and the usual ones for STARTTLS (143/110). The form suggests them, the diagnosis compares
#: with them, and the destination rules let a credential go only to them unless listed.
STANDARD_PORTS: dict[tuple[MailProtocol, Security], int] = {
    (MailProtocol.IMAP, Security.SSL): 993,
    (MailProtocol.POP3, Security.SSL): 995,
    (MailProtocol.IMAP, Security.STARTTLS): 143,
    (MailProtocol.POP3, Security.STARTTLS): 110,
}
#: A GUID as Entra ID writes its ids (tenant, application, object, a secret's id).
GUID = re.compile(r"^[0-9a-fA-F]{8}-([0-9a-fA-F]{4}-){3}[0-9a-fA-F]{12}$")


class Stage(StrEnum):
    """Where a connection attempt stopped; the diagnosis maps each stage to one step."""

    DNS = "dns"
    #: The host, port and addresses are ones the credential may be sent to.
    DESTINATION = "destination"
    TCP = "tcp"
    TLS = "tls"
    TOKEN = "token"  # noqa: S105 - a stage name, not a credential
    AUTH = "auth"
    INBOX = "inbox"
    FOLDERS = "folders"


class ErrorKind(StrEnum):
    """Why a connection attempt failed, precise enough to tell the user what to fix."""

    DNS = "dns"
    #: Outlook modern auth and a host that is not one of Microsoft's (nor listed).
    HOST_NOT_ALLOWED = "host_not_allowed"
    #: A port other than 993/995/143/110 that is not listed with its host.
    PORT_NOT_ALLOWED = "port_not_allowed"
    #: Basic auth and a host that is, or resolves to, an address that is not public.
    ADDRESS_NOT_PUBLIC = "address_not_public"
    CONNECTION_REFUSED = "connection_refused"
    TIMEOUT = "timeout"
    NETWORK = "network"
    TLS = "tls"
    PROTOCOL = "protocol"
    TENANT_NOT_FOUND = "tenant_not_found"
    APP_NOT_FOUND = "app_not_found"
    INVALID_SECRET = "invalid_secret"  # noqa: S105 - an error kind, not a credential
    EXPIRED_SECRET = "expired_secret"  # noqa: S105 - an error kind, not a credential
    CONSENT_MISSING = "consent_missing"
    MISSING_ROLE = "missing_role"
    WRONG_AUDIENCE = "wrong_audience"
    ENTRA_ERROR = "entra_error"
    AUTHORITY_UNAVAILABLE = "authority_unavailable"
    AUTH_REFUSED = "auth_refused"
    NOT_CONNECTED = "not_connected"
    PROTOCOL_DISABLED = "protocol_disabled"
    MAILBOX_ERROR = "mailbox_error"


#: Kinds that may heal by themselves; the others need a person to change something.
TRANSIENT_KINDS: frozenset[ErrorKind] = frozenset(
    {
        ErrorKind.CONNECTION_REFUSED,
        ErrorKind.TIMEOUT,
        ErrorKind.NETWORK,
        ErrorKind.AUTHORITY_UNAVAILABLE,
    }
)


class TransportError(Exception):
    """A failed network operation, classified; its text never carries a secret or a token."""

    def __init__(
        self,
        kind: ErrorKind,
        stage: Stage,
        detail: str,
        *,
        transient: bool | None = None,
        codes: tuple[int, ...] = (),
    ) -> None:
        super().__init__(f"{kind}: {detail}")
        self.kind = kind
        self.stage = stage
        self.detail = detail
        self.transient = kind in TRANSIENT_KINDS if transient is None else transient
        #: Entra's AADSTS codes when the token service answered with an error.
        self.codes = codes
        #: The connection as far as it got, when the failure came after connecting.
        self.connection: ConnectionInfo | None = None
        #: The rule that kept the credential from being sent (Stage.DESTINATION).
        self.refusal: Refusal | None = None


@dataclass(frozen=True)
class AllowedHost:
    """One entry of RECEPTION_ALLOWED_MAIL_HOSTS: a host, on the mail ports or on ``port``."""

    host: str
    port: int | None = None

    def matches(self, host: str, port: int) -> bool:
        """``host`` is already normalised (see ``destinations.normal_host``)."""
        if self.host != host:
            return False
        return port in MAIL_PORTS if self.port is None else port == self.port


#: The ports of IMAP and POP3, over TLS and with STARTTLS; any other must be listed.
MAIL_PORTS: tuple[int, ...] = tuple(STANDARD_PORTS.values())

#: ``socket.getaddrinfo`` or a stand-in with its signature and answers.
Resolver = Callable[..., list[tuple[Any, ...]]]


@dataclass(frozen=True)
class Refusal:
    """Why a credential may not go to a destination: the rule broken, and where."""

    kind: ErrorKind
    host: str
    port: int
    #: The address that is not public (ADDRESS_NOT_PUBLIC).
    address: str = ""

    @property
    def field(self) -> str:
        """The configuration field to correct."""
        return "port" if self.kind == ErrorKind.PORT_NOT_ALLOWED else "host"


@dataclass(frozen=True)
class MailboxSettings:
    """Everything needed to reach one reception mailbox; built by the service layer."""

    protocol: MailProtocol
    auth: AuthMethod
    host: str
    port: int
    security: Security
    username: str
    password: str = field(default="", repr=False)
    tenant_id: str = ""
    client_id: str = ""
    client_secret: str = field(default="", repr=False)
    #: The enterprise application's Object ID the customer says they registered (optional).
    object_id: str = ""
    authority_host: str = DEFAULT_AUTHORITY_HOST
    #: PEM file of extra CAs trusted for the authority and the mail server, besides the system's.
    ca_bundle: str | None = None
    timeout: float = DEFAULT_TIMEOUT_SECONDS
    #: RECEPTION_ALLOWED_MAIL_HOSTS: hosts a credential may go to beyond the built-in rules.
    allowed_hosts: tuple[AllowedHost, ...] = ()
    #: Name resolution, once per connection; a stand-in in tests.
    resolver: Resolver = field(default=socket.getaddrinfo, repr=False, compare=False)

    @property
    def secrets(self) -> tuple[str, ...]:
        return tuple(value for value in (self.password, self.client_secret) if value)


@dataclass(frozen=True)
class TokenClaims:
    """The claims of an access token that explain a refusal; read, not verified."""

    audience: str
    tenant_id: str
    app_id: str
    object_id: str
    roles: tuple[str, ...]
    expires_at: int | None

    def as_dict(self) -> dict[str, Any]:
        return {
            "aud": self.audience,
            "tid": self.tenant_id,
            "appid": self.app_id,
            "oid": self.object_id,
            "roles": list(self.roles),
            "exp": self.expires_at,
        }


@dataclass(frozen=True)
class AccessToken:
    value: str = field(repr=False)
    claims: TokenClaims
    #: "identity_provider" when Entra was asked, "cache" when msal's cache answered.
    source: str


class TokenProvider(Protocol):
    """Returns an access token for the mailbox's Entra ID application, or raises TransportError."""

    def get_token(self, settings: MailboxSettings) -> AccessToken: ...


@dataclass
class ConnectionInfo:
    """What the connection looked like, for the diagnosis to show when each step passed."""

    address: str = ""
    tls_version: str = ""
    cipher: str = ""
    certificate_subject: str = ""
    certificate_issuer: str = ""
    certificate_expires: str = ""
    greeting: str = ""


_JWT_PATTERN = re.compile(r"eyJ[\w-]+\.[\w-]+\.[\w-]*")
_BEARER_PATTERN = re.compile(r"(?i)(bearer\s+)\S+")
REDACTED = "***"


def scrub(text: str, secrets: Iterable[str]) -> str:
    """Remove secrets, passwords and tokens from a text meant for people or logs."""
    for secret in sorted(secrets, key=len, reverse=True):
        if secret:
            text = text.replace(secret, REDACTED)
    text = _JWT_PATTERN.sub(REDACTED, text)
    return _BEARER_PATTERN.sub(rf"\g<1>{REDACTED}", text)


def _name(entries: Any) -> str:
    return ", ".join(f"{key}={value}" for entry in entries for key, value in entry)


class StagedTLS:
    """One connection's handle on the shared verifying context, noting where the connection got to.

    imaplib and poplib open the TCP socket and wrap it inside one constructor call, so the object
    they are handed as their context is the only place that can tell "port closed" apart from
    "certificate refused". They only call ``wrap_socket``, so this stands in for the context while
    the real one, costly to build, is shared by every connection and thread and never changed.

    The libraries are handed the vetted address to connect to, not the name; ``server_hostname``
    keeps the certificate checked against the configured name all the same.
    """

    def __init__(self, context: ssl.SSLContext, server_hostname: str | None = None) -> None:
        self.context = context
        self.server_hostname = server_hostname
        self.info = ConnectionInfo()
        self.tcp_connected = False

    def wrap_socket(
        self, sock: socket.socket, *, server_hostname: str | None = None
    ) -> ssl.SSLSocket:
        self.tcp_connected = True
        host, port = sock.getpeername()[:2]
        self.info.address = f"{host}:{port}"
        wrapped = self.context.wrap_socket(
            sock, server_hostname=self.server_hostname or server_hostname
        )
        self.info.tls_version = wrapped.version() or ""
        cipher = wrapped.cipher()
        self.info.cipher = cipher[0] if cipher else ""
        certificate = wrapped.getpeercert() or {}
        self.info.certificate_subject = _name(certificate.get("subject", ()))
        self.info.certificate_issuer = _name(certificate.get("issuer", ()))
        self.info.certificate_expires = str(certificate.get("notAfter", ""))
        return wrapped


@functools.lru_cache(maxsize=8)
def _mail_context(ca_bundle: str | None, _version: tuple[int, int] | None) -> ssl.SSLContext:
    """One context per bundle and file version: loading the system CA store costs ~35 ms."""
    return trusting_context(ca_bundle)


def staged_tls(ca_bundle: str | None, server_hostname: str | None = None) -> StagedTLS:
    """A fresh handle per connection on the process's context for ``ca_bundle``.

    The bundle's mtime and size are part of the key, so a replaced file is read again.
    """
    version: tuple[int, int] | None = None
    if ca_bundle:
        try:
            status = os.stat(ca_bundle)
        except OSError:
            return StagedTLS(trusting_context(ca_bundle))  # raises the same error, uncached
        version = (status.st_mtime_ns, status.st_size)
    return StagedTLS(_mail_context(ca_bundle, version), server_hostname)


def connection_error(
    error: BaseException, *, context: StagedTLS, upgrading: bool
) -> TransportError:
    """Classify a failure while connecting, by what the connection's StagedTLS saw happen.

    ``upgrading`` is true while STARTTLS/STLS runs: the TCP connection is then known to be up.
    """
    tcp_up = context.tcp_connected or upgrading
    if isinstance(error, ssl.SSLCertVerificationError):
        detail = error.verify_message or str(error)
        return TransportError(ErrorKind.TLS, Stage.TLS, detail)
    if isinstance(error, ssl.SSLError):
        return TransportError(ErrorKind.TLS, Stage.TLS, error.reason or str(error))
    stage = Stage.TLS if tcp_up else Stage.TCP
    if isinstance(error, TimeoutError):
        return TransportError(ErrorKind.TIMEOUT, stage, "tiempo de espera agotado")
    if isinstance(error, ConnectionRefusedError):
        return TransportError(ErrorKind.CONNECTION_REFUSED, Stage.TCP, str(error))
    if isinstance(error, OSError) and not tcp_up:
        return TransportError(ErrorKind.NETWORK, Stage.TCP, str(error))
    return TransportError(ErrorKind.PROTOCOL, Stage.TLS, server_text(error))


_BYTES_REPR = re.compile(r"""^(?P<head>.*?)b(?P<quote>['"])(?P<text>.*)(?P=quote)$""", re.DOTALL)


def server_text(error: BaseException) -> str:
    """The server's words in an imaplib/poplib error, without the repr of the bytes they were."""
    argument = error.args[0] if error.args else ""
    if isinstance(argument, bytes):
        return argument.decode(errors="replace")
    match = _BYTES_REPR.match(str(error))
    return match.group("head") + match.group("text") if match else str(error)


_NOT_CONNECTED_PATTERN = re.compile(r"(?i)authenticated but not connected")
_DISABLED_PATTERN = re.compile(
    r"(?i)(not enabled for (imap|pop)|(imap|pop3?) (access )?(is )?(disabled|not enabled)"
    r"|protocol (is )?disabled)"
)


def lost_connection(error: BaseException) -> bool:
    """Whether a library error is really the connection dropping, however it was re-raised.

    imapclient turns imaplib's abort into LoginError and poplib reports EOF as "-ERR EOF": both
    read as refusals unless the chain of causes is followed.
    """
    current: BaseException | None = error
    while current is not None:
        if isinstance(current, OSError | imaplib.IMAP4.abort):
            return True
        if isinstance(current, poplib.error_proto) and server_text(current) == "-ERR EOF":
            return True
        current = current.__cause__ or current.__context__
    return False


def refusal_kind(text: str) -> ErrorKind:
    """Name a server's refusal; Exchange's own words are matched first, then common variants."""
    if _NOT_CONNECTED_PATTERN.search(text):
        return ErrorKind.NOT_CONNECTED
    if _DISABLED_PATTERN.search(text):
        return ErrorKind.PROTOCOL_DISABLED
    return ErrorKind.AUTH_REFUSED
