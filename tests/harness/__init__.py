"""Real servers for the integration tests: a test CA, FakeEntra (msal's token service plus
Exchange's authorisation rules) and a private Dovecot. See README.md in this directory.
"""

from __future__ import annotations

import tempfile
from dataclasses import dataclass
from pathlib import Path

from .dovecot import Dovecot
from .entra import FakeEntra
from .pki import TestPKI


@dataclass
class Harness:
    """All servers of one harness, for scripts and benchmarks (pytest uses fixtures.py)."""

    pki: TestPKI
    entra: FakeEntra
    dovecot: Dovecot

    def close(self) -> None:
        self.dovecot.close()
        self.entra.stop()


def start_harness(directory: Path | None = None, move_capability: bool = True) -> Harness:
    """Start the CA, FakeEntra and Dovecot; call close() (or use try/finally) when done."""
    pki = TestPKI.create(Path(directory or tempfile.mkdtemp(prefix="recepcion-pki-")))
    entra = FakeEntra(pki)
    dovecot = Dovecot(pki, entra, move_capability=move_capability)
    try:
        dovecot.start()
    except BaseException:
        dovecot.close()
        entra.stop()
        raise
    return Harness(pki=pki, entra=entra, dovecot=dovecot)
