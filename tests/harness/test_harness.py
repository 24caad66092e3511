"""The harness itself, driven by the real client libraries the app uses (no mocks)."""

from __future__ import annotations

import base64
import imaplib
import json
import poplib
import ssl
import subprocess
import sys
import threading
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import imapclient
import jwt
import msal
import pytest
import requests
from imapclient.exceptions import LoginError

from .dovecot import Dovecot
from .entra import (
    EXCHANGE_SCOPE,
    GRAPH_RESOURCE,
    IMAP_ROLE,
    POP_ROLE,
    FakeEntra,
    GuideSetup,
    Refusal,
)
from .fixtures import harness_http_session
from .pki import TestPKI

MAILBOX = "recepcion@contoso.test"


def _msal_app(
    entra: FakeEntra, pki: TestPKI, tenant: str, client_id: str, secret: str
) -> msal.ConfidentialClientApplication:
    return msal.ConfidentialClientApplication(
        client_id,
        client_credential=secret,
        authority=entra.authority(tenant),
        instance_discovery=False,
        http_client=harness_http_session(pki.ca_pem),
    )


def _token(entra: FakeEntra, pki: TestPKI, setup: GuideSetup, scope: str = EXCHANGE_SCOPE) -> str:
    app = _msal_app(entra, pki, setup.tenant_id, setup.client_id, setup.client_secret)
    result = app.acquire_token_for_client([scope])
    assert "access_token" in result, result
    return str(result["access_token"])


def _xoauth2(mailbox: str, token: str) -> bytes:
    return base64.b64encode(f"user={mailbox}\x01auth=Bearer {token}\x01\x01".encode())


def _pop_xoauth2(client: poplib.POP3, mailbox: str, token: str) -> bytes:
    """poplib has no AUTH helper: AUTH, wait for '+', initial response; empty line after an
    error challenge."""
    reply = client._shortcmd("AUTH XOAUTH2")
    assert reply.startswith(b"+"), reply
    client._putcmd(_xoauth2(mailbox, token).decode())
    line = client._getline()[0]
    if line.startswith(b"+ "):  # error challenge (base64 JSON): answer it to get the -ERR
        client._putcmd("")
        line = client._getline()[0]
    if not line.startswith(b"+OK"):
        raise poplib.error_proto(line)
    return line


def _imap(dovecot: Dovecot, context: ssl.SSLContext, starttls: bool) -> imapclient.IMAPClient:
    assert dovecot.ports is not None
    if starttls:
        client = imapclient.IMAPClient(dovecot.host, port=dovecot.ports.imap, ssl=False, timeout=10)
        client.starttls(context)
        return client
    return imapclient.IMAPClient(
        dovecot.host, port=dovecot.ports.imaps, ssl_context=context, timeout=10
    )


def _pop(dovecot: Dovecot, context: ssl.SSLContext, stls: bool) -> poplib.POP3:
    assert dovecot.ports is not None
    if stls:
        client = poplib.POP3(dovecot.host, dovecot.ports.pop3, timeout=10)
        client.stls(context)
        return client
    return poplib.POP3_SSL(dovecot.host, dovecot.ports.pop3s, context=context, timeout=10)


@pytest.fixture
def guide(dovecot: Dovecot, fake_entra: FakeEntra) -> GuideSetup:
    dovecot.add_user(MAILBOX)
    return fake_entra.configure_like_guide(MAILBOX)


# Entra ---------------------------------------------------------------------------------------


def test_msal_gets_an_exchange_shaped_token_over_https(
    fake_entra: FakeEntra, harness_pki: TestPKI, guide: GuideSetup
) -> None:
    app = _msal_app(fake_entra, harness_pki, guide.tenant_id, guide.client_id, guide.client_secret)
    result = app.acquire_token_for_client([EXCHANGE_SCOPE])

    assert result["expires_in"] == 3599
    claims = jwt.decode(result["access_token"], options={"verify_signature": False})
    assert claims["aud"] == "https://outlook.office365.com"
    assert claims["iss"] == f"https://sts.windows.net/{guide.tenant_id}/"
    assert claims["appid"] == guide.client_id
    assert claims["oid"] == guide.app.enterprise_object_id != guide.app.app_object_id
    assert claims["roles"] == [IMAP_ROLE, POP_ROLE]
    assert "upn" not in claims


