"""FakeEntra: a local Microsoft Entra ID token service plus Exchange Online's authorisation rules.

Real msal talks to it over HTTPS (the harness CA), so the app's token code is exercised as it
will run against login.microsoftonline.com. The tenant model follows the vendor's setup guide
step by step (app registration, secret, API permissions, admin consent, Exchange service
principal, FullAccess, IMAP/POP per mailbox) so a test can leave out exactly one step and check
that the app explains that step.

The Exchange half: a token introspection endpoint on a second, plain-HTTP port that only
Dovecot's oauth2 passdb uses, and exchange_decision(), which Dovecot's auth policy check (see
dovecot.py) calls to apply Exchange's per-mailbox rules.
"""

from __future__ import annotations

import base64
import binascii
import json
import re
import secrets as pysecrets
import ssl
import threading
import time
import uuid
from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from enum import StrEnum
from typing import Any
from urllib.parse import parse_qs, unquote_plus

import jwt
from cryptography.hazmat.primitives.asymmetric import rsa
from jwt.algorithms import RSAAlgorithm

from .httpserver import HTTPServerThread, Request, Response
from .pki import TestPKI

EXCHANGE_RESOURCE = "https://outlook.office365.com"
EXCHANGE_SCOPE = f"{EXCHANGE_RESOURCE}/.default"
GRAPH_RESOURCE = "https://graph.microsoft.com"
# Resources this fake issues tokens for. Graph is there so tests can present a token for the
# wrong audience (a classic mistake) and see Exchange refuse it.
KNOWN_RESOURCES: frozenset[str] = frozenset({EXCHANGE_RESOURCE, GRAPH_RESOURCE})
IMAP_ROLE = "IMAP.AccessAsApp"
POP_ROLE = "POP.AccessAsApp"
ROLE_FOR_PROTOCOL: dict[str, str] = {"imap": IMAP_ROLE, "pop3": POP_ROLE}
DEFAULT_TOKEN_LIFETIME = 3599
# How long a hung token request waits at most for release_token_requests(), so that threads of
# a forgotten fault still end.
MAX_HANG_SECONDS = 120.0

SECRET_ALPHABET = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789~._-"


class Refusal(StrEnum):
    """Why the Exchange side refused a login; recorded so tests can assert the exact cause."""

    INVALID_TOKEN = "invalid_token"
    WRONG_AUDIENCE = "wrong_audience"
    WRONG_TENANT = "wrong_tenant"
    MISSING_ROLE = "missing_role"
    NO_SERVICE_PRINCIPAL = "no_service_principal"
    PROTOCOL_DISABLED = "protocol_disabled"
    NO_FULL_ACCESS = "no_full_access"
    NO_SUCH_MAILBOX = "no_such_mailbox"


# Client-visible texts. IMAP's are Exchange Online's words (Dovecot adds "[AUTHENTICATIONFAILED]"
# in front). Exchange says "User is authenticated but not connected." *after* a successful
# login, on the first command; Dovecot cannot do that, so the login itself is refused with it.
AUTHENTICATE_FAILED = "AUTHENTICATE failed."
NOT_CONNECTED = "User is authenticated but not connected."
POP_AUTH_FAILURE = "Authentication failure: unknown user name or bad password."
REFUSAL_TEXT: dict[tuple[str, Refusal], str] = {}
for _refusal in Refusal:
    REFUSAL_TEXT["imap", _refusal] = (
        NOT_CONNECTED if _refusal is Refusal.NO_FULL_ACCESS else AUTHENTICATE_FAILED
    )
    REFUSAL_TEXT["pop3", _refusal] = (
        NOT_CONNECTED if _refusal is Refusal.NO_FULL_ACCESS else POP_AUTH_FAILURE
    )


class ExchangeCmdletError(Exception):
    """What an Exchange Online PowerShell cmdlet would have printed in red."""


def new_guid() -> str:
    return str(uuid.uuid4())


def new_secret_value() -> str:
    """A value shaped like Entra's: 40 characters, '8Q~' after the first three, '~' '.' '_'."""
    head = "".join(pysecrets.choice(SECRET_ALPHABET[:62]) for _ in range(3))
    tail = "".join(pysecrets.choice(SECRET_ALPHABET) for _ in range(34))
    return f"{head}8Q~{tail}"


