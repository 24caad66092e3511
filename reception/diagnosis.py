"""The connection check: ordered steps, each with what went wrong and what to do about it.

The explanations follow the vendor's setup guide and name its sections, so that whoever reads
them can open the guide at the right page. Where a server's refusal cannot tell its causes apart,
every cause is listed, the most likely first, each with its fix. The result is plain data
(``Diagnosis.as_dict``) that the service layer stores on the mailbox as JSON.
"""

from __future__ import annotations

import re
import socket
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from enum import StrEnum
from typing import Any
from urllib.parse import urlsplit

from django.utils.functional import Promise
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from reception.destinations import refusal_message
from reception.transports import (
    AccessToken,
    AuthMethod,
    ConnectionInfo,
    EntraTokenProvider,
    ErrorKind,
    ImapSession,
    MailboxSettings,
    MailProtocol,
    Security,
    Stage,
    TokenClaims,
    TokenProvider,
    TransportError,
    open_mailbox,
)
from reception.transports.base import GUID, STANDARD_PORTS, Refusal, scrub
from reception.transports.destinations import (
    MICROSOFT_MAIL_HOSTS,
    check_addresses,
    check_name,
    is_listed,
    normal_host,
    resolve,
)
from reception.transports.tokens import ROLE_BY_PROTOCOL

OUTLOOK_HOST = "outlook.office365.com"


class Section(StrEnum):
    """Section titles of the vendor's setup guide, as printed there."""

    PROTOCOL_ENABLED = "IMAP/POP3 Activo para Buzón"
    APP_REGISTRATION = "Registro aplicación"
    PERMISSIONS = "Asignación permisos para IMAP/POP3"
    SERVICE_PRINCIPAL = "Registrar service principal en Exchange Online"
    POWERSHELL_CONNECTION = "Conexión a Exchange Online desde PowerShell"
    MAILBOX_PERMISSION = "Dar permiso al buzón de recepción para la aplicación creada"
    CONFIGURATION = "Parametrización del buzón de recepción en nuestro sistema"
    SECRET_RENEWAL = "Actualización de secreto en aplicación existente"  # noqa: S105
    ANNEX = "ANEXO – Errores Frecuentes"


class StepStatus(StrEnum):
    OK = "ok"
    FAILED = "failed"
    NOT_RUN = "not_run"


@dataclass(frozen=True)
class Cause:
    """One possible cause of a failure and how to fix it."""

    text: str
    section: Section | None = None
    commands: tuple[str, ...] = ()

    def as_dict(self) -> dict[str, Any]:
        return {
            "text": self.text,
            "section": str(self.section) if self.section else None,
            "commands": list(self.commands),
        }


@dataclass(frozen=True)
class Step:
    id: Stage
    title: str
    status: StepStatus
    detail: str = ""
    #: Ordered: the most likely cause first.
    causes: tuple[Cause, ...] = ()

    def as_dict(self) -> dict[str, Any]:
        return {
            "id": str(self.id),
            "title": self.title,
            "status": str(self.status),
            "detail": self.detail,
            "causes": [cause.as_dict() for cause in self.causes],
        }


@dataclass(frozen=True)
class Diagnosis:
    protocol: MailProtocol
    auth: AuthMethod
    steps: tuple[Step, ...]
    checked_at: datetime
    error_kind: ErrorKind | None = None
    transient: bool = False
    claims: TokenClaims | None = None
    created_folders: tuple[str, ...] = field(default=())

    @property
    def ok(self) -> bool:
        return all(step.status == StepStatus.OK for step in self.steps)

    def step(self, step_id: Stage) -> Step:
        return next(step for step in self.steps if step.id == step_id)

    @property
    def failed_step(self) -> Step | None:
        return next((step for step in self.steps if step.status == StepStatus.FAILED), None)

    def as_dict(self) -> dict[str, Any]:
        failed = self.failed_step
        return {
            "ok": self.ok,
            "checked_at": self.checked_at.isoformat(),
            "protocol": str(self.protocol),
            "auth": str(self.auth),
            "error": None
            if failed is None
            else {
                "kind": str(self.error_kind) if self.error_kind else None,
                "transient": self.transient,
                "step": str(failed.id),
            },
            "token_claims": self.claims.as_dict() if self.claims else None,
            "created_folders": list(self.created_folders),
            "steps": [step.as_dict() for step in self.steps],
        }


# PowerShell -----------------------------------------------------------------------------------

#: The characters PowerShell takes for a single quote: any of them opens or closes a literal.
POWERSHELL_SINGLE_QUOTES = "'\u2018\u2019\u201a\u201b"


