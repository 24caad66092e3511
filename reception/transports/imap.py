"""IMAP sessions through imapclient: login, the reception folders, UID-based fetch and move.

Every bulk operation works on UID sets, a batch per command, never one command per message: on a
remote server each round trip costs 20-100 ms, and on Maildir each flag change renames a file.
"""

from __future__ import annotations

import contextlib
import imaplib
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field

from imapclient import IMAPClient
from imapclient.exceptions import IMAPClientError, LoginError
from imapclient.response_parser import parse_fetch_response

from reception.transports.base import (
    AuthMethod,
    ConnectionInfo,
    ErrorKind,
    MailboxSettings,
    MailProtocol,
    Security,
    Stage,
    TokenProvider,
    TransportError,
    connection_error,
    lost_connection,
    refusal_kind,
    scrub,
    server_text,
    staged_tls,
)
from reception.transports.destinations import connect_first, vetted_addresses
from reception.transports.tokens import check_claims

#: The folder structure kept in every IMAP reception mailbox. Names use "/" as separator; the
#: session translates it to the server's own delimiter and personal namespace prefix.
FOLDER_ROOT = "Recepción FE"
#: E-mails whose electronic document was registered (or was a duplicate of one already registered).
FOLDER_PROCESSED = "Recepción FE/Procesados"
#: E-mails with an electronic document that could not be registered; a person must look at them.
FOLDER_ERRORS = "Recepción FE/Errores"
#: E-mails that carry no DIAN electronic document (advertising, replies, notices).
FOLDER_NOT_ELECTRONIC = "Recepción FE/No electrónicos"
RECEPTION_FOLDERS: tuple[str, ...] = (
    FOLDER_ROOT,
    FOLDER_PROCESSED,
    FOLDER_ERRORS,
    FOLDER_NOT_ELECTRONIC,
)

INBOX = "INBOX"
_UIDS_PER_COMMAND = 500
_DELETED = b"\\Deleted"


@dataclass(frozen=True)
class FolderState:
    """A selected folder; UIDs are only comparable across sessions while uidvalidity holds."""

    name: str
    uidvalidity: int
    uidnext: int | None
    exists: int


@dataclass(frozen=True)
class FetchedMessage:
    """One message; ``raw`` is None when it is larger than the limit and was not downloaded."""

    uid: int
    size: int
    raw: bytes | None


@dataclass
class _AskedBodies:
    """A UID FETCH of bodies sent; its answer, once read in."""

    tag: str
    bodies: dict = field(default_factory=dict)


def _download_plan(
    sizes: dict[int, int], max_size: int, batch_size: int, batch_bytes: int
) -> list[list[int] | FetchedMessage]:
    """The UIDs to download in batches, in UID order, with each oversized message (reported
    without its body) in its place between them."""
    steps: list[list[int] | FetchedMessage] = []
    batch: list[int] = []
    batch_total = 0
    for uid in sorted(sizes):
        size = sizes[uid]
        if size > max_size:
            if batch:
                steps.append(batch)
            batch, batch_total = [], 0
            steps.append(FetchedMessage(uid=uid, size=size, raw=None))
            continue
        if batch and (len(batch) >= batch_size or batch_total + size > batch_bytes):
            steps.append(batch)
            batch, batch_total = [], 0
        batch.append(uid)
        batch_total += size
    if batch:
        steps.append(batch)
    return steps


def uid_set(uids: Iterable[int]) -> str:
    """The compact IMAP sequence set of some UIDs: [1, 2, 3, 7] -> "1:3,7"."""
    ranges: list[str] = []
    ordered = sorted(set(uids))
    start = previous = ordered[0] if ordered else 0
    for uid in ordered[1:]:
        if uid != previous + 1:
            ranges.append(f"{start}:{previous}" if previous != start else str(start))
            start = uid
        previous = uid
    if ordered:
        ranges.append(f"{start}:{previous}" if previous != start else str(start))
    return ",".join(ranges)