@dataclass
class Secret:
    """A client secret: the *value* authenticates; the *id* is what users paste by mistake."""

    value: str
    secret_id: str
    expires_at: datetime | None
    description: str = ""

    def is_expired(self, now: datetime) -> bool:
        return self.expires_at is not None and self.expires_at <= now


@dataclass
class App:
    """An app registration and its enterprise application (service principal) in one tenant."""

    tenant: Tenant
    name: str
    client_id: str
    app_object_id: str
    enterprise_object_id: str
    secrets: list[Secret] = field(default_factory=list)
    permissions: set[str] = field(default_factory=set)
    consented: set[str] = field(default_factory=set)

    def add_secret(
        self,
        value: str | None = None,
        expires_at: datetime | None = None,
        secret_id: str | None = None,
        description: str = "",
    ) -> Secret:
        """Portal: Certificates & secrets → New client secret (default lifetime 180 days)."""
        secret = Secret(
            value=value if value is not None else new_secret_value(),
            secret_id=secret_id or new_guid(),
            expires_at=expires_at or datetime.now(UTC) + timedelta(days=180),
            description=description,
        )
        with self.tenant.lock:
            self.secrets.append(secret)
        return secret

    def remove_secret(self, secret_id: str) -> None:
        with self.tenant.lock:
            self.secrets = [s for s in self.secrets if s.secret_id != secret_id]

    def add_permission(self, permission: str) -> None:
        """API permissions → Office 365 Exchange Online → Application permission.

        As in the portal, adding (or changing) permissions leaves them "Not granted" until an
        administrator consents again.
        """
        with self.tenant.lock:
            self.permissions.add(permission)

    def remove_permission(self, permission: str) -> None:
        with self.tenant.lock:
            self.permissions.discard(permission)
            self.consented.discard(permission)

    def grant_admin_consent(self) -> None:
        """ "Grant admin consent for <tenant>": consents every permission configured right now."""
        with self.tenant.lock:
            self.consented = set(self.permissions)

    def revoke_admin_consent(self) -> None:
        with self.tenant.lock:
            self.consented = set()

    @property
    def roles(self) -> list[str]:
        """Roles that appear in tokens: configured *and* consented."""
        with self.tenant.lock:
            return sorted(self.permissions & self.consented)


@dataclass
class CasMailbox:
    """Set-CASMailbox: protocols are enabled per mailbox, both on by default."""

    imap_enabled: bool = True
    pop_enabled: bool = True


@dataclass
class ServicePrincipalRegistration:
    """What New-ServicePrincipal stored in Exchange (Get-ServicePrincipal)."""

    app_id: str
    object_id: str
    is_valid: bool