def powershell_literal(value: str) -> str:
    """`value` as one single-quoted PowerShell literal, in which nothing is expanded.

    The lines are pasted into Exchange Online PowerShell: inside a double-quoted string, a user
    like ``"$(iex ...)"@x`` would run code. In a single-quoted one only a quote character can
    end the string, and each is doubled to stand for itself.
    """
    escaped = "".join(char * 2 if char in POWERSHELL_SINGLE_QUOTES else char for char in value)
    return f"'{escaped}'"


def _bare(value: str) -> str:
    """Remove every whitespace: the guide's most frequent error is a stray space in a command."""
    return "".join(value.split())


@dataclass(frozen=True)
class PowerShellValues:
    """The values the guide's commands need; placeholders stay visible when one is unknown.

    Every value enters a line through `powershell_literal`, whatever its source (the form, a
    row saved before today's rules, or the token).
    """

    app_id: str
    object_id: str
    tenant_id: str
    mailbox: str

    @classmethod
    def build(cls, settings: MailboxSettings, claims: TokenClaims | None) -> PowerShellValues:
        """The token's oid is the enterprise application's Object ID: it beats what was typed."""
        object_id = (claims.object_id if claims else "") or settings.object_id
        tenant_id = (claims.tenant_id if claims else "") or settings.tenant_id
        return cls(
            app_id=_bare(settings.client_id) or "<AppId>",
            object_id=_bare(object_id) or "<ObjectId>",
            tenant_id=_bare(tenant_id) or "<ORGANIZATION_ID>",
            mailbox=_bare(settings.username) or "<buzonRecepcion>",
        )

    def new_service_principal(self) -> str:
        return (
            f"New-ServicePrincipal -AppId {powershell_literal(self.app_id)} "
            f"-ObjectId {powershell_literal(self.object_id)}"
        )

    def get_service_principal(self) -> str:
        return f"Get-ServicePrincipal -Organization {powershell_literal(self.tenant_id)} | fl"

    def remove_mailbox_permission(self) -> str:
        return (
            f"Remove-MailboxPermission -Identity {powershell_literal(self.mailbox)} "
            f"-User {powershell_literal(self.object_id)} "
            "-AccessRights FullAccess -InheritanceType All"
        )

    def add_mailbox_permission(self) -> str:
        return (
            f"Add-MailboxPermission -Identity {powershell_literal(self.mailbox)} "
            f"-User {powershell_literal(self.object_id)} -AccessRights FullAccess"
        )

    def set_cas_mailbox(self, protocol: MailProtocol) -> str:
        switch = "-ImapEnabled" if protocol == MailProtocol.IMAP else "-PopEnabled"
        return f"Set-CASMailbox -Identity {powershell_literal(self.mailbox)} {switch} $true"

    @staticmethod
    def remove_service_principal(object_id: str) -> str:
        """For the registration made with the wrong Object ID, which is not `object_id`."""
        return f"Remove-ServicePrincipal -Identity {powershell_literal(object_id)}"


# Step titles and causes -----------------------------------------------------------------------


def step_titles(settings: MailboxSettings) -> dict[Stage, str]:
    """Each step's title as the user reads it, in the diagnosis and in status reasons."""
    protocol = "IMAP" if settings.protocol == MailProtocol.IMAP else "POP3"
    return {
        Stage.DNS: _("El nombre del servidor se resuelve"),
        Stage.DESTINATION: _("Servidor permitido para la credencial"),
        Stage.TCP: _("El puerto del servidor está abierto"),
        Stage.TLS: _("Conexión segura (TLS) y certificado del servidor"),
        Stage.TOKEN: _("Token de Entra ID para la aplicación"),
        Stage.AUTH: _("Autenticación en el buzón por %(protocol)s") % {"protocol": protocol},
        Stage.INBOX: _("Apertura de la bandeja de entrada"),
        Stage.FOLDERS: _("Estructura de carpetas de recepción"),
    }


def _stages(settings: MailboxSettings) -> list[Stage]:
    stages = [Stage.DNS, Stage.DESTINATION, Stage.TCP, Stage.TLS]
    if settings.auth == AuthMethod.OAUTH2:
        stages.append(Stage.TOKEN)
    stages += [Stage.AUTH, Stage.INBOX]
    if settings.protocol == MailProtocol.IMAP:
        stages.append(Stage.FOLDERS)
    return stages


def _protocol_name(settings: MailboxSettings) -> str:
    return "IMAP" if settings.protocol == MailProtocol.IMAP else "POP3"


def _guide_port(settings: MailboxSettings) -> int:
    return STANDARD_PORTS[settings.protocol, settings.security]


