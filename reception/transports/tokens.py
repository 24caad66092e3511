"""Access tokens for app-only IMAP/POP3 access to Exchange Online (client credentials flow).

One msal application object per (authority, tenant, application, secret) lives for the whole
process, so its token cache makes a run of checks or fetches cost one token request per token
lifetime instead of one per connection.
"""

from __future__ import annotations

import base64
import hashlib
import json
import threading
from dataclasses import dataclass
from typing import Any

import msal
import requests
from msal.exceptions import MsalServiceError

from config.tls import trust_our_stores
from reception.transports.base import (
    DEFAULT_AUTHORITY_HOST,
    AccessToken,
    ErrorKind,
    MailboxSettings,
    MailProtocol,
    Stage,
    TokenClaims,
    TransportError,
    scrub,
)

OUTLOOK_SCOPE = "https://outlook.office365.com/.default"
#: The audience of tokens Exchange accepts: its URL or the Office 365 Exchange Online app id.
OUTLOOK_AUDIENCES = frozenset(
    {"https://outlook.office365.com", "00000002-0000-0ff1-ce00-000000000000"}
)
ROLE_BY_PROTOCOL: dict[MailProtocol, str] = {
    MailProtocol.IMAP: "IMAP.AccessAsApp",
    MailProtocol.POP3: "POP.AccessAsApp",
}

#: Entra ID's AADSTS codes that name a cause the customer can fix.
_KIND_BY_AADSTS: dict[int, ErrorKind] = {
    90002: ErrorKind.TENANT_NOT_FOUND,
    900023: ErrorKind.TENANT_NOT_FOUND,
    700016: ErrorKind.APP_NOT_FOUND,
    7000215: ErrorKind.INVALID_SECRET,
    7000222: ErrorKind.EXPIRED_SECRET,
    65001: ErrorKind.CONSENT_MISSING,
}
_TRANSIENT_OAUTH_ERRORS = frozenset({"temporarily_unavailable", "server_error"})


def read_claims(token: str) -> TokenClaims:
    """Read an access token's payload without verifying it.

    The mail server verifies the signature; we only read the claims to explain a refusal before
    the server gives its generic one (a missing role, the real service principal's object id).
    """
    try:
        payload_part = token.split(".")[1]
        padded = payload_part + "=" * (-len(payload_part) % 4)
        payload: dict[str, Any] = json.loads(base64.urlsafe_b64decode(padded))
    except (IndexError, ValueError) as error:
        raise TransportError(
            ErrorKind.ENTRA_ERROR, Stage.TOKEN, "el token recibido no es un JWT legible"
        ) from error
    roles = payload.get("roles") or ()
    expires_at = payload.get("exp")
    return TokenClaims(
        audience=str(payload.get("aud", "")),
        tenant_id=str(payload.get("tid", "")),
        app_id=str(payload.get("appid") or payload.get("azp") or ""),
        object_id=str(payload.get("oid", "")),
        roles=tuple(str(role) for role in roles),
        expires_at=int(expires_at) if isinstance(expires_at, int | float) else None,
    )


def check_claims(claims: TokenClaims, protocol: MailProtocol) -> None:
    """Refuse a token Exchange would refuse, naming the missing piece rather than its generic no."""
    if claims.audience not in OUTLOOK_AUDIENCES:
        raise TransportError(
            ErrorKind.WRONG_AUDIENCE,
            Stage.TOKEN,
            f"el token es para '{claims.audience}', no para Exchange Online",
        )
    role = ROLE_BY_PROTOCOL[protocol]
    if role not in claims.roles:
        present = ", ".join(claims.roles) or "ninguno"
        raise TransportError(
            ErrorKind.MISSING_ROLE,
            Stage.TOKEN,
            f"el token no trae el rol {role} (roles presentes: {present})",
        )


def classify_entra_result(result: dict[str, Any], secrets: tuple[str, ...]) -> TransportError:
    """Turn msal's error result (Entra's JSON error body) into a TransportError."""
    codes = tuple(int(code) for code in result.get("error_codes") or () if str(code).isdigit())
    error = str(result.get("error", ""))
    description = str(result.get("error_description", "")).splitlines()
    detail = scrub(f"{error}: {description[0] if description else ''}".strip(": "), secrets)
    kind = next((_KIND_BY_AADSTS[code] for code in codes if code in _KIND_BY_AADSTS), None)
    if kind is not None:
        return TransportError(kind, Stage.TOKEN, detail, codes=codes)
    if error in _TRANSIENT_OAUTH_ERRORS:
        return TransportError(ErrorKind.AUTHORITY_UNAVAILABLE, Stage.TOKEN, detail, codes=codes)
    return TransportError(ErrorKind.ENTRA_ERROR, Stage.TOKEN, detail, codes=codes)