@dataclass
class Tenant:
    """An Entra tenant and the Exchange Online organisation that lives in it."""

    entra: FakeEntra
    tenant_id: str
    domain: str
    display_name: str
    lock: threading.RLock
    apps: dict[str, App] = field(default_factory=dict)
    service_principals: dict[str, ServicePrincipalRegistration] = field(default_factory=dict)
    mailbox_permissions: dict[str, set[str]] = field(default_factory=dict)
    cas_mailboxes: dict[str, CasMailbox] = field(default_factory=dict)

    def add_app(self, name: str = "Loggro") -> App:
        """Portal: App registrations → New registration. Two different object ids appear."""
        app = App(
            tenant=self,
            name=name,
            client_id=new_guid(),
            app_object_id=new_guid(),
            enterprise_object_id=new_guid(),
        )
        with self.lock:
            self.apps[app.client_id] = app
        return app

    def _app_by_enterprise_object_id(self, object_id: str) -> App | None:
        return next(
            (app for app in self.apps.values() if app.enterprise_object_id == object_id), None
        )

    # Exchange Online PowerShell -------------------------------------------------------------

    def new_service_principal(self, app_id: str, object_id: str) -> ServicePrincipalRegistration:
        """New-ServicePrincipal -AppId <app id> -ObjectId <object id>.

        Exchange accepts any GUID here; registering the app registration's object id instead
        of the enterprise application's succeeds, shows ``IsValid: False`` and logins fail,
        because tokens carry the enterprise application's id as ``oid``.
        """
        with self.lock:
            if app_id in self.service_principals:
                raise ExchangeCmdletError(
                    f"The service principal with AppId {app_id} already exists."
                )
            app = self.apps.get(app_id)
            registration = ServicePrincipalRegistration(
                app_id=app_id,
                object_id=object_id,
                is_valid=app is not None and app.enterprise_object_id == object_id,
            )
            self.service_principals[app_id] = registration
            return registration

    def remove_service_principal(self, app_id: str) -> None:
        """Remove-ServicePrincipal."""
        with self.lock:
            self.service_principals.pop(app_id, None)

    def add_mailbox_permission(self, mailbox: str, object_id: str) -> None:
        """Add-MailboxPermission -Identity <mailbox> -User <object id> -AccessRights FullAccess.

        Exchange resolves ``-User`` among its recipients and service principals, so the
        service principal must have been registered first (the guide's order).
        """
        with self.lock:
            if not any(sp.object_id == object_id for sp in self.service_principals.values()):
                raise ExchangeCmdletError(
                    f"The operation couldn't be performed because object '{object_id}' "
                    "couldn't be found."
                )
            self.mailbox_permissions.setdefault(mailbox.lower(), set()).add(object_id)

    def remove_mailbox_permission(self, mailbox: str, object_id: str) -> None:
        """Remove-MailboxPermission ... -AccessRights FullAccess."""
        with self.lock:
            self.mailbox_permissions.get(mailbox.lower(), set()).discard(object_id)

    def set_cas_mailbox(
        self, mailbox: str, imap_enabled: bool | None = None, pop_enabled: bool | None = None
    ) -> CasMailbox:
        """Set-CASMailbox -ImapEnabled / -PopEnabled."""
        with self.lock:
            settings = self.cas_mailboxes.setdefault(mailbox.lower(), CasMailbox())
            if imap_enabled is not None:
                settings.imap_enabled = imap_enabled
            if pop_enabled is not None:
                settings.pop_enabled = pop_enabled
            return settings

    def cas_mailbox(self, mailbox: str) -> CasMailbox:
        with self.lock:
            return self.cas_mailboxes.get(mailbox.lower(), CasMailbox())

    def owns_mailbox(self, mailbox: str) -> bool:
        """Mailboxes belong to a tenant through its (single, here) accepted domain."""
        return mailbox.lower().rpartition("@")[2] == self.domain.lower()

    def configure_like_guide(
        self, mailbox: str, app_name: str = "Loggro", roles: tuple[str, ...] = (IMAP_ROLE, POP_ROLE)
    ) -> GuideSetup:
        """Every step of the vendor guide, done right, for one reception mailbox."""
        app = self.add_app(app_name)
        secret = app.add_secret(description="Recepcion FE")
        for role in roles:
            app.add_permission(role)
        app.grant_admin_consent()
        self.new_service_principal(app.client_id, app.enterprise_object_id)
        self.add_mailbox_permission(mailbox, app.enterprise_object_id)
        self.set_cas_mailbox(mailbox, imap_enabled=True, pop_enabled=True)
        return GuideSetup(tenant=self, app=app, secret=secret, mailbox=mailbox)


@dataclass(frozen=True)
class GuideSetup:
    """The result of a guide-conformant set-up: what the customer types into our form."""

    tenant: Tenant
    app: App
    secret: Secret
    mailbox: str

    @property
    def tenant_id(self) -> str:
        return self.tenant.tenant_id

    @property
    def client_id(self) -> str:
        return self.app.client_id

    @property
    def client_secret(self) -> str:
        return self.secret.value


@dataclass(frozen=True)
class AuthDecision:
    """One Exchange-side decision on a login, as the auth policy endpoint made it."""

    mailbox: str
    protocol: str
    refusal: Refusal | None
    message: str
    claims: dict[str, Any] | None


@dataclass
class _Fault:
    status: int | None
    delay: float | None
    retry_after: int | None