def _server_values_cause(settings: MailboxSettings) -> Cause | None:
    """The guide's server and port, when the configured ones differ from them."""
    expected_port = _guide_port(settings)
    modern = settings.auth == AuthMethod.OAUTH2
    wrong_host = modern and normal_host(settings.host) not in MICROSOFT_MAIL_HOSTS
    if not wrong_host and settings.port == expected_port:
        return None
    text = _(
        "Revisa los valores de la ventana de parámetros: servidor %(host)s y puerto %(port)s "
        "para %(protocol)s (la guía indica 993 para IMAP y 995 para POP3)."
    ) % {
        "host": OUTLOOK_HOST if modern else settings.host,
        "port": expected_port,
        "protocol": _protocol_name(settings),
    }
    return Cause(text, Section.ANNEX)


def _security_mismatch_cause(settings: MailboxSettings) -> Cause:
    return Cause(
        _(
            "El puerto y el protocolo de seguridad no coinciden: con SSL/TLS usa %(ssl)s; "
            "con STARTTLS usa %(starttls)s. También puede ser un puerto de otro protocolo "
            "(IMAP en lugar de POP3 o al revés)."
        )
        % {
            "ssl": STANDARD_PORTS[settings.protocol, Security.SSL],
            "starttls": STANDARD_PORTS[settings.protocol, Security.STARTTLS],
        },
        Section.CONFIGURATION,
    )


#: What the system's and OpenSSL's texts a user can meet mean, in the user's words; matched
#: case-insensitively in the technical text, which is kept after them as the detail.
_PLAIN_WORDS: tuple[tuple[re.Pattern[str], Promise], ...] = tuple(
    (re.compile(pattern, re.IGNORECASE), text)
    for pattern, text in (
        (
            r"name or service not known|nodename nor servname|no address associated|"
            r"name does not resolve|non-recoverable failure in name resolution",
            gettext_lazy("El nombre del servidor no se encontró en el DNS"),
        ),
        (
            r"temporary failure in name resolution|try again",
            gettext_lazy("El servicio de nombres (DNS) no respondió"),
        ),
        (r"connection refused", gettext_lazy("El servidor rechazó la conexión en ese puerto")),
        (r"network is unreachable", gettext_lazy("Este equipo no tiene salida a esa red")),
        (r"no route to host", gettext_lazy("No hay ruta de red hasta el servidor")),
        (r"connection reset", gettext_lazy("El servidor cortó la conexión")),
        (r"broken pipe", gettext_lazy("La conexión se cerró mientras se enviaban datos")),
        (r"timed out|tiempo de espera", gettext_lazy("El servidor no respondió a tiempo")),
        (
            r"hostname mismatch|doesn't match|not valid for",
            gettext_lazy("El certificado del servidor es de otro nombre"),
        ),
        (r"certificate has expired", gettext_lazy("El certificado del servidor expiró")),
        (
            r"self[- ]signed|unable to get local issuer|certificate verify failed|"
            r"unknown ca|certificate_unknown",
            gettext_lazy("El certificado del servidor no es de una autoridad de confianza"),
        ),
        (
            r"wrong version number|unknown protocol|http request",
            gettext_lazy(
                "El servidor no habla TLS en ese puerto (¿Protocolo de Seguridad equivocado?)"
            ),
        ),
        (
            r"unsupported protocol|protocol version|no protocols available",
            gettext_lazy("El servidor solo acepta una versión de TLS que ya no es segura"),
        ),
        (
            r"handshake failure|no shared cipher|sslv3 alert",
            gettext_lazy("El servidor y este equipo no acordaron cómo cifrar la conexión"),
        ),
        (
            r"unexpected eof|eof occurred|violation of protocol",
            gettext_lazy("El servidor cerró la conexión mientras se establecía el cifrado"),
        ),
        (r"permission denied", gettext_lazy("El sistema no permite esta conexión")),
    )
)
#: The kinds whose detail is a system's or OpenSSL's text rather than the server's words.
_SYSTEM_TEXT_KINDS = frozenset(
    {
        ErrorKind.DNS,
        ErrorKind.CONNECTION_REFUSED,
        ErrorKind.TIMEOUT,
        ErrorKind.NETWORK,
        ErrorKind.TLS,
    }
)


def in_plain_words(error: TransportError) -> str:
    """The failure's detail in Spanish, the technical text kept after it for whoever helps
    ("[Errno -2] Name or service not known" reaches nobody as it is)."""
    if error.kind not in _SYSTEM_TEXT_KINDS:
        return error.detail
    words = error.detail.replace("_", " ")  # OpenSSL's reasons: WRONG_VERSION_NUMBER
    for pattern, text in _PLAIN_WORDS:
        if pattern.search(words):
            return _("%(plain)s (detalle técnico: %(detail)s)") % {
                "plain": text,
                "detail": error.detail,
            }
    return error.detail