def test_a_client_that_does_not_trust_the_test_ca_cannot_connect(
    fake_entra: FakeEntra, guide: GuideSetup
) -> None:
    session = requests.Session()
    session.trust_env = False
    with pytest.raises(requests.exceptions.SSLError):
        msal.ConfidentialClientApplication(
            guide.client_id,
            client_credential=guide.client_secret,
            authority=fake_entra.authority(guide.tenant),
            instance_discovery=False,
            http_client=session,
        )


def test_msal_serves_repeated_requests_from_its_cache(
    fake_entra: FakeEntra, harness_pki: TestPKI, guide: GuideSetup
) -> None:
    app = _msal_app(fake_entra, harness_pki, guide.tenant_id, guide.client_id, guide.client_secret)
    sources = [app.acquire_token_for_client([EXCHANGE_SCOPE])["token_source"] for _ in range(5)]

    assert sources == ["identity_provider"] + ["cache"] * 4
    assert fake_entra.token_request_count(guide.tenant_id, guide.client_id) == 1


def test_the_token_lifetime_can_be_shortened(
    fake_entra: FakeEntra, harness_pki: TestPKI, guide: GuideSetup
) -> None:
    fake_entra.token_lifetime = 60
    app = _msal_app(fake_entra, harness_pki, guide.tenant_id, guide.client_id, guide.client_secret)
    assert app.acquire_token_for_client([EXCHANGE_SCOPE])["expires_in"] == 60


def test_an_unknown_tenant_makes_msal_raise_in_its_constructor(
    fake_entra: FakeEntra, harness_pki: TestPKI, guide: GuideSetup
) -> None:
    with pytest.raises(ValueError, match="Unable to get authority configuration"):
        _msal_app(fake_entra, harness_pki, "not-a-tenant", guide.client_id, guide.client_secret)


def test_the_tenant_domain_works_as_authority(
    fake_entra: FakeEntra, harness_pki: TestPKI, guide: GuideSetup
) -> None:
    app = _msal_app(fake_entra, harness_pki, "contoso.test", guide.client_id, guide.client_secret)
    assert "access_token" in app.acquire_token_for_client([EXCHANGE_SCOPE])


def _expire_every_secret(setup: GuideSetup) -> str:
    setup.secret.expires_at = datetime.now(UTC) - timedelta(days=1)
    return setup.client_secret


@pytest.mark.parametrize(
    ("credentials", "scope", "code", "error"),
    [
        pytest.param(
            lambda s: (s.client_id, "wrong-secret"),
            EXCHANGE_SCOPE,
            7000215,
            "invalid_client",
            id="wrong secret",
        ),
        pytest.param(
            lambda s: (s.client_id, s.secret.secret_id),
            EXCHANGE_SCOPE,
            7000215,
            "invalid_client",
            id="secret id pasted instead of its value",
        ),
        pytest.param(
            lambda s: (s.client_id, _expire_every_secret(s)),
            EXCHANGE_SCOPE,
            7000222,
            "invalid_client",
            id="expired secret",
        ),
        pytest.param(
            lambda s: ("00000000-0000-0000-0000-000000000001", s.client_secret),
            EXCHANGE_SCOPE,
            700016,
            "unauthorized_client",
            id="unknown app",
        ),
        pytest.param(
            lambda s: (s.client_id, s.client_secret),
            "https://outlook.office365.com/IMAP.AccessAsApp",
            1002012,
            "invalid_scope",
            id="scope without /.default",
        ),
        pytest.param(
            lambda s: (s.client_id, s.client_secret),
            "https://outlook.example/.default",
            500011,
            "invalid_resource",
            id="unknown resource",
        ),
    ],
)
def test_entra_errors_come_back_as_entra_words_them(
    fake_entra: FakeEntra,
    harness_pki: TestPKI,
    guide: GuideSetup,
    credentials: Callable[[GuideSetup], tuple[str, str]],
    scope: str,
    code: int,
    error: str,
) -> None:
    client_id, secret = credentials(guide)
    app = _msal_app(fake_entra, harness_pki, guide.tenant_id, client_id, secret)
    result = app.acquire_token_for_client([scope])

    assert result["error"] == error
    assert result["error_codes"] == [code]
    assert result["error_description"].startswith(f"AADSTS{code}: ")
    assert {"timestamp", "trace_id", "correlation_id"} <= result.keys()


