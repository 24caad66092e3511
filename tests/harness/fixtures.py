"""pytest fixtures for the real test servers.

Register once for the whole suite, in the top-level ``tests/conftest.py``::

    pytest_plugins = ["tests.harness.fixtures"]

Servers are session-scoped (one set per pytest-xdist worker: ephemeral ports, per-worker temp
dirs); their state is reset around every test that asks for them.
"""

from __future__ import annotations

import os
import ssl
from collections.abc import Iterator
from typing import Any

import pytest
import requests

from .dian import FakeDian
from .dian_pki import SigningCA
from .dovecot import Dovecot
from .entra import FakeEntra
from .pki import TestPKI


def harness_http_session(ca_bundle: str | os.PathLike[str]) -> requests.Session:
    """The HTTP client msal must be given: trusts the test CA and ignores REQUESTS_CA_BUNDLE.

    requests lets ``REQUESTS_CA_BUNDLE``/``CURL_CA_BUNDLE`` from the environment override
    ``verify=``; ``trust_env = False`` is what makes the CA bundle stick.
    """
    session = requests.Session()
    session.trust_env = False
    session.verify = os.fspath(ca_bundle)
    return session


@pytest.fixture(scope="session")
def harness_pki(tmp_path_factory: pytest.TempPathFactory) -> TestPKI:
    """Test CA + loopback server certificate; ``harness_pki.ca_pem`` is the app's CA bundle."""
    return TestPKI.create(tmp_path_factory.mktemp("harness-pki"))


@pytest.fixture(scope="session")
def harness_ssl_context(harness_pki: TestPKI) -> ssl.SSLContext:
    """A client TLS context trusting only the test CA (for imapclient / poplib in tests)."""
    return ssl.create_default_context(cafile=str(harness_pki.ca_pem))


@pytest.fixture
def harness_requests_session(harness_pki: TestPKI) -> Iterator[requests.Session]:
    session = harness_http_session(harness_pki.ca_pem)
    yield session
    session.close()


@pytest.fixture(scope="session")
def fake_entra_server(harness_pki: TestPKI) -> Iterator[FakeEntra]:
    """The session's FakeEntra, not reset; tests want ``fake_entra``."""
    entra = FakeEntra(harness_pki)
    yield entra
    entra.stop()


@pytest.fixture
def fake_entra(fake_entra_server: FakeEntra) -> Iterator[FakeEntra]:
    """FakeEntra with no tenants, zero counters and no faults; fails the test on its own bugs."""
    fake_entra_server.reset()
    yield fake_entra_server
    errors = list(fake_entra_server.server_errors)
    fake_entra_server.reset()
    if errors:
        pytest.fail(f"FakeEntra raised while answering: {errors!r}")


def _dovecot_session(pki: TestPKI, entra: FakeEntra, move_capability: bool) -> Iterator[Dovecot]:
    server = Dovecot(pki, entra, move_capability=move_capability)
    server.start()
    yield server
    server.close()


def _dovecot_per_test(server: Dovecot) -> Iterator[Dovecot]:
    if not server.running:  # a test may have crashed or stopped it
        server.start()
    server.reset()
    offset = server.log_size()
    yield server
    if not server.running or server.penalized_since(offset):
        server.restart()  # start the next test without an auth penalty or a dead server
    server.reset()


@pytest.fixture(scope="session")
def dovecot_server(harness_pki: TestPKI, fake_entra_server: FakeEntra) -> Iterator[Dovecot]:
    """The session's Dovecot, not reset; tests want ``dovecot``."""
    yield from _dovecot_session(harness_pki, fake_entra_server, move_capability=True)


@pytest.fixture
def dovecot(dovecot_server: Dovecot, fake_entra: FakeEntra) -> Iterator[Dovecot]:
    """Dovecot with no users; modern-auth logins are judged by the (reset) ``fake_entra``."""
    yield from _dovecot_per_test(dovecot_server)


@pytest.fixture(scope="session")
def dovecot_without_move_server(
    harness_pki: TestPKI, fake_entra_server: FakeEntra
) -> Iterator[Dovecot]:
    yield from _dovecot_session(harness_pki, fake_entra_server, move_capability=False)


@pytest.fixture
def dovecot_without_move(
    dovecot_without_move_server: Dovecot, fake_entra: FakeEntra
) -> Iterator[Dovecot]:
    """A second Dovecot that does not advertise MOVE, for the COPY + EXPUNGE path."""
    yield from _dovecot_per_test(dovecot_without_move_server)


def allowed_mail_hosts(*servers: Dovecot) -> list[str]:
    """RECEPTION_ALLOWED_MAIL_HOSTS entries for the test servers: loopback, ephemeral ports.

    Without them the app would refuse to send a credential there, as it must in production.
    """
    return [entry for server in servers for entry in server.allowed_mail_hosts]


@pytest.fixture
def reception_settings(
    settings: Any,
    harness_pki: TestPKI,
    fake_entra: FakeEntra,
    dovecot_server: Dovecot,
    request: pytest.FixtureRequest,
) -> Any:
    """Django settings pointing the app at FakeEntra, the test CA and the test Dovecots
    (pytest-django); child processes get the same through ``harness_environment``."""
    servers = [dovecot_server]
    if "dovecot_without_move" in request.fixturenames:
        servers.append(request.getfixturevalue("dovecot_without_move_server"))
    settings.MICROSOFT_AUTHORITY_HOST = fake_entra.url
    settings.RECEPTION_CA_BUNDLE = str(harness_pki.ca_pem)
    settings.RECEPTION_ALLOWED_MAIL_HOSTS = allowed_mail_hosts(*servers)
    return settings


def harness_environment(reception_settings: Any) -> dict[str, str]:
    """The environment of a `manage.py` child process that must reach the test servers."""
    return {
        "MICROSOFT_AUTHORITY_HOST": reception_settings.MICROSOFT_AUTHORITY_HOST,
        "RECEPTION_CA_BUNDLE": reception_settings.RECEPTION_CA_BUNDLE,
        "RECEPTION_ALLOWED_MAIL_HOSTS": ",".join(reception_settings.RECEPTION_ALLOWED_MAIL_HOSTS),
    }


@pytest.fixture(scope="session")
def dian_signing_ca() -> SigningCA:
    """The certification authority the fake DIAN trusts for event signatures."""
    return SigningCA.create()


@pytest.fixture(scope="session")
def fake_dian_server(harness_pki: TestPKI, dian_signing_ca: SigningCA) -> Iterator[FakeDian]:
    """The session's FakeDian, not reset; tests want ``fake_dian``."""
    dian = FakeDian(harness_pki, dian_signing_ca.pem)
    yield dian
    dian.stop()


@pytest.fixture
def fake_dian(fake_dian_server: FakeDian) -> Iterator[FakeDian]:
    """FakeDian with no software, no events and no faults; fails the test on its own bugs."""
    fake_dian_server.reset()
    yield fake_dian_server
    errors = list(fake_dian_server.server_errors)
    fake_dian_server.reset()
    if errors:
        pytest.fail(f"FakeDian raised while answering: {errors!r}")


@pytest.fixture
def dian_settings(settings: Any, harness_pki: TestPKI, fake_dian: FakeDian) -> Any:
    """Django settings pointing the app at FakeDian over TLS with the test CA."""
    settings.DIAN_WS_URL = fake_dian.url
    settings.RECEPTION_CA_BUNDLE = str(harness_pki.ca_pem)
    settings.DIAN_WS_TIMEOUT = 2.0
    return settings
