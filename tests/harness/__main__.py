"""``python -m tests.harness serve``: run the servers until killed, for benchmarks and manual use.

Prints one JSON line (URLs, ports, CA path, and the credentials of the mailboxes it set up),
then waits for SIGTERM or SIGINT and shuts everything down.
"""

from __future__ import annotations

import argparse
import json
import signal
import sys
import threading
from pathlib import Path
from typing import Any

from . import start_harness


def _serve(args: argparse.Namespace) -> int:
    harness = start_harness(args.dir, move_capability=not args.no_move)
    stop = threading.Event()
    for signum in (signal.SIGTERM, signal.SIGINT):
        signal.signal(signum, lambda *_: stop.set())
    try:
        assert harness.dovecot.ports is not None
        messages = sorted(Path(args.eml).glob("*.eml")) if args.eml else []
        mailboxes: list[dict[str, Any]] = []
        for address in args.oauth_mailbox:
            harness.dovecot.add_user(address)
            setup = harness.entra.configure_like_guide(address)
            mailboxes.append(
                {
                    "address": address,
                    "auth": "xoauth2",
                    "tenant_id": setup.tenant_id,
                    "client_id": setup.client_id,
                    "client_secret": setup.client_secret,
                    "authority": harness.entra.authority(setup.tenant),
                }
            )
        for spec in args.basic_mailbox:
            address, _, password = spec.partition(":")
            harness.dovecot.add_user(address, password=password)
            mailboxes.append({"address": address, "auth": "basic", "password": password})
        for mailbox in mailboxes:
            harness.dovecot.deliver_many(mailbox["address"], (m.read_bytes() for m in messages))
        info = {
            "entra_url": harness.entra.url,
            "ca_bundle": str(harness.pki.ca_pem),
            "host": harness.dovecot.host,
            "ports": vars(harness.dovecot.ports),
            "dovecot_log": str(harness.dovecot.log_path),
            "mailboxes": mailboxes,
            "messages_per_mailbox": len(messages),
        }
        print(json.dumps(info), flush=True)
        stop.wait()
    finally:
        harness.close()
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tests.harness")
    commands = parser.add_subparsers(dest="command", required=True)
    serve = commands.add_parser("serve", help="run FakeEntra and Dovecot until killed")
    serve.add_argument("--dir", type=Path, help="where to write the CA files")
    serve.add_argument("--oauth-mailbox", action="append", default=[], metavar="ADDRESS")
    serve.add_argument("--basic-mailbox", action="append", default=[], metavar="ADDRESS:PASSWORD")
    serve.add_argument("--eml", help="deliver every *.eml of this directory to each mailbox")
    serve.add_argument("--no-move", action="store_true", help="do not advertise IMAP MOVE")
    args = parser.parse_args(argv)
    if args.command == "serve":
        return _serve(args)
    return 2


if __name__ == "__main__":
    sys.exit(main())