def _names_resolve(settings: MailboxSettings) -> bool:
    """Whether this machine resolves a second, well-known name: the authority's host, which
    always exists. If it does not either, the failure is this machine's DNS or network, not
    a misspelt server."""
    name = urlsplit(settings.authority_host).hostname or settings.authority_host
    try:
        settings.resolver(name, 443, type=socket.SOCK_STREAM)
    except OSError:
        return False
    return True


def _network_causes(error: TransportError, settings: MailboxSettings) -> list[Cause]:
    causes: list[Cause] = []
    server_values = _server_values_cause(settings)
    if error.kind == ErrorKind.DNS:
        if not _names_resolve(settings):
            return [
                Cause(
                    _(
                        "Este equipo no logra resolver nombres: tampoco encuentra «%(known)s», "
                        "que siempre existe. El servidor «%(host)s» puede estar bien escrito; "
                        "revisa la conexión a internet y el DNS de este equipo (o pídeselo a "
                        "quien administra la red). Se reintentará solo."
                    )
                    % {
                        "known": urlsplit(settings.authority_host).hostname
                        or settings.authority_host,
                        "host": settings.host,
                    }
                )
            ]
        if error.transient:
            causes.append(
                Cause(_("El servicio de nombres (DNS) no respondió; se reintentará solo."))
            )
        causes.append(
            Cause(
                _("El servidor «%(host)s» no existe: revisa que esté bien escrito.")
                % {"host": settings.host},
                Section.CONFIGURATION,
            )
        )
    elif error.kind in (ErrorKind.CONNECTION_REFUSED, ErrorKind.TIMEOUT, ErrorKind.NETWORK):
        if error.kind == ErrorKind.TIMEOUT:
            # A STARTTLS client on a TLS port waits for a greeting that never comes.
            causes.append(_security_mismatch_cause(settings))
        causes.append(
            Cause(
                _("El servidor no acepta conexiones en el puerto %(port)s: revisa el puerto.")
                % {"port": settings.port},
                Section.CONFIGURATION,
            )
        )
        causes.append(
            Cause(
                _(
                    "Un cortafuegos o proxy de la red bloquea la salida al puerto %(port)s, o el "
                    "servidor no está disponible en este momento; si es así se reintentará solo."
                )
                % {"port": settings.port}
            )
        )
    if server_values is not None:
        causes.insert(0 if error.kind != ErrorKind.DNS or not error.transient else 1, server_values)
    return causes


def _tls_causes(error: TransportError, settings: MailboxSettings) -> list[Cause]:
    causes: list[Cause] = []
    server_values = _server_values_cause(settings)
    if error.kind == ErrorKind.TLS and "certificate" in error.detail.lower():
        if "hostname" in error.detail.lower() or "mismatch" in error.detail.lower():
            causes.append(
                Cause(
                    _(
                        "El certificado del servidor no corresponde al nombre «%(host)s»: usa el "
                        "nombre exacto del servidor (para Microsoft 365, %(outlook)s)."
                    )
                    % {"host": settings.host, "outlook": OUTLOOK_HOST},
                    Section.CONFIGURATION,
                )
            )
        causes.append(
            Cause(
                _(
                    "El certificado del servidor no es de confianza. Si la red de la empresa "
                    "inspecciona el tráfico TLS con una CA corporativa, el administrador del "
                    "sistema debe agregar esa CA en RECEPTION_CA_BUNDLE; si no, el servidor no es "
                    "el esperado."
                )
            )
        )
        if server_values is not None:
            causes.append(server_values)
        return causes
    if server_values is not None:
        causes.append(server_values)
    causes.append(_security_mismatch_cause(settings))
    return causes


def _destination_causes(error: TransportError, settings: MailboxSettings) -> list[Cause]:
    """The rule that kept the credential home, and the field to correct."""
    refusal = error.refusal or Refusal(error.kind, settings.host, settings.port)
    return [Cause(refusal_message(refusal), Section.CONFIGURATION)]


def _consent_cause(role: str) -> Cause:
    return Cause(
        _(
            "Falta el consentimiento de administrador: en Entra ID, Permisos de API, usa "
            "«Conceder consentimiento de administrador» y confirma que %(role)s quede "
            "«Concedido»."
        )
        % {"role": role},
        Section.PERMISSIONS,
    )


