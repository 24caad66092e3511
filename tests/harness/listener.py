"""A mail server that is not the mailbox: it records every byte a client sends it.

Stands in for "a host the user chose" in the custody tests. It speaks just enough IMAP over TLS
(greeting, CAPABILITY, a "+" to AUTHENTICATE, NO to every login) that a real imapclient would
hand it a password in ``LOGIN`` or a token in ``AUTHENTICATE XOAUTH2``, so a test can prove
that nothing of the kind arrived. Its certificate comes from a CA of its own, which the test
adds to the app's trusted bundle: the point is a server the app *would* trust.
"""

from __future__ import annotations

import contextlib
import socket
import ssl
import threading
from pathlib import Path
from typing import BinaryIO

import trustme

CAPABILITY = b"* CAPABILITY IMAP4rev1 AUTH=PLAIN AUTH=XOAUTH2\r\n"


class RecordingImapServer:
    """A TLS IMAP listener on ``host``; ``received`` holds what every client sent, in order."""

    def __init__(self, host: str, directory: Path) -> None:
        self.host = host
        self.ca = trustme.CA(organization_name="Recepcion FE listener CA")
        certificate = self.ca.issue_cert(host)
        self.ca_pem = directory / "listener-ca.pem"
        self.ca.cert_pem.write_to_path(str(self.ca_pem))
        self._context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        certificate.configure_cert(self._context)
        self._socket = socket.create_server((host, 0))
        self.port: int = self._socket.getsockname()[1]
        self.connections = 0
        self._received: list[bytes] = []
        self._lock = threading.Lock()
        self._threads: list[threading.Thread] = []
        self._closed = False
        self._acceptor = threading.Thread(target=self._accept, daemon=True)
        self._acceptor.start()

    @property
    def received(self) -> bytes:
        with self._lock:
            return b"".join(self._received)

    def close(self) -> None:
        self._closed = True
        with contextlib.suppress(OSError):
            self._socket.shutdown(socket.SHUT_RDWR)  # wakes the blocked accept()
        self._socket.close()
        for thread in [self._acceptor, *self._threads]:
            thread.join(timeout=5)

    def _accept(self) -> None:
        while not self._closed:
            try:
                client, _address = self._socket.accept()
            except OSError:
                return
            with self._lock:
                self.connections += 1
            thread = threading.Thread(target=self._serve, args=(client,), daemon=True)
            self._threads.append(thread)
            thread.start()

    def _serve(self, client: socket.socket) -> None:
        client.settimeout(10)
        try:
            with self._context.wrap_socket(client, server_side=True) as tls:
                self._converse(tls.makefile("rwb"))
        except (OSError, ssl.SSLError):
            return

    def _converse(self, stream: BinaryIO) -> None:
        stream.write(b"* OK [CAPABILITY IMAP4rev1 AUTH=PLAIN AUTH=XOAUTH2] listo\r\n")
        stream.flush()
        while line := stream.readline():
            with self._lock:
                self._received.append(line)
            tag, _, rest = line.strip().partition(b" ")
            command = rest.split(b" ", 1)[0].upper()
            if command == b"CAPABILITY":
                reply = CAPABILITY + tag + b" OK hecho\r\n"
            elif command == b"AUTHENTICATE":
                stream.write(b"+ \r\n")
                stream.flush()
                answer = stream.readline()
                with self._lock:
                    self._received.append(answer)
                reply = tag + b" NO [AUTHENTICATIONFAILED] no\r\n"
            elif command == b"LOGIN":
                reply = tag + b" NO [AUTHENTICATIONFAILED] no\r\n"
            elif command == b"LOGOUT":
                stream.write(b"* BYE adios\r\n" + tag + b" OK hecho\r\n")
                stream.flush()
                return
            else:
                reply = tag + b" BAD desconocido\r\n"
            stream.write(reply)
            stream.flush()
