"""Real servers for the integration tests: a test CA, FakeEntra (msal's token service plus
Exchange's authorisation rules) and a private Dovecot. See README.md in this directory.
"""

from __future__ import annotations

import shutil
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
    owns_pki_directory: bool = False

    def close(self) -> None:
        self.dovecot.close()
        self.entra.stop()
        if self.owns_pki_directory:
            shutil.rmtree(self.pki.directory, ignore_errors=True)


def start_harness(directory: Path | None = None, move_capability: bool = True) -> Harness:
    """Start the CA, FakeEntra and Dovecot; call close() (or use try/finally) when done."""
    pki = TestPKI.create(Path(directory or tempfile.mkdtemp(prefix="recepcion-pki-")))
    owns_pki_directory = directory is None
    entra = FakeEntra(pki)
    dovecot = Dovecot(pki, entra, move_capability=move_capability)
    harness = Harness(pki, entra, dovecot, owns_pki_directory=owns_pki_directory)
    try:
        dovecot.start()
    except BaseException:
        harness.close()
        raise
    return harness