def _permission_cause(role: str) -> Cause:
    return Cause(
        _(
            "Falta el permiso de aplicación %(role)s de «Office 365 Exchange Online» "
            "(Permisos de la aplicación, no delegados). Agrégalo y después concede el "
            "consentimiento de administrador."
        )
        % {"role": role},
        Section.PERMISSIONS,
    )


@dataclass(frozen=True)
class _Hint:
    """One cause of a token failure as the guide words it; `values` fill its placeholders."""

    text: str | Promise
    section: Section | None = None
    values: Callable[[MailboxSettings], dict[str, str]] | None = None

    def cause(self, settings: MailboxSettings) -> Cause:
        text = str(self.text)
        return Cause(text % self.values(settings) if self.values else text, self.section)


_NOT_ANSWERED = (
    _Hint(gettext_lazy("Entra ID no respondió a tiempo; se reintentará automáticamente.")),
)

#: What Entra ID's refusal of a token means, by kind, in the order the causes are likelier.
_TOKEN_HINTS: dict[ErrorKind, tuple[_Hint, ...]] = {
    ErrorKind.TENANT_NOT_FOUND: (
        _Hint(
            gettext_lazy(
                "El Id. Tenant «%(tenant)s» no existe en Entra ID. Copia el «Id. de directorio "
                "(inquilino)» de la página de la aplicación registrada, sin espacios."
            ),
            Section.APP_REGISTRATION,
            lambda settings: {"tenant": settings.tenant_id},
        ),
    ),
    ErrorKind.APP_NOT_FOUND: (
        _Hint(
            gettext_lazy(
                "El Id. Aplicación «%(app)s» no es el «Id. de aplicación (cliente)» de la "
                "aplicación registrada (no uses el Id. de objeto)."
            ),
            Section.APP_REGISTRATION,
            lambda settings: {"app": settings.client_id},
        ),
        _Hint(
            gettext_lazy(
                "La aplicación está registrada en otro directorio (tenant): el Id. Tenant "
                "debe ser el del mismo directorio donde se registró la aplicación."
            ),
            Section.APP_REGISTRATION,
        ),
    ),
    ErrorKind.EXPIRED_SECRET: (
        _Hint(
            gettext_lazy(
                "El secreto expiró. Crea un secreto nuevo en la aplicación y escribe su "
                "«Valor» en la ventana de parámetros."
            ),
            Section.SECRET_RENEWAL,
        ),
    ),
    ErrorKind.AUTHORITY_UNAVAILABLE: _NOT_ANSWERED,
    ErrorKind.TIMEOUT: _NOT_ANSWERED,
    ErrorKind.NETWORK: _NOT_ANSWERED,
    ErrorKind.TLS: (
        _Hint(
            gettext_lazy(
                "No se pudo verificar el certificado de Entra ID. Si la red de la empresa "
                "inspecciona el tráfico TLS, el administrador del sistema debe agregar la CA "
                "corporativa en RECEPTION_CA_BUNDLE."
            )
        ),
    ),
}
_SECRET_IS_ITS_ID = _Hint(
    gettext_lazy(
        "El secreto configurado tiene forma de Id.: es el «Id. de secreto». Copia la "
        "columna «Valor» del secreto (solo se ve al crearlo; si ya no se ve, crea uno "
        "nuevo)."
    ),
    Section.SECRET_RENEWAL,
)
_SECRET_INVALID = _Hint(
    gettext_lazy(
        "El secreto no es válido: copia la columna «Valor» del secreto, no su «Id. de "
        "secreto», sin espacios. Si ya no puedes verlo, crea un secreto nuevo."
    ),
    Section.SECRET_RENEWAL,
)
_TOKEN_REFUSED = _Hint(
    gettext_lazy(
        "Entra ID rechazó la solicitud del token: revisa el registro de la aplicación y "
        "los datos copiados (detalle técnico arriba)."
    ),
    Section.APP_REGISTRATION,
)


def _token_causes(
    error: TransportError, settings: MailboxSettings, claims: TokenClaims | None
) -> list[Cause]:
    """The table's causes for the kind; three kinds depend on what was configured or granted."""
    kind = error.kind
    if kind == ErrorKind.INVALID_SECRET:
        looks_like_id = bool(GUID.match(settings.client_secret.strip()))
        return [(_SECRET_IS_ITS_ID if looks_like_id else _SECRET_INVALID).cause(settings)]
    role = ROLE_BY_PROTOCOL[settings.protocol]
    if kind == ErrorKind.CONSENT_MISSING:
        return [_consent_cause(role)]
    if kind == ErrorKind.MISSING_ROLE:
        consent = _consent_cause(role)
        permission = _permission_cause(role)
        # With another role present, consent was given once: the permission is what is missing.
        has_other_roles = bool(claims and claims.roles)
        return [permission, consent] if has_other_roles else [consent, permission]
    return [hint.cause(settings) for hint in _TOKEN_HINTS.get(kind, (_TOKEN_REFUSED,))]


