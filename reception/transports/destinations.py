"""Where a mailbox credential may be sent, decided before any connection is opened.

- An Entra ID access token goes only to Microsoft's IMAP/POP hosts (``MICROSOFT_MAIL_HOSTS``):
  its name is pinned and TLS verifies the certificate against it.
- A password goes only to public addresses: the host typed as an address, and every address
  its name resolves to, must be public.
- Either goes only to the IMAP/POP ports (993, 995, 143, 110).

A host listed in RECEPTION_ALLOWED_MAIL_HOSTS (``allowed_hosts``: ``host`` for the mail ports,
``host:port`` for that port) is exempt from the host and address rules on the ports it is listed
for: labs and tests. The name is resolved once per connection and the connection goes to an
address that was vetted, so an answer that changes between the check and the connect cannot
redirect the credential. Nothing here connects; a refusal says nothing about whether anything
listens at the refused destination.
"""

from __future__ import annotations

import ipaddress
import socket
from collections.abc import Callable, Iterable, Sequence
from typing import TypeVar

from reception.transports.base import (
    MAIL_PORTS,
    AllowedHost,
    AuthMethod,
    ErrorKind,
    MailboxSettings,
    Refusal,
    Resolver,
    Stage,
    TransportError,
)

#: Exchange Online's IMAP/POP endpoint in each Microsoft cloud: worldwide (and GCC), GCC High,
#: DoD, and the one operated by 21Vianet in China (Microsoft 365 endpoint lists; the scopes
#: ``https://<host>/.default`` of Exchange Online PowerShell for each cloud).
MICROSOFT_MAIL_HOSTS: tuple[str, ...] = (
    "outlook.office365.com",
    "outlook.office365.us",
    "outlook-dod.office365.us",
    "partner.outlook.cn",
)

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address

_NAT64 = ipaddress.IPv6Network("64:ff9b::/96")
_NAT64_LOCAL = ipaddress.IPv6Network("64:ff9b:1::/48")
_IPV4_COMPATIBLE = ipaddress.IPv6Network("::/96")
_SETTING = "RECEPTION_ALLOWED_MAIL_HOSTS"


def normal_host(host: str) -> str:
    """Compare names without case or a final dot, and addresses in their canonical form."""
    host = host.strip().lower().rstrip(".")
    if host.startswith("[") and host.endswith("]"):
        host = host[1:-1]
    try:
        return str(ipaddress.ip_address(host))
    except ValueError:
        return host


def parse_allowed_hosts(entries: Iterable[str]) -> tuple[AllowedHost, ...]:
    """RECEPTION_ALLOWED_MAIL_HOSTS's entries: ``host``, ``host:port``, ``[v6]:port`` or ``v6``.

    Blank entries are skipped; anything else malformed raises ValueError naming the entry.
    """
    allowed: list[AllowedHost] = []
    for raw in entries:
        entry = raw.strip()
        if not entry:
            continue
        host, port = _split(entry)
        if not host or any(char.isspace() or char in "/@[]" for char in host):
            raise ValueError(f"{_SETTING}: «{entry}» no es «host» ni «host:puerto».")
        allowed.append(AllowedHost(normal_host(host), port))
    return tuple(allowed)


def _split(entry: str) -> tuple[str, int | None]:
    if entry.startswith("["):
        host, bracket, rest = entry[1:].partition("]")
        if not bracket or (rest and not rest.startswith(":")):
            raise ValueError(f"{_SETTING}: «{entry}» no es «[dirección IPv6]:puerto».")
        return host, _port(entry, rest[1:]) if rest else None
    if entry.count(":") > 1:  # a bare IPv6 address, without a port
        return entry, None
    host, colon, port = entry.partition(":")
    return host, _port(entry, port) if colon else None


def _port(entry: str, text: str) -> int:
    if not text.isdigit() or not 1 <= int(text) <= 65535:
        raise ValueError(f"{_SETTING}: el puerto de «{entry}» debe ser un número de 1 a 65535.")
    return int(text)


def _listed(host: str, port: int, allowed: Iterable[AllowedHost]) -> bool:
    return any(entry.matches(host, port) for entry in allowed)


def is_listed(settings: MailboxSettings) -> bool:
    """Whether RECEPTION_ALLOWED_MAIL_HOSTS lists this host for this port."""
    return _listed(normal_host(settings.host), settings.port, settings.allowed_hosts)


def is_public_address(address: str | IPAddress) -> bool:
    """Whether an address is reachable on the public internet, as the password rule needs.

    ``is_global`` alone is not enough: it calls multicast global, and IPv6 forms that carry an
    IPv4 address (mapped, compatible, 6to4, NAT64) are judged by the address they carry.
    """
    ip = ipaddress.ip_address(address) if isinstance(address, str) else address
    if isinstance(ip, ipaddress.IPv6Address):
        if ip in _NAT64_LOCAL:
            return False
        carried = _carried_ipv4(ip)
        if carried is not None:
            return is_public_address(carried)
        if ip.is_site_local:
            return False
    return ip.is_global and not (
        ip.is_private
        or ip.is_loopback
        or ip.is_link_local
        or ip.is_multicast
        or ip.is_reserved
        or ip.is_unspecified
    )


