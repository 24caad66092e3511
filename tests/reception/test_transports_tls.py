"""The verifying TLS context is built once per CA bundle and shared; each connection's notes are
its own."""

import shutil
from pathlib import Path

from reception.transports.base import staged_tls


def test_connections_share_the_context_but_not_their_notes(harness_pki, tmp_path: Path) -> None:
    bundle = tmp_path / "ca.pem"
    shutil.copyfile(harness_pki.ca_pem, bundle)
    first, second = staged_tls(str(bundle)), staged_tls(str(bundle))

    assert first.context is second.context
    assert first.info is not second.info
    first.tcp_connected = True
    first.info.address = "127.0.0.1:993"
    assert not second.tcp_connected
    assert second.info.address == ""


def test_a_replaced_bundle_is_read_again(harness_pki, tmp_path: Path) -> None:
    bundle = tmp_path / "ca.pem"
    shutil.copyfile(harness_pki.ca_pem, bundle)
    before = staged_tls(str(bundle)).context

    bundle.write_bytes(harness_pki.ca_pem.read_bytes() + b"\n")

    assert staged_tls(str(bundle)).context is not before