def _request_error(
    error: requests.RequestException | MsalServiceError, secrets: tuple[str, ...]
) -> TransportError:
    """Failures below Entra's JSON answers: TLS, timeouts, refused connections, HTTP 5xx."""
    detail = scrub(str(error), secrets)
    if isinstance(error, requests.exceptions.SSLError):
        return TransportError(ErrorKind.TLS, Stage.TOKEN, detail)
    if isinstance(error, requests.Timeout):
        return TransportError(ErrorKind.TIMEOUT, Stage.TOKEN, detail)
    if isinstance(error, requests.HTTPError | MsalServiceError):
        return TransportError(ErrorKind.AUTHORITY_UNAVAILABLE, Stage.TOKEN, detail)
    return TransportError(ErrorKind.NETWORK, Stage.TOKEN, detail)


class _AuthoritySession(requests.Session):
    """The HTTP client handed to msal, which passes no timeout to a caller's client."""

    def __init__(self, timeout: float, ca_bundle: str | None) -> None:
        super().__init__()
        self.timeout = timeout
        # These machines export REQUESTS_CA_BUNDLE, which must not replace our trust settings.
        trust_our_stores(self, ca_bundle)

    def request(self, *args: Any, **kwargs: Any) -> requests.Response:  # type: ignore[override]
        kwargs.setdefault("timeout", self.timeout)
        return super().request(*args, **kwargs)


@dataclass
class _Entry:
    application: msal.ConfidentialClientApplication
    failed: bool = False


_applications: dict[tuple[str, ...], _Entry] = {}
_applications_lock = threading.Lock()


def _key(settings: MailboxSettings) -> tuple[str, ...]:
    return (
        settings.authority_host.rstrip("/"),
        settings.tenant_id,
        settings.client_id,
        hashlib.sha256(settings.client_secret.encode()).hexdigest(),
        settings.ca_bundle or "",
    )


def _build_application(settings: MailboxSettings) -> msal.ConfidentialClientApplication:
    host = settings.authority_host.rstrip("/")
    try:
        return msal.ConfidentialClientApplication(
            settings.client_id,
            client_credential=settings.client_secret,
            authority=f"{host}/{settings.tenant_id}",
            http_client=_AuthoritySession(settings.timeout, settings.ca_bundle),
            # Discovery asks login.microsoftonline.com about other hosts; national clouds and the
            # test authority are configured on purpose, so there is nothing to ask.
            instance_discovery=host == DEFAULT_AUTHORITY_HOST,
        )
    except ValueError as error:
        # msal drops Entra's AADSTS90002 body and raises this when the tenant is unknown.
        raise TransportError(
            ErrorKind.TENANT_NOT_FOUND, Stage.TOKEN, scrub(str(error), settings.secrets)
        ) from error
    except (requests.RequestException, MsalServiceError) as error:
        raise _request_error(error, settings.secrets) from error


class EntraTokenProvider:
    """Client-credentials tokens from Entra ID, cached per application for the whole process.

    ``fresh_after_failure`` is for explicit checks: msal replays an identical HTTP 400 for 60 s
    without asking Entra, so a person who fixed Entra and checks again would see the old error.
    After a failure such a check starts from a new application object; the fetch keeps the
    throttled one, which spares Entra a retry storm.
    """

    def __init__(self, *, fresh_after_failure: bool = False) -> None:
        self.fresh_after_failure = fresh_after_failure

    def get_token(self, settings: MailboxSettings) -> AccessToken:
        entry = self._entry(settings)
        try:
            result = entry.application.acquire_token_for_client(scopes=[OUTLOOK_SCOPE])
        except (requests.RequestException, MsalServiceError) as error:
            entry.failed = True
            raise _request_error(error, settings.secrets) from error
        if "access_token" not in result:
            entry.failed = True
            raise classify_entra_result(result, settings.secrets)
        entry.failed = False
        token = str(result["access_token"])
        source = str(result.get("token_source", "identity_provider"))
        return AccessToken(value=token, claims=read_claims(token), source=source)

    def _entry(self, settings: MailboxSettings) -> _Entry:
        """The shared application for these credentials; built outside the lock, because
        building one asks the authority for its configuration over the network."""
        key = _key(settings)
        with _applications_lock:
            entry = _applications.get(key)
        if entry is not None and not (entry.failed and self.fresh_after_failure):
            return entry
        fresh = _Entry(_build_application(settings))
        with _applications_lock:
            current = _applications.get(key)
            if current is not None and current is not entry and not current.failed:
                return current  # another thread built one meanwhile
            # A rotated secret leaves its old application behind: drop it.
            for stale in [other for other in _applications if other[:3] == key[:3]]:
                del _applications[stale]
            _applications[key] = fresh
        return fresh
