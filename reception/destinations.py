"""The destination rules on the Django side: the deployment's list, the rules in words, and
the rule that needs the network when a configuration is saved.

The rules themselves live in ``reception.transports.destinations``, which runs them again before
every connection. This module reads RECEPTION_ALLOWED_MAIL_HOSTS, says a refusal in Spanish for
the form, the command line and the diagnosis, and registers a system check that refuses a
malformed setting at start-up.
"""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core import checks
from django.core.exceptions import ImproperlyConfigured
from django.utils.translation import gettext as _

from reception.exceptions import DestinationRefused
from reception.models import ServerType
from reception.transports.base import (
    MAIL_PORTS,
    AllowedHost,
    AuthMethod,
    ErrorKind,
    Refusal,
    TransportError,
)
from reception.transports.destinations import (
    MICROSOFT_MAIL_HOSTS,
    address_refusal,
    name_refusal,
    parse_allowed_hosts,
    resolve,
)


def allowed_mail_hosts() -> tuple[AllowedHost, ...]:
    """RECEPTION_ALLOWED_MAIL_HOSTS, parsed; a malformed entry is a configuration error."""
    try:
        return parse_allowed_hosts(settings.RECEPTION_ALLOWED_MAIL_HOSTS)
    except ValueError as error:
        raise ImproperlyConfigured(str(error)) from error


@checks.register(checks.Tags.security)
def check_allowed_mail_hosts(**kwargs: Any) -> list[checks.CheckMessage]:
    """Fail at start-up, not at the first connection, on a malformed entry."""
    try:
        allowed_mail_hosts()
    except ImproperlyConfigured as error:
        return [checks.Error(str(error), id="reception.E001")]
    return []


def auth_of(server_type: str) -> AuthMethod:
    """Outlook modern auth sends a token; every other server type a password."""
    return AuthMethod.OAUTH2 if server_type == ServerType.OUTLOOK_MODERN else AuthMethod.BASIC


def refusal_message(refusal: Refusal) -> str:
    """The broken rule in the user's words, with the field to correct and the way out."""
    values = {
        "host": refusal.host,
        "port": refusal.port,
        "hosts": ", ".join(MICROSOFT_MAIL_HOSTS),
        "ports": ", ".join(str(port) for port in MAIL_PORTS),
        "setting": "RECEPTION_ALLOWED_MAIL_HOSTS",
    }
    if refusal.kind == ErrorKind.HOST_NOT_ALLOWED:
        return (
            _(
                "Con «Outlook autenticación moderna» el token de acceso solo se envía a los "
                "servidores IMAP/POP de Microsoft (%(hosts)s), y «%(host)s» no es uno de ellos. "
                "Corrige «Servidor»; si es un servidor de pruebas, el administrador del sistema "
                "debe incluirlo en %(setting)s."
            )
            % values
        )
    if refusal.kind == ErrorKind.PORT_NOT_ALLOWED:
        return (
            _(
                "Las credenciales solo se envían a los puertos de IMAP y POP3 (%(ports)s), y "
                "%(port)s no es uno de ellos. Corrige «Puerto»; si tu servidor usa otro, el "
                "administrador del sistema debe incluir «%(host)s:%(port)s» en %(setting)s."
            )
            % values
        )
    return (
        _(
            "La contraseña solo se envía a servidores con direcciones públicas de internet, y "
            "«%(host)s» es o resuelve a una dirección privada, local o reservada. "
            "Corrige «Servidor»; si es un servidor de tu red, el administrador del sistema debe "
            "incluirlo en %(setting)s."
        )
        % values
    )


def static_refusal(*, server_type: str, host: str, port: int) -> Refusal | None:
    """The rules that need no network, for the form's clean()."""
    return name_refusal(auth_of(server_type), host, port, allowed_mail_hosts())


def destination_check_on_save(*, server_type: str, host: str, port: int) -> None:
    """Resolve the host being saved and apply every rule; raise DestinationRefused.

    A name that does not resolve is not refused here: nothing can be sent to it, and the check
    that follows the save explains the DNS failure.
    """
    auth, allowed = auth_of(server_type), allowed_mail_hosts()
    refusal = name_refusal(auth, host, port, allowed)
    if refusal is None and auth == AuthMethod.BASIC:
        try:
            addresses = resolve(host, port)
        except TransportError:
            return
        refusal = address_refusal(auth, host, port, addresses, allowed)
    if refusal is not None:
        raise DestinationRefused(refusal, refusal_message(refusal))