def _classic_mistake_cause(
    settings: MailboxSettings, values: PowerShellValues, claims: TokenClaims | None
) -> Cause | None:
    """The app registration's Object ID used where the enterprise application's belongs."""
    configured = _bare(settings.object_id)
    if not claims or not claims.object_id or not configured:
        return None
    if configured.lower() == claims.object_id.lower():
        return None
    return Cause(
        _(
            "El Id. de objeto configurado (%(configured)s) no es el de la aplicación empresarial "
            "(%(actual)s, según el token): seguramente se registró el service principal con el Id. "
            "de objeto del registro de aplicación. Elimina ese registro y vuelve a registrarlo "
            "con el Id. de objeto de «Aplicaciones empresariales»; luego da de nuevo el permiso "
            "al buzón."
        )
        % {"configured": configured, "actual": claims.object_id},
        Section.SERVICE_PRINCIPAL,
        (
            values.remove_service_principal(configured),
            values.new_service_principal(),
            values.get_service_principal(),
            values.remove_mailbox_permission(),
            values.add_mailbox_permission(),
        ),
    )


def _service_principal_cause(values: PowerShellValues) -> Cause:
    return Cause(
        _(
            "El service principal de la aplicación no está registrado en Exchange Online, o se "
            "registró con el Id. de objeto del registro de aplicación en vez del de «Aplicaciones "
            "empresariales». Regístralo y verifica que IsValid sea True y que ObjectId sea "
            "%(object_id)s."
        )
        % {"object_id": values.object_id},
        Section.SERVICE_PRINCIPAL,
        (values.new_service_principal(), values.get_service_principal()),
    )


def _full_access_cause(values: PowerShellValues) -> Cause:
    return Cause(
        _(
            "La aplicación no tiene permiso FullAccess sobre el buzón %(mailbox)s, o se dio con "
            "espacios de más. Quita y vuelve a dar el permiso (conectado a Exchange Online)."
        )
        % {"mailbox": values.mailbox},
        Section.MAILBOX_PERMISSION,
        (values.remove_mailbox_permission(), values.add_mailbox_permission()),
    )


def _protocol_disabled_cause(settings: MailboxSettings, values: PowerShellValues) -> Cause:
    commands = (values.set_cas_mailbox(settings.protocol),)
    if settings.auth == AuthMethod.BASIC:
        commands = ()
    return Cause(
        _(
            "%(protocol)s está deshabilitado para el buzón %(mailbox)s: actívalo en Exchange "
            "(Destinatarios → Buzones → Aplicaciones de correo electrónico)."
        )
        % {"protocol": _protocol_name(settings), "mailbox": settings.username},
        Section.PROTOCOL_ENABLED,
        commands,
    )


def _wrong_mailbox_cause(settings: MailboxSettings) -> Cause:
    return Cause(
        _(
            "El Usuario «%(mailbox)s» debe ser el buzón de recepción, de un dominio del mismo "
            "tenant donde se registró la aplicación."
        )
        % {"mailbox": settings.username},
        Section.CONFIGURATION,
    )


def _modern_auth_causes(
    error: TransportError, settings: MailboxSettings, claims: TokenClaims | None
) -> list[Cause]:
    values = PowerShellValues.build(settings, claims)
    classic = _classic_mistake_cause(settings, values, claims)
    causes: list[Cause] = [classic] if classic else []
    if error.kind == ErrorKind.PROTOCOL_DISABLED:
        return [_protocol_disabled_cause(settings, values), *causes]
    if error.kind == ErrorKind.NOT_CONNECTED:
        causes += [_full_access_cause(values), _wrong_mailbox_cause(settings)]
        if classic is None:
            causes.append(_service_principal_cause(values))
    else:
        if classic is None:
            causes.append(_service_principal_cause(values))
        causes += [
            _full_access_cause(values),
            _protocol_disabled_cause(settings, values),
            _wrong_mailbox_cause(settings),
        ]
    server_values = _server_values_cause(settings)
    if server_values is not None:
        causes.append(server_values)
    return causes