def test_invalid_client_answers_401_and_unknown_app_400(
    fake_entra: FakeEntra, harness_pki: TestPKI, guide: GuideSetup
) -> None:
    """msal replays a 400 for 60 s without asking again, a 401 not: the status matters."""
    url = f"{fake_entra.authority(guide.tenant)}/oauth2/v2.0/token"
    session = harness_http_session(harness_pki.ca_pem)
    form = {"grant_type": "client_credentials", "scope": EXCHANGE_SCOPE}
    wrong_secret = session.post(
        url, data={**form, "client_id": guide.client_id, "client_secret": "x"}
    )
    basic_auth = session.post(url, data=form, auth=(guide.client_id, guide.client_secret))
    unknown_app = session.post(url, data={**form, "client_id": "nope", "client_secret": "x"})

    assert wrong_secret.status_code == 401
    assert basic_auth.status_code == 200
    assert unknown_app.status_code == 400


def test_an_injected_5xx_reaches_msal_once(
    fake_entra: FakeEntra, harness_pki: TestPKI, guide: GuideSetup
) -> None:
    fake_entra.fail_token_requests(count=1, status=503)
    failing = _msal_app(
        fake_entra, harness_pki, guide.tenant_id, guide.client_id, guide.client_secret
    )
    with pytest.raises(msal.exceptions.MsalServiceError, match="HTTP Error: 503"):
        failing.acquire_token_for_client([EXCHANGE_SCOPE])  # msal raises on 5xx, not a dict

    healthy = _msal_app(  # a new app: msal replays a 5xx to the same app for a few seconds
        fake_entra, harness_pki, guide.tenant_id, guide.client_id, guide.client_secret
    )
    assert "access_token" in healthy.acquire_token_for_client([EXCHANGE_SCOPE])
    assert fake_entra.token_request_count() == 2


def test_a_hung_token_request_waits_until_released(
    fake_entra: FakeEntra, harness_pki: TestPKI, guide: GuideSetup
) -> None:
    fake_entra.delay_token_requests(count=1)
    app = _msal_app(fake_entra, harness_pki, guide.tenant_id, guide.client_id, guide.client_secret)
    results: list[dict[str, Any]] = []
    worker = threading.Thread(
        target=lambda: results.append(app.acquire_token_for_client([EXCHANGE_SCOPE]))
    )
    worker.start()
    fake_entra.wait_for_token_requests_in_flight(1)
    assert results == []

    fake_entra.release_token_requests()
    worker.join(timeout=10)
    assert "access_token" in results[0]


# Dovecot: logins -----------------------------------------------------------------------------


@pytest.mark.parametrize("starttls", [False, True], ids=["imaps", "starttls"])
def test_imap_xoauth2_login_with_a_guide_configured_mailbox(
    dovecot: Dovecot,
    fake_entra: FakeEntra,
    harness_pki: TestPKI,
    harness_ssl_context: ssl.SSLContext,
    guide: GuideSetup,
    starttls: bool,
) -> None:
    dovecot.deliver(MAILBOX, b"Subject: factura\r\n\r\nhola\r\n")
    token = _token(fake_entra, harness_pki, guide)
    client = _imap(dovecot, harness_ssl_context, starttls)
    client.oauth2_login(MAILBOX, token)

    assert client.select_folder("INBOX")[b"EXISTS"] == 1
    assert b"MOVE" in client.capabilities()
    client.logout()
    assert fake_entra.last_decision().refusal is None