def _chunks(uids: Sequence[int], size: int) -> Iterator[Sequence[int]]:
    for index in range(0, len(uids), size):
        yield uids[index : index + size]


class ImapSession:
    """A logged-in IMAP connection; get one from ``open_imap`` or ``open_mailbox``."""

    protocol = MailProtocol.IMAP

    def __init__(self, client: IMAPClient, settings: MailboxSettings, info: ConnectionInfo) -> None:
        self.client = client
        self.info = info
        self._secrets = settings.secrets
        self._layout: tuple[str, str] | None = None
        self._asked: _AskedBodies | None = None
        self._received: _AskedBodies | None = None

    @contextmanager
    def _converting(self, stage: Stage) -> Iterator[None]:
        """Turn library and socket errors into TransportError during an operation.

        Every command runs in here, so bodies asked for ahead are read in first."""
        try:
            self._read_asked()
            yield
        except TimeoutError as error:
            raise TransportError(ErrorKind.TIMEOUT, stage, "tiempo de espera agotado") from error
        except (OSError, imaplib.IMAP4.abort) as error:
            detail = scrub(str(error), self._secrets)
            raise TransportError(ErrorKind.NETWORK, stage, detail) from error
        except (IMAPClientError, imaplib.IMAP4.error) as error:
            detail = scrub(server_text(error), self._secrets)
            kind = refusal_kind(detail)
            if kind == ErrorKind.AUTH_REFUSED:
                kind = ErrorKind.MAILBOX_ERROR
            raise TransportError(kind, stage, detail) from error

    def inbox_status(self) -> FolderState:
        """Open INBOX read-only: proves the mailbox itself is reachable, not just the login."""
        return self.select_folder(INBOX, readonly=True)

    def select_folder(self, folder: str = INBOX, *, readonly: bool = False) -> FolderState:
        with self._converting(Stage.INBOX):
            response = self.client.select_folder(folder, readonly=readonly)
        uidnext = response.get(b"UIDNEXT")
        return FolderState(
            name=folder,
            uidvalidity=int(response[b"UIDVALIDITY"]),
            uidnext=int(uidnext) if uidnext is not None else None,
            exists=int(response.get(b"EXISTS", 0)),
        )

    def uids_after(self, uid: int) -> list[int]:
        """UIDs above ``uid`` in the selected folder; "n:*" also returns the highest UID below n."""
        with self._converting(Stage.INBOX):
            found = self.client.search(["UID", f"{uid + 1}:*"])
        return sorted(found_uid for found_uid in found if found_uid > uid)

    def fetch(
        self, uids: Sequence[int], *, max_size: int, batch_size: int, batch_bytes: int
    ) -> Iterator[FetchedMessage]:
        """Yield the messages of ``uids`` in UID order, downloading bodies a batch at a time.

        Sizes come first (one command per 500 UIDs), so an oversized message is reported without
        being downloaded; a batch holds at most ``batch_size`` messages and about ``batch_bytes``.
        The next batch is asked for before this one is handed over, so the server reads and
        sends it while the caller records this one. Messages expunged meanwhile by someone else
        are silently absent.
        """
        if not uids:
            return
        sizes: dict[int, int] = {}
        with self._converting(Stage.INBOX):
            for chunk in _chunks(sorted(uids), _UIDS_PER_COMMAND):
                # A list, not a compact "1:3" set: imapclient filters the answer by int(id).
                response = self.client.fetch(list(chunk), ["RFC822.SIZE"])
                sizes.update((uid, int(data[b"RFC822.SIZE"])) for uid, data in response.items())
        steps = _download_plan(sizes, max_size, batch_size, batch_bytes)
        downloads = iter([step for step in steps if isinstance(step, list)])
        self._ask_bodies(next(downloads, None))
        for step in steps:
            if isinstance(step, FetchedMessage):
                yield step
                continue
            bodies = self._received_bodies()
            self._ask_bodies(next(downloads, None))
            for uid in step:
                data = bodies.get(uid)
                if data is not None and b"BODY[]" in data:
                    yield FetchedMessage(uid=uid, size=sizes[uid], raw=bytes(data[b"BODY[]"]))

    def _ask_bodies(self, uids: list[int] | None) -> None:
        """Send a UID FETCH of bodies without waiting for the answer (read by the next command).

        imapclient's fetch() sends and waits in one call; this is its first half, through the
        same imaplib calls, so that the server works while this process records.
        """
        if uids:
            with self._converting(Stage.INBOX):
                tag = self.client._imap._command("UID", "FETCH", uid_set(uids), "(BODY.PEEK[])")
            self._asked = _AskedBodies(tag)

    def _read_asked(self) -> None:
        """Read in the answer to the bodies asked for, if any: IMAP answers in order, so it comes
        before the answer to any command sent after it (this runs first in every command)."""
        asked, self._asked = self._asked, None
        if asked is None:
            return
        imap = self.client._imap
        typ, data = imap._command_complete("FETCH", asked.tag)
        if typ != "OK":  # the server's words, as imapclient would raise them
            raise IMAPClientError(data[-1] if data and data[-1] else "UID FETCH failed")
        _typ, data = imap._untagged_response(typ, data, "FETCH")
        asked.bodies = parse_fetch_response(data, self.client.normalise_times, True)
        self._received = asked

    def _received_bodies(self) -> dict:
        """The bodies last asked for, read in now if no other command has read them yet."""
        with self._converting(Stage.INBOX):  # reads them in, as before every command
            received, self._received = self._received, None
        assert received is not None
        return received.bodies

    def move(self, uids: Sequence[int], folder: str) -> None:
        """Move messages of the selected folder to a reception folder ("Recepción FE/...").

        Uses MOVE when offered, else COPY + \\Deleted + UID EXPUNGE (UIDPLUS) or EXPUNGE.
        """
        target = self.folder_path(folder) if folder in RECEPTION_FOLDERS else folder
        with self._converting(Stage.INBOX):
            has_move = self.client.has_capability("MOVE")
            has_uidplus = self.client.has_capability("UIDPLUS")
            for chunk in _chunks(sorted(uids), _UIDS_PER_COMMAND):
                messages = uid_set(chunk)
                if has_move:
                    self.client.move(messages, target)
                    continue
                self.client.copy(messages, target)
                self.client.add_flags(messages, [_DELETED], silent=True)
                if has_uidplus:
                    self.client.uid_expunge(messages)
                else:
                    self.client.expunge()

    def folder_path(self, folder: str) -> str:
        """The server's name for a "/"-separated folder name."""
        prefix, delimiter = self._folder_layout()
        return prefix + folder.replace("/", delimiter)

    def missing_folders(self) -> list[str]:
        """The reception folders that do not exist, by their "/"-separated names."""
        with self._converting(Stage.FOLDERS):
            pattern = self.folder_path(FOLDER_ROOT) + "*"
            listed = self.client.list_folders("", pattern)
        existing = {str(name) for _flags, _delimiter, name in listed}
        return [folder for folder in RECEPTION_FOLDERS if self.folder_path(folder) not in existing]

    def ensure_folders(self) -> list[str]:
        """Create the reception folders that are missing; return those created.

        Idempotent: a folder created meanwhile by another session counts as present.
        """
        created: list[str] = []
        for folder in self.missing_folders():
            path = self.folder_path(folder)
            with self._converting(Stage.FOLDERS):
                try:
                    self.client.create_folder(path)
                except IMAPClientError as error:
                    if "exist" not in str(error).lower():
                        raise
                    continue
                self.client.subscribe_folder(path)
            created.append(folder)
        return created

    def _folder_layout(self) -> tuple[str, str]:
        """(personal namespace prefix, hierarchy delimiter), asked once per session."""
        if self._layout is None:
            with self._converting(Stage.FOLDERS):
                prefix, delimiter = "", ""
                if self.client.has_capability("NAMESPACE"):
                    personal = self.client.namespace().personal
                    if personal:
                        prefix, delimiter = personal[0][0], personal[0][1] or ""
                if not delimiter:
                    listed = self.client.list_folders("", "")
                    raw = listed[0][1] if listed else b"/"
                    delimiter = raw.decode() if isinstance(raw, bytes) else str(raw or "/")
            self._layout = (prefix, delimiter)
        return self._layout