def _carried_ipv4(ip: ipaddress.IPv6Address) -> ipaddress.IPv4Address | None:
    if ip.ipv4_mapped is not None:
        return ip.ipv4_mapped
    if ip.sixtofour is not None:
        return ip.sixtofour
    if ip in _NAT64 or ip in _IPV4_COMPATIBLE:
        return ipaddress.IPv4Address(int(ip) & 0xFFFFFFFF)
    return None


def _typed_address(host: str) -> IPAddress | None:
    """The address a host typed as one stands for, in any form the resolver would accept
    ("127.1", "2130706433", "0x7f.0.0.1" are 127.0.0.1 to inet_aton)."""
    try:
        return ipaddress.ip_address(host)
    except ValueError:
        pass
    try:
        return ipaddress.IPv4Address(socket.inet_aton(host))
    except OSError:
        return None


def name_refusal(
    auth: AuthMethod, host: str, port: int, allowed: Iterable[AllowedHost]
) -> Refusal | None:
    """The rules that need no network: the port, Microsoft's hosts, an address typed as host."""
    normal = normal_host(host)
    allowed = tuple(allowed)
    listed = _listed(normal, port, allowed)
    if auth == AuthMethod.OAUTH2 and not listed and normal not in MICROSOFT_MAIL_HOSTS:
        return Refusal(ErrorKind.HOST_NOT_ALLOWED, host, port)
    if port not in MAIL_PORTS and not listed:
        return Refusal(ErrorKind.PORT_NOT_ALLOWED, host, port)
    if auth == AuthMethod.BASIC and not listed:
        typed = _typed_address(normal)
        if typed is not None and not is_public_address(typed):
            return Refusal(ErrorKind.ADDRESS_NOT_PUBLIC, host, port, str(typed))
    return None


def address_refusal(
    auth: AuthMethod,
    host: str,
    port: int,
    addresses: Iterable[str],
    allowed: Iterable[AllowedHost],
) -> Refusal | None:
    """The rule on what the name resolved to: a password goes to public addresses only.

    Every address counts, not just the first: the connection may end up at any of them.
    """
    if auth != AuthMethod.BASIC or _listed(normal_host(host), port, allowed):
        return None
    for address in addresses:
        if not is_public_address(address):
            return Refusal(ErrorKind.ADDRESS_NOT_PUBLIC, host, port, address)
    return None


def refused(refusal: Refusal) -> TransportError:
    """The refusal as the transports report failures; its text names the rule."""
    if refusal.kind == ErrorKind.HOST_NOT_ALLOWED:
        detail = f"{refusal.host} no es un servidor IMAP/POP de Microsoft ni está en {_SETTING}"
    elif refusal.kind == ErrorKind.PORT_NOT_ALLOWED:
        detail = (
            f"el puerto {refusal.port} no es 993, 995, 143 ni 110 y "
            f"{refusal.host}:{refusal.port} no está en {_SETTING}"
        )
    else:
        # Not which address: the server's view of internal names is nobody else's business.
        detail = f"{refusal.host} es o resuelve a una dirección que no es pública"
    error = TransportError(refusal.kind, Stage.DESTINATION, detail, transient=False)
    error.refusal = refusal
    return error


def check_name(settings: MailboxSettings) -> None:
    """Raise the refusal of the rules that need no network (before resolving anything)."""
    refusal = name_refusal(settings.auth, settings.host, settings.port, settings.allowed_hosts)
    if refusal is not None:
        raise refused(refusal)


def resolve(host: str, port: int, resolver: Resolver = socket.getaddrinfo) -> list[str]:
    """The addresses of ``host``, in the resolver's order, each once."""
    try:
        found = resolver(host, port, type=socket.SOCK_STREAM)
    except socket.gaierror as error:
        raise TransportError(
            ErrorKind.DNS, Stage.DNS, str(error), transient=error.errno == socket.EAI_AGAIN
        ) from error
    return list(dict.fromkeys(str(entry[4][0]) for entry in found))


def check_addresses(settings: MailboxSettings, addresses: Sequence[str]) -> None:
    """Raise the refusal of the address rule for what the name resolved to."""
    refusal = address_refusal(
        settings.auth, settings.host, settings.port, addresses, settings.allowed_hosts
    )
    if refusal is not None:
        raise refused(refusal)


def vetted_addresses(settings: MailboxSettings) -> list[str]:
    """Check the name, resolve it once, check every address: the addresses to connect to."""
    check_name(settings)
    addresses = resolve(settings.host, settings.port, settings.resolver)
    check_addresses(settings, addresses)
    return addresses


Connected = TypeVar("Connected")


def connect_first(addresses: Sequence[str], connect: Callable[[str], Connected]) -> Connected:
    """Try the vetted addresses in order, as ``socket.create_connection`` tries a name's.

    Only a failure to reach an address moves on to the next; one past TCP (TLS, the greeting)
    is the server's answer and is raised.
    """
    failure: TransportError | None = None
    for address in addresses:
        try:
            return connect(address)
        except TransportError as error:
            if error.stage != Stage.TCP:
                raise
            failure = error
    if failure is None:
        raise TransportError(ErrorKind.DNS, Stage.DNS, "el nombre no tiene direcciones")
    raise failure