@pytest.mark.parametrize("stls", [False, True], ids=["pop3s", "stls"])
def test_pop3_xoauth2_login_with_a_guide_configured_mailbox(
    dovecot: Dovecot,
    fake_entra: FakeEntra,
    harness_pki: TestPKI,
    harness_ssl_context: ssl.SSLContext,
    guide: GuideSetup,
    stls: bool,
) -> None:
    dovecot.deliver(MAILBOX, b"Subject: factura\r\n\r\nhola\r\n")
    client = _pop(dovecot, harness_ssl_context, stls)
    _pop_xoauth2(client, MAILBOX, _token(fake_entra, harness_pki, guide))

    assert client.stat()[0] == 1
    client.quit()


def test_basic_auth_logins(dovecot: Dovecot, harness_ssl_context: ssl.SSLContext) -> None:
    dovecot.add_user("basica@otro.test", password="clave")
    imap = _imap(dovecot, harness_ssl_context, starttls=True)
    imap.login("basica@otro.test", "clave")
    imap.logout()
    pop = _pop(dovecot, harness_ssl_context, stls=False)
    pop.user("basica@otro.test")
    pop.pass_("clave")
    pop.quit()


def test_a_wrong_password_is_refused_at_once(
    dovecot: Dovecot, harness_ssl_context: ssl.SSLContext
) -> None:
    dovecot.add_user("basica@otro.test", password="clave")
    imap = _imap(dovecot, harness_ssl_context, starttls=False)
    with pytest.raises(LoginError, match=r"\[ALERT\] Authentication failed\."):
        imap.login("basica@otro.test", "otra")
    pop = _pop(dovecot, harness_ssl_context, stls=False)
    pop.user("basica@otro.test")
    with pytest.raises(poplib.error_proto, match=r"-ERR \[AUTH\] Authentication failed\."):
        pop.pass_("otra")


def _no_service_principal(setup: GuideSetup) -> None:
    setup.tenant.remove_service_principal(setup.client_id)


def _service_principal_with_app_object_id(setup: GuideSetup) -> None:
    setup.tenant.remove_service_principal(setup.client_id)
    registration = setup.tenant.new_service_principal(setup.client_id, setup.app.app_object_id)
    assert registration.is_valid is False


def _no_full_access(setup: GuideSetup) -> None:
    setup.tenant.remove_mailbox_permission(setup.mailbox, setup.app.enterprise_object_id)


def _no_role(setup: GuideSetup) -> None:
    setup.app.remove_permission(IMAP_ROLE)
    setup.app.remove_permission(POP_ROLE)


def _no_consent(setup: GuideSetup) -> None:
    setup.app.revoke_admin_consent()


def _protocols_disabled(setup: GuideSetup) -> None:
    setup.tenant.set_cas_mailbox(setup.mailbox, imap_enabled=False, pop_enabled=False)


BROKEN_STEPS = [
    pytest.param(_no_service_principal, Refusal.NO_SERVICE_PRINCIPAL, id="no service principal"),
    pytest.param(
        _service_principal_with_app_object_id,
        Refusal.NO_SERVICE_PRINCIPAL,
        id="service principal with the app registration's object id",
    ),
    pytest.param(_no_full_access, Refusal.NO_FULL_ACCESS, id="no FullAccess"),
    pytest.param(_no_role, Refusal.MISSING_ROLE, id="no AccessAsApp permission"),
    pytest.param(_no_consent, Refusal.MISSING_ROLE, id="no admin consent"),
    pytest.param(_protocols_disabled, Refusal.PROTOCOL_DISABLED, id="protocol disabled"),
]


@pytest.mark.parametrize(("break_step", "refusal"), BROKEN_STEPS)
def test_each_missing_guide_step_refuses_the_imap_login(
    dovecot: Dovecot,
    fake_entra: FakeEntra,
    harness_pki: TestPKI,
    harness_ssl_context: ssl.SSLContext,
    guide: GuideSetup,
    break_step: Callable[[GuideSetup], None],
    refusal: Refusal,
) -> None:
    break_step(guide)
    token = _token(fake_entra, harness_pki, guide)
    client = _imap(dovecot, harness_ssl_context, starttls=False)
    expected = (
        "User is authenticated but not connected."
        if refusal is Refusal.NO_FULL_ACCESS
        else "AUTHENTICATE failed."
    )
    with pytest.raises(LoginError) as refused:
        client.oauth2_login(MAILBOX, token)

    assert str(refused.value) == f"[ALERT] {expected}"
    assert fake_entra.last_decision().refusal is refusal