def _basic_auth_causes(error: TransportError, settings: MailboxSettings) -> list[Cause]:
    values = PowerShellValues.build(settings, None)
    if error.kind == ErrorKind.PROTOCOL_DISABLED:
        return [_protocol_disabled_cause(settings, values)]
    host = settings.host.lower()
    causes = [
        Cause(
            _(
                "El usuario o la contraseña no son correctos: escribe el correo completo como "
                "usuario y revisa la contraseña (sin espacios)."
            ),
            Section.CONFIGURATION,
        )
    ]
    if "office365" in host or "outlook" in host:
        causes.append(
            Cause(
                _(
                    "Microsoft 365 ya no acepta autenticación básica por IMAP/POP3: cambia el Tipo "
                    "de Servidor a «Outlook autenticación moderna» y sigue la guía."
                ),
                Section.CONFIGURATION,
            )
        )
    if "gmail" in host or "google" in host:
        causes.append(
            Cause(
                _(
                    "Gmail exige una contraseña de aplicación (con verificación en dos pasos "
                    "activa) en lugar de la contraseña de la cuenta."
                )
            )
        )
    causes.append(
        Cause(
            _(
                "El acceso por %(protocol)s puede estar deshabilitado en la configuración del "
                "buzón o del proveedor de correo."
            )
            % {"protocol": _protocol_name(settings)},
            Section.PROTOCOL_ENABLED,
        )
    )
    return causes


def _mailbox_causes(
    error: TransportError, settings: MailboxSettings, claims: TokenClaims | None
) -> list[Cause]:
    if error.kind in (ErrorKind.NOT_CONNECTED, ErrorKind.PROTOCOL_DISABLED):
        return _modern_auth_causes(error, settings, claims)
    if error.transient:
        return [Cause(_("La conexión se interrumpió; se reintentará automáticamente."))]
    return [
        Cause(
            _("El servidor rechazó la operación sobre el buzón (detalle técnico arriba)."),
            Section.ANNEX,
        )
    ]


def _folders_causes() -> list[Cause]:
    return [
        Cause(
            _(
                "La estructura de carpetas se crea al activar el buzón y no debe eliminarse; "
                "guarda de nuevo los parámetros para recrearla."
            ),
            Section.CONFIGURATION,
        )
    ]


def explain(
    error: TransportError, settings: MailboxSettings, claims: TokenClaims | None = None
) -> list[Cause]:
    """The possible causes of a failure, most likely first; also for failures of a fetch."""
    if error.stage == Stage.DESTINATION:
        return _destination_causes(error, settings)
    if error.stage in (Stage.DNS, Stage.TCP):
        return _network_causes(error, settings)
    if error.stage == Stage.TLS:
        return _tls_causes(error, settings)
    if error.stage == Stage.TOKEN:
        return _token_causes(error, settings, claims)
    if error.stage == Stage.AUTH:
        if error.transient:
            return [Cause(_("La conexión se interrumpió; se reintentará automáticamente."))]
        if settings.auth == AuthMethod.OAUTH2:
            return _modern_auth_causes(error, settings, claims)
        return _basic_auth_causes(error, settings)
    if error.stage == Stage.FOLDERS and error.kind == ErrorKind.MAILBOX_ERROR:
        return _folders_causes()
    return _mailbox_causes(error, settings, claims)


# Details of the steps that passed -------------------------------------------------------------


def _destination_detail(settings: MailboxSettings) -> str:
    """Which rule let the credential go to this host and port."""
    values = {"host": settings.host, "port": settings.port}
    if is_listed(settings):
        return _("%(host)s:%(port)s está en RECEPTION_ALLOWED_MAIL_HOSTS") % values
    if settings.auth == AuthMethod.OAUTH2:
        return _("%(host)s:%(port)s es un servidor IMAP/POP de Microsoft") % values
    return _("%(host)s:%(port)s: direcciones públicas y puerto de correo") % values


def _ok_details(
    settings: MailboxSettings,
    info: ConnectionInfo | None,
    addresses: list[str],
    token: AccessToken | None,
) -> dict[Stage, str]:
    details = {Stage.DNS: ", ".join(addresses), Stage.DESTINATION: _destination_detail(settings)}
    if info is not None:
        details[Stage.TCP] = _("Conectado a %(address)s") % {"address": info.address}
        details[Stage.TLS] = _(
            "%(version)s %(cipher)s; certificado %(subject)s emitido por %(issuer)s, vence "
            "%(expires)s; saludo del servidor: %(greeting)s"
        ) % {
            "greeting": info.greeting,
            "version": info.tls_version,
            "cipher": info.cipher,
            "subject": info.certificate_subject,
            "issuer": info.certificate_issuer,
            "expires": info.certificate_expires,
        }
    if token is not None:
        claims = token.claims
        source = _("caché") if token.source == "cache" else _("Entra ID")
        details[Stage.TOKEN] = _(
            "Token obtenido de %(source)s: aud=%(aud)s tid=%(tid)s appid=%(appid)s oid=%(oid)s "
            "roles=%(roles)s"
        ) % {
            "source": source,
            "aud": claims.audience,
            "tid": claims.tenant_id,
            "appid": claims.app_id,
            "oid": claims.object_id,
            "roles": ",".join(claims.roles) or "-",
        }
    return details


