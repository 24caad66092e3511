"""How every outgoing TLS connection of ours decides whom to trust. Pure: no Django.

The system CA store plus an optional extra bundle (RECEPTION_CA_BUNDLE): the mail servers, the
Entra ID authority and DIAN's web service are all verified this way. requests' `verify=<file>`
would replace the system store instead of adding to it, and requests lets the environment's
REQUESTS_CA_BUNDLE and proxies override a session's settings, so sessions are set up here.
"""

from __future__ import annotations

import ssl
from typing import Any

import requests
from requests.adapters import HTTPAdapter


def trusting_context(ca_bundle: str | None) -> ssl.SSLContext:
    """System CAs plus the optional bundle; hostname and certificate checks stay on."""
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    context.minimum_version = ssl.TLSVersion.TLSv1_2
    context.load_default_certs()
    if ca_bundle:
        context.load_verify_locations(cafile=ca_bundle)
    return context


class _TrustingAdapter(HTTPAdapter):
    """Hands every HTTPS connection pool our context instead of requests' own.

    requests would also name its own CA file (certifi's) on every connection, which urllib3
    then loads into our context each time it connects: a trust store we did not choose, read
    again per connection (~15 ms). Here the context alone decides, and always verifies.
    """

    def __init__(self, context: ssl.SSLContext) -> None:
        self._context = context
        super().__init__()

    def build_connection_pool_key_attributes(
        self, request: requests.PreparedRequest, verify: Any, cert: Any = None
    ) -> tuple[dict[str, Any], dict[str, Any]]:
        host_params, pool_kwargs = super().build_connection_pool_key_attributes(
            request, verify, cert
        )
        pool_kwargs["ssl_context"] = self._context
        return host_params, pool_kwargs

    def cert_verify(self, conn: Any, url: str, verify: Any, cert: Any) -> None:
        # Told not to verify, requests looks up no CA file; it still sets a client certificate.
        super().cert_verify(conn, url, False, cert)
        conn.cert_reqs = "CERT_REQUIRED"
        conn.ca_certs = conn.ca_cert_dir = None


def trust_our_stores(session: requests.Session, ca_bundle: str | None) -> requests.Session:
    """Make `session` verify HTTPS against `trusting_context` and ignore the environment."""
    session.trust_env = False
    session.mount("https://", _TrustingAdapter(trusting_context(ca_bundle)))
    return session