@pytest.mark.parametrize(("break_step", "refusal"), BROKEN_STEPS)
def test_each_missing_guide_step_refuses_the_pop3_login(
    dovecot: Dovecot,
    fake_entra: FakeEntra,
    harness_pki: TestPKI,
    harness_ssl_context: ssl.SSLContext,
    guide: GuideSetup,
    break_step: Callable[[GuideSetup], None],
    refusal: Refusal,
) -> None:
    break_step(guide)
    token = _token(fake_entra, harness_pki, guide)
    client = _pop(dovecot, harness_ssl_context, stls=False)
    expected = (
        "User is authenticated but not connected."
        if refusal is Refusal.NO_FULL_ACCESS
        else "Authentication failure: unknown user name or bad password."
    )
    with pytest.raises(poplib.error_proto) as refused:
        _pop_xoauth2(client, MAILBOX, token)

    assert refused.value.args[0] == f"-ERR [AUTH] {expected}".encode()
    assert fake_entra.last_decision().refusal is refusal


def test_imap_disabled_leaves_pop_working(
    dovecot: Dovecot,
    fake_entra: FakeEntra,
    harness_pki: TestPKI,
    harness_ssl_context: ssl.SSLContext,
    guide: GuideSetup,
) -> None:
    guide.tenant.set_cas_mailbox(MAILBOX, imap_enabled=False)
    token = _token(fake_entra, harness_pki, guide)
    with pytest.raises(LoginError):
        _imap(dovecot, harness_ssl_context, starttls=False).oauth2_login(MAILBOX, token)
    pop = _pop(dovecot, harness_ssl_context, stls=False)
    _pop_xoauth2(pop, MAILBOX, token)
    pop.quit()


@pytest.mark.parametrize(
    "token_for",
    [
        pytest.param(
            lambda e, p, s: _token(e, p, s, scope=f"{GRAPH_RESOURCE}/.default"), id="graph token"
        ),
        pytest.param(lambda e, p, s: "not-a-jwt", id="garbage token"),
    ],
)
def test_tokens_exchange_cannot_use_are_refused(
    dovecot: Dovecot,
    fake_entra: FakeEntra,
    harness_pki: TestPKI,
    harness_ssl_context: ssl.SSLContext,
    guide: GuideSetup,
    token_for: Callable[[FakeEntra, TestPKI, GuideSetup], str],
) -> None:
    client = _imap(dovecot, harness_ssl_context, starttls=False)
    with pytest.raises(LoginError, match=r"AUTHENTICATE failed\."):
        client.oauth2_login(MAILBOX, token_for(fake_entra, harness_pki, guide))
    assert fake_entra.last_decision().refusal in (Refusal.WRONG_AUDIENCE, Refusal.INVALID_TOKEN)


def test_a_token_for_another_mailbox_has_no_access(
    dovecot: Dovecot,
    fake_entra: FakeEntra,
    harness_pki: TestPKI,
    harness_ssl_context: ssl.SSLContext,
    guide: GuideSetup,
) -> None:
    dovecot.add_user("gerencia@contoso.test")
    client = _imap(dovecot, harness_ssl_context, starttls=False)
    with pytest.raises(LoginError, match="User is authenticated but not connected"):
        client.oauth2_login("gerencia@contoso.test", _token(fake_entra, harness_pki, guide))


def test_a_malformed_sasl_response_penalty_is_cleared_for_the_next_test(
    dovecot: Dovecot, harness_ssl_context: ssl.SSLContext
) -> None:
    offset = dovecot.log_size()
    client = _imap(dovecot, harness_ssl_context, starttls=False)
    with pytest.raises(imaplib.IMAP4.error, match="AUTHENTICATIONFAILED"):
        client._imap.authenticate("XOAUTH2", lambda _: b"garbage")
    assert dovecot.penalized_since(offset)  # the fixture restarts Dovecot after this test