class _RecordingTokens:
    """Keeps the token handed to the session, to explain a refusal with its claims."""

    def __init__(self, tokens: TokenProvider) -> None:
        self._tokens = tokens
        self.token: AccessToken | None = None

    def get_token(self, settings: MailboxSettings) -> AccessToken:
        self.token = self._tokens.get_token(settings)
        return self.token


def _probe(
    settings: MailboxSettings,
    tokens: _RecordingTokens,
    create_folders: bool,
    addresses: list[str],
) -> tuple[ConnectionInfo, dict[Stage, str], tuple[str, ...]]:
    """Run the stages after the destination's; return the connection, the later details, the
    folders created. The session connects to ``addresses``, the ones just vetted."""
    details: dict[Stage, str] = {}
    with open_mailbox(settings, tokens, addresses) as session:
        info = session.info
        try:
            status = session.inbox_status()
            if isinstance(session, ImapSession):
                details[Stage.INBOX] = _("INBOX con %(count)s mensajes") % {"count": status.exists}
                created = tuple(session.ensure_folders()) if create_folders else ()
                missing = [] if create_folders else session.missing_folders()
                if missing:
                    raise TransportError(
                        ErrorKind.MAILBOX_ERROR,
                        Stage.FOLDERS,
                        _("Faltan las carpetas: %(folders)s") % {"folders": ", ".join(missing)},
                    )
                details[Stage.FOLDERS] = (
                    _("Carpetas creadas: %(folders)s") % {"folders": ", ".join(created)}
                    if created
                    else _("Las carpetas de recepción existen")
                )
                return info, details, created
            details[Stage.INBOX] = _("Buzón con %(count)s mensajes") % {"count": status.messages}
        except TransportError as error:
            error.connection = info
            raise
    return info, details, ()


def diagnose(
    settings: MailboxSettings, *, create_folders: bool, tokens: TokenProvider | None = None
) -> Diagnosis:
    """Check the mailbox step by step, stopping at the first failure.

    ``create_folders``: create the IMAP reception folders that are missing (activation does).
    Without ``tokens`` a check-specific provider is used, which never shows an Entra error
    replayed from before a fix.
    """
    recording = _RecordingTokens(tokens or EntraTokenProvider(fresh_after_failure=True))
    titles = step_titles(settings)
    failure: TransportError | None = None
    addresses: list[str] = []
    info: ConnectionInfo | None = None
    later: dict[Stage, str] = {}
    created: tuple[str, ...] = ()
    try:
        check_name(settings)  # before resolving: a refused name is not even looked up
        addresses = resolve(settings.host, settings.port, settings.resolver)
        check_addresses(settings, addresses)
        info, later, created = _probe(settings, recording, create_folders, addresses)
    except TransportError as error:
        failure = error
        info = error.connection
    token = recording.token
    # The addresses of a name refused for them are not shown: they may be internal ones.
    refused_addresses = failure is not None and failure.kind == ErrorKind.ADDRESS_NOT_PUBLIC
    shown = [] if refused_addresses else addresses
    details = {**_ok_details(settings, info, shown, token), **later}
    secrets = (*settings.secrets, token.value) if token else settings.secrets
    steps: list[Step] = []
    reached = True
    for stage in _stages(settings):
        if failure is not None and stage == failure.stage:
            causes = explain(failure, settings, token.claims if token else None)
            steps.append(
                Step(
                    stage,
                    titles[stage],
                    StepStatus.FAILED,
                    scrub(in_plain_words(failure), secrets),
                    tuple(causes),
                )
            )
            reached = False
        elif reached and (stage != Stage.DNS or addresses):
            steps.append(Step(stage, titles[stage], StepStatus.OK, details.get(stage, "")))
        else:
            steps.append(Step(stage, titles[stage], StepStatus.NOT_RUN))
    return Diagnosis(
        protocol=settings.protocol,
        auth=settings.auth,
        steps=tuple(steps),
        checked_at=datetime.now(UTC),
        error_kind=failure.kind if failure else None,
        transient=failure.transient if failure else False,
        claims=token.claims if token else None,
        created_folders=created,
    )
