"""A throw-away certificate authority for the test servers.

The application must verify TLS against a CA bundle it is given (``RECEPTION_CA_BUNDLE``), never
against a disabled check, so the harness issues real certificates from its own CA.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import trustme

SERVER_NAMES: tuple[str, ...] = ("127.0.0.1", "localhost", "::1")


@dataclass(frozen=True)
class TestPKI:
    """PEM files of one test CA and the server certificate it signed."""

    __test__ = False  # not a pytest test class despite the name

    directory: Path
    ca_pem: Path
    cert_pem: Path
    key_pem: Path
    cert_chain_pem: Path

    @classmethod
    def create(cls, directory: Path) -> TestPKI:
        """Issue a CA and a certificate for the loopback names into ``directory``.

        The files are world-readable on purpose: Dovecot's master reads them as root, but the
        directory may be shared with processes running as other users (Dovecot's ``mail`` user).
        """
        directory.mkdir(parents=True, exist_ok=True)
        ca = trustme.CA(organization_name="Recepcion FE test CA")
        cert = ca.issue_cert(*SERVER_NAMES)
        paths = cls(
            directory=directory,
            ca_pem=directory / "ca.pem",
            cert_pem=directory / "server-cert.pem",
            key_pem=directory / "server-key.pem",
            cert_chain_pem=directory / "server-chain.pem",
        )
        ca.cert_pem.write_to_path(str(paths.ca_pem))
        cert.private_key_pem.write_to_path(str(paths.key_pem))
        paths.cert_chain_pem.write_bytes(b"".join(blob.bytes() for blob in cert.cert_chain_pems))
        cert.cert_chain_pems[0].write_to_path(str(paths.cert_pem))
        for path in (paths.ca_pem, paths.cert_pem, paths.cert_chain_pem):
            os.chmod(path, 0o644)
        os.chmod(paths.key_pem, 0o600)
        return paths