def _login(client: IMAPClient, settings: MailboxSettings, tokens: TokenProvider) -> None:
    if settings.auth == AuthMethod.OAUTH2:
        token = tokens.get_token(settings)
        check_claims(token.claims, MailProtocol.IMAP)
        secrets = (*settings.secrets, token.value)
        try:
            client.oauth2_login(settings.username, token.value)
        except (LoginError, IMAPClientError, imaplib.IMAP4.error, OSError) as error:
            raise _login_error(error, secrets) from error
        return
    try:
        client.login(settings.username, settings.password)
    except (LoginError, IMAPClientError, imaplib.IMAP4.error, OSError) as error:
        raise _login_error(error, settings.secrets) from error


def _login_error(error: BaseException, secrets: tuple[str, ...]) -> TransportError:
    detail = scrub(server_text(error), secrets)
    if lost_connection(error):
        kind = ErrorKind.TIMEOUT if isinstance(error, TimeoutError) else ErrorKind.NETWORK
        return TransportError(kind, Stage.AUTH, detail)
    return TransportError(refusal_kind(detail), Stage.AUTH, detail)


def _connect(settings: MailboxSettings, address: str) -> tuple[IMAPClient, ConnectionInfo]:
    """Connect to one vetted address of the host; TLS checks the certificate against its name."""
    context = staged_tls(settings.ca_bundle, server_hostname=settings.host)
    use_ssl = settings.security == Security.SSL
    try:
        client = IMAPClient(
            address,
            port=settings.port,
            ssl=use_ssl,
            ssl_context=context,
            timeout=settings.timeout,
        )
    except (OSError, imaplib.IMAP4.error) as error:
        raise connection_error(error, context=context, upgrading=False) from error
    _trace_off(client)
    try:
        if not use_ssl:
            client.starttls(context)
        context.info.greeting = scrub(
            client.welcome.decode(errors="replace") if client.welcome else "", settings.secrets
        )
    except (OSError, imaplib.IMAP4.error, IMAPClientError) as error:
        with contextlib.suppress(OSError):  # a failed STARTTLS handshake already closed it
            client.shutdown()
        raise connection_error(error, context=context, upgrading=True) from error
    return client, context.info


def _trace_off(client: IMAPClient) -> None:
    """Turn off the wire trace imapclient switches on in imaplib.

    imapclient sets imaplib's debug level to 5 and sends the trace to a logger. imaplib then
    formats the repr of every literal and of each whole FETCH answer before the logger drops
    it: about half the CPU of a download, and, where debug logging is on, suppliers' invoices
    and the login exchange in the logs.
    """
    client._imap.debug = 0


@contextmanager
def open_imap(
    settings: MailboxSettings, tokens: TokenProvider, addresses: Sequence[str] | None = None
) -> Iterator[ImapSession]:
    """Connect, secure, log in; always LOGOUT on the way out.

    ``addresses``: the host's addresses already vetted by the caller; otherwise the name is
    checked, resolved and vetted here, before anything is sent anywhere.
    """
    if addresses is None:
        addresses = vetted_addresses(settings)
    client, info = connect_first(addresses, lambda address: _connect(settings, address))
    try:
        try:
            _login(client, settings, tokens)
        except TransportError as error:
            error.connection = info
            raise
        yield ImapSession(client, settings, info)
    finally:
        try:
            client.logout()
        except (OSError, imaplib.IMAP4.error, IMAPClientError):
            client.shutdown()