class FakeEntra:
    """The fake identity platform: HTTPS for msal, plain HTTP for Dovecot's callbacks."""

    def __init__(self, pki: TestPKI) -> None:
        self.pki = pki
        self.lock = threading.RLock()
        self._changed = threading.Condition(self.lock)
        self._release = threading.Event()
        self._key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        self.kid = base64.urlsafe_b64encode(pysecrets.token_bytes(20)).decode().rstrip("=")
        self._jwk: dict[str, Any] = json.loads(RSAAlgorithm.to_jwk(self._key.public_key()))
        self._jwk.update({"kid": self.kid, "x5t": self.kid, "use": "sig"})
        self.tenants: dict[str, Tenant] = {}
        self.token_lifetime = DEFAULT_TOKEN_LIFETIME
        self.token_requests: Counter[tuple[str, str]] = Counter()
        self.tokens_issued: Counter[tuple[str, str]] = Counter()
        self.token_requests_total = 0
        self.auth_decisions: list[AuthDecision] = []
        self._faults: list[_Fault] = []
        self._in_flight = 0
        self._introspected: dict[str, dict[str, Any] | str] = {}

        context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        context.load_cert_chain(str(pki.cert_chain_pem), str(pki.key_pem))
        self._https = HTTPServerThread(self._dispatch_public, tls=context)
        self._exchange = HTTPServerThread(self._dispatch_exchange)
        self.url = self._https.url
        self.exchange_url = self._exchange.url

    # Test API --------------------------------------------------------------------------------

    @property
    def introspection_url(self) -> str:
        return f"{self.exchange_url}/exchange/introspect"

    def authority(self, tenant: str | Tenant) -> str:
        """The msal authority for a tenant id, a domain, or a Tenant."""
        tenant_id = tenant.tenant_id if isinstance(tenant, Tenant) else tenant
        return f"{self.url}/{tenant_id}"

    def add_tenant(
        self, tenant_id: str | None = None, domain: str = "contoso.test", display_name: str = ""
    ) -> Tenant:
        with self.lock:
            tenant = Tenant(
                entra=self,
                tenant_id=tenant_id or new_guid(),
                domain=domain,
                display_name=display_name or domain.split(".")[0].capitalize(),
                lock=self.lock,
            )
            self.tenants[tenant.tenant_id] = tenant
            return tenant

    def configure_like_guide(self, mailbox: str, app_name: str = "Loggro") -> GuideSetup:
        """A new tenant for the mailbox's domain, set up exactly as the guide says."""
        return self.add_tenant(domain=mailbox.rpartition("@")[2]).configure_like_guide(
            mailbox, app_name=app_name
        )

    def tenant_for(self, identifier: str) -> Tenant | None:
        """Entra accepts the tenant GUID or any of its domains in the authority."""
        with self.lock:
            if identifier in self.tenants:
                return self.tenants[identifier]
            lowered = identifier.lower()
            return next(
                (
                    t
                    for t in self.tenants.values()
                    if lowered in (t.domain.lower(), f"{t.display_name.lower()}.onmicrosoft.com")
                ),
                None,
            )

    def fail_token_requests(
        self, count: int = 1, status: int = 503, retry_after: int | None = None
    ) -> None:
        """The next ``count`` token requests get a transient Entra error.

        msal replays a 5xx answer (like a 429) for Retry-After seconds, 5 s by default, without
        asking the server again: a retry within that window never reaches this fake.
        """
        with self.lock:
            self._faults.extend(_Fault(status, None, retry_after) for _ in range(count))

    def delay_token_requests(self, count: int = 1, seconds: float | None = None) -> None:
        """The next ``count`` token requests wait ``seconds`` (None: until released) first."""
        with self.lock:
            self._faults.extend(
                _Fault(None, MAX_HANG_SECONDS if seconds is None else seconds, None)
                for _ in range(count)
            )

    def release_token_requests(self) -> None:
        """Let every delayed or hung token request go on now."""
        self._release.set()

    def wait_for_token_requests_in_flight(self, count: int = 1, timeout: float = 10.0) -> None:
        """Block until ``count`` token requests are being held (no sleeping in tests)."""
        with self._changed:
            if not self._changed.wait_for(lambda: self._in_flight >= count, timeout=timeout):
                raise TimeoutError(f"{self._in_flight} token requests in flight, not {count}")

    def token_request_count(
        self, tenant_id: str | None = None, client_id: str | None = None
    ) -> int:
        """Token requests that reached the server (msal's cache hits never do)."""
        with self.lock:
            if tenant_id is None and client_id is None:
                return self.token_requests_total
            return sum(
                n
                for (tid, cid), n in self.token_requests.items()
                if tenant_id in (None, tid) and client_id in (None, cid)
            )

    def last_decision(self) -> AuthDecision:
        with self.lock:
            return self.auth_decisions[-1]

    def issue_token(self, tenant: Tenant, app: App, resource: str = EXCHANGE_RESOURCE) -> str:
        """A token as the token endpoint would issue it, for tests that bypass msal."""
        return self._issue(tenant, app, resource)[0]

    @property
    def server_errors(self) -> list[BaseException]:
        """Bugs in the fake itself; the fixture fails a test that caused any."""
        return self._https.errors + self._exchange.errors

    def reset(self) -> None:
        """A clean directory for the next test: no tenants, counters, faults or hung requests."""
        self._release.set()
        with self.lock:
            self.tenants.clear()
            self.token_requests.clear()
            self.tokens_issued.clear()
            self.token_requests_total = 0
            self.auth_decisions.clear()
            self._faults.clear()
            self._introspected.clear()
            self.token_lifetime = DEFAULT_TOKEN_LIFETIME
            self._https.errors.clear()
            self._exchange.errors.clear()
            self._release = threading.Event()

    def stop(self) -> None:
        self._release.set()
        self._https.stop()
        self._exchange.stop()

    # Entra endpoints (HTTPS) -----------------------------------------------------------------

    def _dispatch_public(self, request: Request) -> Response:
        parts = request.path.strip("/").split("/")
        if request.method == "GET" and parts[1:] == ["v2.0", ".well-known", "openid-configuration"]:
            return self._openid_configuration(parts[0], request)
        if request.method == "GET" and parts[1:] == ["discovery", "v2.0", "keys"]:
            return Response.json(200, {"keys": [self._jwk]})
        if request.method == "POST" and parts[1:] == ["oauth2", "v2.0", "token"]:
            return self._token(parts[0], request)
        return Response.json(404, {"error": "not_found", "path": request.path})

    def _openid_configuration(self, tenant_name: str, request: Request) -> Response:
        tenant = self.tenant_for(tenant_name)
        if tenant is None:
            text = _tenant_not_found(tenant_name)
            return self._error(request, 400, "invalid_tenant", 90002, text)
        base = f"{self.url}/{tenant.tenant_id}"
        return Response.json(
            200,
            {
                "token_endpoint": f"{base}/oauth2/v2.0/token",
                "token_endpoint_auth_methods_supported": [
                    "client_secret_post",
                    "private_key_jwt",
                    "client_secret_basic",
                ],
                "jwks_uri": f"{base}/discovery/v2.0/keys",
                "response_modes_supported": ["query", "fragment", "form_post"],
                "subject_types_supported": ["pairwise"],
                "id_token_signing_alg_values_supported": ["RS256"],
                "response_types_supported": ["code", "id_token", "code id_token", "id_token token"],
                "scopes_supported": ["openid", "profile", "email", "offline_access"],
                "issuer": f"{base}/v2.0",
                "request_uri_parameter_supported": False,
                "authorization_endpoint": f"{base}/oauth2/v2.0/authorize",
                "device_authorization_endpoint": f"{base}/oauth2/v2.0/devicecode",
                "end_session_endpoint": f"{base}/oauth2/v2.0/logout",
                "tenant_region_scope": "SA",
                "cloud_instance_name": "microsoftonline.com",
            },
        )

    def _token(self, tenant_name: str, request: Request) -> Response:
        form = {k: v[0] for k, v in parse_qs(request.body.decode(), keep_blank_values=True).items()}
        client_id, client_secret = form.get("client_id", ""), form.get("client_secret")
        basic = _basic_credentials(request.headers.get("authorization", ""))
        if basic is not None:
            client_id, client_secret = basic
        with self._changed:
            self.token_requests_total += 1
            tenant = self.tenant_for(tenant_name)
            key = (tenant.tenant_id if tenant else tenant_name, client_id)
            self.token_requests[key] += 1
            fault = self._faults.pop(0) if self._faults else None
            release = self._release
            if fault is not None and fault.delay is not None:
                self._in_flight += 1
                self._changed.notify_all()
        if fault is not None and fault.delay is not None:
            release.wait(fault.delay)
            with self._changed:
                self._in_flight -= 1
        if fault is not None and fault.status is not None:
            headers = {"Retry-After": str(fault.retry_after)} if fault.retry_after else None
            return self._error(
                request,
                fault.status,
                "temporarily_unavailable",
                90033,
                "A transient error has occurred. Please try again.",
                headers=headers,
            )

        if tenant is None:
            text = _tenant_not_found(tenant_name)
            return self._error(request, 400, "invalid_request", 90002, text)
        if form.get("grant_type") != "client_credentials":
            return self._error(
                request,
                400,
                "unsupported_grant_type",
                70003,
                f"The app requested an unsupported grant type '{form.get('grant_type', '')}'.",
            )
        if not client_id:
            return self._error(
                request,
                400,
                "invalid_request",
                900144,
                "The request body must contain the following parameter: 'client_id'.",
            )
        with self.lock:
            app = tenant.apps.get(client_id.lower())
            secrets = list(app.secrets) if app else []
        if app is None:
            return self._error(
                request,
                400,
                "unauthorized_client",
                700016,
                f"Application with identifier '{client_id}' was not found in the directory "
                f"'{tenant.display_name}'. This can happen if the application has not been "
                "installed by the administrator of the tenant or consented to by any user in the "
                "tenant. You may have sent your authentication request to the wrong tenant.",
            )
        if not client_secret:
            return self._error(
                request,
                401,
                "invalid_client",
                7000216,
                "'client_assertion', 'client_secret' or 'request' is required for the "
                "'client_credentials' grant type.",
            )
        now = datetime.now(UTC)
        matching = [s for s in secrets if pysecrets.compare_digest(s.value, client_secret)]
        if not matching:
            return self._error(
                request,
                401,
                "invalid_client",
                7000215,
                "Invalid client secret provided. Ensure the secret being sent in the request is "
                f"the client secret value, not the client secret ID, for a secret added to app "
                f"'{app.client_id}'.",
            )
        if all(s.is_expired(now) for s in matching):
            return self._error(
                request,
                401,
                "invalid_client",
                7000222,
                f"The provided client secret keys for app '{app.client_id}' are expired. Visit "
                "the Azure portal to create new keys for your app: https://aka.ms/NewClientSecret,"
                " or consider using certificate credentials for added security: "
                "https://aka.ms/certCreds.",
            )
        scope = form.get("scope", "")
        scopes = scope.split()
        if len(scopes) != 1 or not scopes[0].endswith("/.default"):
            return self._error(
                request,
                400,
                "invalid_scope",
                1002012,
                f"The provided value for scope {scope} is not valid. Client credential flows "
                "must have a scope value with /.default suffixed to the resource identifier "
                "(application ID URI).",
            )
        resource = scopes[0].removesuffix("/.default").rstrip("/")
        if resource not in KNOWN_RESOURCES:
            return self._error(
                request,
                400,
                "invalid_resource",
                500011,
                f"The resource principal named {resource} was not found in the tenant named "
                f"{tenant.display_name}. This can happen if the application has not been "
                "installed by the administrator of the tenant or consented to by any user in the "
                "tenant. You might have sent your authentication request to the wrong tenant.",
            )
        token, lifetime = self._issue(tenant, app, resource)
        with self.lock:
            self.tokens_issued[tenant.tenant_id, app.client_id] += 1
        return Response.json(
            200,
            {
                "token_type": "Bearer",
                "expires_in": lifetime,
                "ext_expires_in": lifetime,
                "access_token": token,
            },
            headers={"Cache-Control": "no-store, no-cache", "Pragma": "no-cache"},
        )

    def _issue(self, tenant: Tenant, app: App, resource: str) -> tuple[str, int]:
        """An app-only v1 access token as Exchange Online receives it."""
        now = int(time.time())
        lifetime = self.token_lifetime
        issuer = f"https://sts.windows.net/{tenant.tenant_id}/"
        claims: dict[str, Any] = {
            "aud": resource,
            "iss": issuer,
            "iat": now,
            "nbf": now,
            "exp": now + lifetime,
            "app_displayname": app.name,
            "appid": app.client_id,
            "appidacr": "1",
            "idp": issuer,
            "idtyp": "app",
            "oid": app.enterprise_object_id,
            "sub": app.enterprise_object_id,
            "tid": tenant.tenant_id,
            "uti": base64.urlsafe_b64encode(pysecrets.token_bytes(16)).decode().rstrip("="),
            "ver": "1.0",
        }
        if resource == EXCHANGE_RESOURCE and app.roles:
            claims["roles"] = app.roles
        token = jwt.encode(
            claims, self._key, algorithm="RS256", headers={"kid": self.kid, "x5t": self.kid}
        )
        return token, lifetime

    def _error(
        self,
        request: Request,
        status: int,
        error: str,
        code: int,
        text: str,
        headers: dict[str, str] | None = None,
    ) -> Response:
        """Entra's error body: the AADSTS code leads the description, ids and time follow it."""
        trace_id = new_guid()
        correlation_id = request.headers.get("client-request-id") or new_guid()
        timestamp = datetime.now(UTC).strftime("%Y-%m-%d %H:%M:%SZ")
        return Response.json(
            status,
            {
                "error": error,
                "error_description": (
                    f"AADSTS{code}: {text} Trace ID: {trace_id} Correlation ID: "
                    f"{correlation_id} Timestamp: {timestamp}"
                ),
                "error_codes": [code],
                "timestamp": timestamp,
                "trace_id": trace_id,
                "correlation_id": correlation_id,
                "error_uri": f"{self.url}/error?code={code}",
            },
            headers=headers,
        )

    # Exchange endpoints (plain HTTP, for Dovecot) --------------------------------------------

    def _dispatch_exchange(self, request: Request) -> Response:
        if request.method == "POST" and request.path == "/exchange/introspect":
            return self._introspect(request)
        return Response.json(404, {"error": "not_found", "path": request.path})

    def _introspect(self, request: Request) -> Response:
        """Dovecot's oauth2 passdb asks here (introspection_mode = post).

        Every token is "active" with a constant username so that the passdb passes it on:
        Exchange's verdict (and its wording) is given by exchange_decision() through Dovecot's
        auth policy check, which sees the mailbox and the protocol; introspection does not.
        """
        form = parse_qs(request.body.decode(), keep_blank_values=True)
        token = form.get("token", [""])[0]
        verdict: dict[str, Any] | str
        try:
            verdict = jwt.decode(
                token,
                self._key.public_key(),
                algorithms=["RS256"],
                options={"verify_aud": False, "require": ["exp", "iss", "tid", "oid"]},
            )
        except jwt.PyJWTError as exc:
            verdict = f"{type(exc).__name__}: {exc}"
        ref = new_guid()
        with self.lock:
            self._introspected[ref] = verdict
        return Response.json(200, {"active": True, "harness_user": "exchange", "ref": ref})

    def exchange_decision(
        self, ref: str, mailbox: str, protocol: str, mailbox_exists: bool = True
    ) -> AuthDecision:
        """Exchange's per-mailbox verdict on a login whose token introspection returned ``ref``.

        Called by the Dovecot harness's auth policy endpoint; recorded in ``auth_decisions``.
        """
        with self.lock:
            verdict = self._introspected.pop(ref, "unknown token reference")
        claims = verdict if isinstance(verdict, dict) else None
        refusal = self._authorize(claims, mailbox, protocol)
        if refusal is None and not mailbox_exists:
            refusal = Refusal.NO_SUCH_MAILBOX
        message = "" if refusal is None else REFUSAL_TEXT[protocol, refusal]
        decision = AuthDecision(mailbox, protocol, refusal, message, claims)
        with self.lock:
            self.auth_decisions.append(decision)
        return decision

    def _authorize(
        self, claims: dict[str, Any] | None, mailbox: str, protocol: str
    ) -> Refusal | None:
        if claims is None:
            return Refusal.INVALID_TOKEN
        if claims.get("aud") != EXCHANGE_RESOURCE:
            return Refusal.WRONG_AUDIENCE
        with self.lock:
            tenant = self.tenants.get(str(claims.get("tid")))
            if tenant is None or not tenant.owns_mailbox(mailbox):
                return Refusal.WRONG_TENANT
            if ROLE_FOR_PROTOCOL.get(protocol) not in claims.get("roles", []):
                return Refusal.MISSING_ROLE
            registration = tenant.service_principals.get(str(claims.get("appid")))
            if registration is None or registration.object_id != claims.get("oid"):
                return Refusal.NO_SERVICE_PRINCIPAL
            cas = tenant.cas_mailbox(mailbox)
            if not (cas.imap_enabled if protocol == "imap" else cas.pop_enabled):
                return Refusal.PROTOCOL_DISABLED
            if claims.get("oid") not in tenant.mailbox_permissions.get(mailbox.lower(), set()):
                return Refusal.NO_FULL_ACCESS
        return None


def _tenant_not_found(name: str) -> str:
    return (
        f"Tenant '{name}' not found. Check to make sure you have the correct tenant ID and are "
        "signing into the correct cloud. Check with your subscription administrator, this may "
        "happen if there are no active subscriptions for the tenant."
    )


def _basic_credentials(header: str) -> tuple[str, str] | None:
    match = re.fullmatch(r"(?i)basic\s+(\S+)", header.strip())
    if match is None:
        return None
    try:
        decoded = base64.b64decode(match.group(1)).decode()
    except (binascii.Error, UnicodeDecodeError):
        return None
    user, _, password = decoded.partition(":")
    return unquote_plus(user), unquote_plus(password)
