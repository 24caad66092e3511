"""Outgoing HTTPS trusts the system store plus our bundle, and nothing a library brings along."""

import pytest
import requests
import requests.adapters

from config.tls import trust_our_stores


@pytest.fixture
def server_url(fake_entra) -> str:
    return f"{fake_entra.url}/common/discovery/instance"


def test_the_bundle_makes_the_test_ca_trusted(server_url, harness_pki) -> None:
    with trust_our_stores(requests.Session(), str(harness_pki.ca_pem)) as session:
        assert session.get(server_url, timeout=5).status_code < 500


def test_requests_own_ca_file_is_never_trusted(server_url, harness_pki, monkeypatch) -> None:
    """requests names its CA file (certifi's) on every connection; were it loaded, a CA that only
    that file holds would be trusted by every client of ours."""
    monkeypatch.setattr(requests.adapters, "DEFAULT_CA_BUNDLE_PATH", str(harness_pki.ca_pem))
    session = trust_our_stores(requests.Session(), None)
    with session, pytest.raises(requests.exceptions.SSLError):
        session.get(server_url, timeout=5)


def test_a_caller_cannot_turn_verification_off(server_url) -> None:
    session = trust_our_stores(requests.Session(), None)
    with session, pytest.raises(requests.exceptions.SSLError):
        session.get(server_url, timeout=5, verify=False)