# Dovecot: mail -------------------------------------------------------------------------------


def test_delivered_mail_is_seen_over_imap_and_on_disk(
    dovecot: Dovecot, harness_ssl_context: ssl.SSLContext
) -> None:
    dovecot.add_user("basica@otro.test", password="clave")
    dovecot.deliver_many("basica@otro.test", [b"Subject: %d\r\n\r\nx\r\n" % i for i in range(50)])
    dovecot.deliver("basica@otro.test", b"Subject: x\r\n\r\nx\r\n", folder="Recepción FE/Errores")
    client = _imap(dovecot, harness_ssl_context, starttls=False)
    client.login("basica@otro.test", "clave")

    assert client.select_folder("INBOX")[b"EXISTS"] == 50
    assert client.select_folder("Recepción FE/Errores")[b"EXISTS"] == 1
    client.select_folder("INBOX")
    client.move(client.search()[:10], "Recepción FE/Errores")
    client.logout()
    assert dovecot.message_count("basica@otro.test") == 40
    assert dovecot.message_count("basica@otro.test", "Recepción FE/Errores") == 11
    assert dovecot.list_folders("basica@otro.test") == [
        "INBOX",
        "Recepción FE/Errores",
    ]


def test_reset_user_empties_the_mailbox(dovecot: Dovecot) -> None:
    dovecot.add_user("basica@otro.test", password="clave")
    dovecot.deliver("basica@otro.test", b"Subject: x\r\n\r\nx\r\n", folder="Otra")
    dovecot.reset_user("basica@otro.test")
    assert dovecot.list_folders("basica@otro.test") == ["INBOX"]
    assert dovecot.message_count("basica@otro.test") == 0


def test_the_server_without_move_makes_clients_copy(
    dovecot_without_move: Dovecot, harness_ssl_context: ssl.SSLContext
) -> None:
    dovecot_without_move.add_user("basica@otro.test", password="clave")
    client = _imap(dovecot_without_move, harness_ssl_context, starttls=False)
    client.login("basica@otro.test", "clave")
    capabilities = client.capabilities()
    client.logout()
    assert b"MOVE" not in capabilities
    assert b"UIDPLUS" in capabilities


def test_restart_keeps_ports_and_mail(
    dovecot: Dovecot, harness_ssl_context: ssl.SSLContext
) -> None:
    dovecot.add_user("basica@otro.test", password="clave")
    dovecot.deliver("basica@otro.test", b"Subject: x\r\n\r\nx\r\n")
    ports = dovecot.ports
    dovecot.kill()
    dovecot.start()

    assert dovecot.ports == ports
    client = _imap(dovecot, harness_ssl_context, starttls=False)
    client.login("basica@otro.test", "clave")
    assert client.select_folder("INBOX")[b"EXISTS"] == 1
    client.logout()


@pytest.fixture
def served_harness() -> Iterator[dict[str, Any]]:
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "tests.harness",
            "serve",
            "--oauth-mailbox",
            MAILBOX,
            "--basic-mailbox",
            "basica@otro.test:clave",
        ],
        stdout=subprocess.PIPE,
        text=True,
    )
    assert process.stdout is not None
    try:
        yield json.loads(process.stdout.readline())
    finally:
        process.terminate()
        assert process.wait(timeout=15) == 0


def test_the_serve_command_runs_the_servers_in_a_subprocess(
    served_harness: dict[str, Any],
) -> None:
    oauth = served_harness["mailboxes"][0]
    app = msal.ConfidentialClientApplication(
        oauth["client_id"],
        client_credential=oauth["client_secret"],
        authority=oauth["authority"],
        instance_discovery=False,
        http_client=harness_http_session(served_harness["ca_bundle"]),
    )
    token = app.acquire_token_for_client([EXCHANGE_SCOPE])["access_token"]
    context = ssl.create_default_context(cafile=served_harness["ca_bundle"])
    client = imapclient.IMAPClient(
        served_harness["host"], port=served_harness["ports"]["imaps"], ssl_context=context
    )
    client.oauth2_login(MAILBOX, token)
    client.logout()
