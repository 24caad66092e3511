"""mailbox_fetch: bring new mail in, store it, record it decided, then tidy the server — in
that order.

Every e-mail is written to private storage, then its ledger row committed already decided
(with its document, and the folder's UID cursor, in the same transaction) before anything is
done to it on the server, a batch at a time. A crash before that commit leaves the batch on the
server and below the cursor, fetched again by the next run (its stored bytes are found by their
hash); after it, rows that the next run moves or deletes without fetching again. The unique
server key of each row keeps a second run from recording the same message twice.
"""

from __future__ import annotations

import hashlib
import itertools
import multiprocessing
from collections import Counter
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import ExitStack
from dataclasses import dataclass, field

from django.conf import settings
from django.core.mail import EmailMessage
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from config.rows import tables_analyze
from config.storage import content_save
from invoices.dian import ParsedMail
from invoices.models import ReceivedDocument
from reception.connection import fetch_tokens, mailbox_settings
from reception.exceptions import MailboxBusy, MailboxUnreachable
from reception.locks import MailboxLock
from reception.models import (
    FetchRun,
    FolderState,
    IncomingMessage,
    MailboxStatus,
    MessageOutcome,
    ReceptionMailbox,
    ServerState,
)
from reception.monitoring import logged_fetch
from reception.processing import (
    POOL_MIN_MESSAGES,
    NewMessage,
    ParsePool,
    RecordedMessage,
    configured_limits,
    messages_process,
    messages_record,
    parse_pool,
    parse_start,
)
from reception.transports.base import TransportError
from reception.transports.imap import (
    FOLDER_ERRORS,
    FOLDER_NOT_ELECTRONIC,
    FOLDER_PROCESSED,
    INBOX,
    ImapSession,
)
from reception.transports.mailbox import open_mailbox
from reception.transports.pop3 import Pop3Session

#: Where each outcome goes in the IMAP folder structure.
FOLDER_BY_OUTCOME = {
    MessageOutcome.DOCUMENT: FOLDER_PROCESSED,
    MessageOutcome.DUPLICATE: FOLDER_PROCESSED,
    MessageOutcome.NOT_DIAN: FOLDER_NOT_ELECTRONIC,
    MessageOutcome.REJECTED: FOLDER_ERRORS,
    MessageOutcome.ERROR: FOLDER_ERRORS,
}

#: Decided IMAP mail leaves INBOX this many messages at a time. The server's work per MOVE
#: grows with the folder: on an INBOX of thousands, fewer and larger MOVEs cost it less.
MOVE_EVERY = 1000

#: A run has the planner's statistics of the tables it grows refreshed once it has recorded
#: this many messages, then four times as many, and so on (see `tables_analyze`).
ANALYZE_AFTER = 2000

#: A POP3 listing is matched against the ledger this many keys per query: a mailbox kept while
#: Por Activar may list tens of thousands, more than a database takes in one statement.
KEYS_PER_QUERY = 1000


@dataclass
class FetchSummary:
    """What one fetch did; printed by the command and kept on the FetchRun."""

    seen: int = 0
    documents: int = 0
    duplicates: int = 0
    not_dian: int = 0
    errors: Counter = field(default_factory=Counter)
    moved: int = 0
    backed_up: int = 0
    deleted: int = 0

    def count(self, messages: Iterable[IncomingMessage]) -> None:
        for message in messages:
            if message.outcome == MessageOutcome.DOCUMENT:
                self.documents += 1
            elif message.outcome == MessageOutcome.DUPLICATE:
                self.duplicates += 1
            elif message.outcome == MessageOutcome.NOT_DIAN:
                self.not_dian += 1
            elif message.outcome in (MessageOutcome.ERROR, MessageOutcome.REJECTED):
                self.errors[message.reason_code or message.outcome] += 1

    def as_dict(self) -> dict:
        return {
            "seen": self.seen,
            "documents": self.documents,
            "duplicates": self.duplicates,
            "not_dian": self.not_dian,
            "errors": dict(self.errors),
            "moved": self.moved,
            "backed_up": self.backed_up,
            "deleted": self.deleted,
        }


@logged_fetch
def mailbox_fetch(
    mailbox: ReceptionMailbox,
    *,
    trigger: str,
    max_messages: int | None = None,
    processes: int | None = None,
) -> FetchSummary:
    """Fetch `mailbox` once. Raises MailboxBusy when another fetch holds it, MailboxUnreachable
    when the server could not be reached (the status machine has been told either way).

    `processes` parse the e-mails (default RECEPTION_PARSE_PROCESSES)."""
    from reception import status  # the status machine records the run's result

    lock = MailboxLock(mailbox)
    if not lock.acquire():
        FetchRun.objects.create(
            mailbox=mailbox,
            trigger=trigger,
            outcome=FetchRun.Outcome.SKIPPED,
            finished_at=timezone.now(),
        )
        raise MailboxBusy(_("Otra lectura de este buzón está en curso."))
    mailbox.refresh_from_db()  # the lock is ours: read the configuration as it is now
    run = FetchRun.objects.create(mailbox=mailbox, trigger=trigger)
    summary = FetchSummary()
    if processes is None:
        processes = settings.RECEPTION_PARSE_PROCESSES
    fetch = _Fetch(mailbox, lock, summary, max_messages, processes)
    try:
        fetch.run()
    except TransportError as error:
        _finish(run, summary, FetchRun.Outcome.FAILED, error.detail)
        status.mailbox_record_failure(mailbox, error, source=trigger)
        raise MailboxUnreachable(error, summary) from error
    except BaseException as error:
        _finish(run, summary, FetchRun.Outcome.FAILED, f"{type(error).__name__}: {error}")
        raise
    finally:
        lock.release()
    _finish(run, summary, FetchRun.Outcome.OK, "")
    ReceptionMailbox.objects.filter(pk=mailbox.pk).update(last_fetch_at=timezone.now())
    status.mailbox_record_success(mailbox)
    return summary


def _finish(run: FetchRun, summary: FetchSummary, outcome: str, error: str) -> None:
    run.outcome = outcome
    run.error = error
    run.counts = summary.as_dict()
    run.finished_at = timezone.now()
    run.save(update_fields=["outcome", "error", "counts", "finished_at"])


def _raw_name(mailbox_id: int, digest: str) -> str:
    """Content-addressed: a re-run after a crash rewrites the same file, never a second one."""
    return f"mail/{mailbox_id}/{digest[:2]}/{digest}.eml"


@dataclass(frozen=True)
class _Item:
    """A downloaded message about to be stored; raw None when it was too large to download.

    The folder and its numbers are an IMAP message's; a POP3 message has only its key."""

    server_key: str
    raw: bytes | None
    size: int
    sha256: str = ""
    folder: str = ""
    uidvalidity: int | None = None
    uid: int | None = None


@dataclass(frozen=True)
class _Started:
    """A stored batch whose parse is under way; `last_uid` is the cursor once it is recorded."""

    stored: list[NewMessage]
    parsing: Callable[[], list[ParsedMail | None]]
    uids: list[int]
    last_uid: int


class _Fetch:
    """One run over one mailbox; holds the run's settings so the steps stay short."""

    def __init__(
        self,
        mailbox: ReceptionMailbox,
        lock: MailboxLock,
        summary: FetchSummary,
        max_messages: int | None,
        processes: int,
    ) -> None:
        self.mailbox = mailbox
        self.lock = lock
        self.summary = summary
        self.max_messages = max_messages or settings.RECEPTION_MAX_MESSAGES_PER_RUN
        self.max_size = settings.RECEPTION_MAX_MESSAGE_BYTES
        self.batch_size = settings.RECEPTION_FETCH_BATCH_SIZE
        self.limits = configured_limits()
        self.folders_ensured = False
        self.processes = processes
        self.executor: ParsePool | None = None
        self.analyze_at = ANALYZE_AFTER
        self._stack = ExitStack()

    def run(self) -> None:
        with self._stack:
            deleted: list[int] = []
            with open_mailbox(mailbox_settings(self.mailbox), fetch_tokens) as session:
                if isinstance(session, ImapSession):
                    self._imap(session)
                else:
                    deleted = self._pop3(session)
            # POP3 deletes on QUIT, which the session sent on leaving the block above.
            if deleted:
                IncomingMessage.objects.filter(pk__in=deleted).update(
                    server_state=ServerState.DELETED
                )
                self.summary.deleted += len(deleted)

    # --- shared steps -----------------------------------------------------------------------

    def _executor_for(self, count: int) -> ParsePool | None:
        """The parse pool, started with the first batch worth it, so that an idle poll or a
        mailbox with a few new e-mails never pays for starting processes.

        A daemonic process (a django-q worker, by default) may not have children: it parses
        in-process, while the cluster's other workers use the other cores.
        """
        if self.processes <= 1 or count < POOL_MIN_MESSAGES:
            return None
        if multiprocessing.current_process().daemon:
            return None
        if self.executor is None:
            self.executor = self._stack.enter_context(parse_pool(self.processes))
        return self.executor

    def _store(self, items: Sequence[_Item]) -> list[NewMessage]:
        """Write each downloaded e-mail's bytes to private storage, before its row exists.

        Content-addressed: a batch fetched again after a crash rewrites the same files. A
        too-large message (raw None) is kept as a refusal, without bytes.
        """
        stored = []
        for item in items:
            raw = item.raw
            digest = name = ""
            refusal = None
            if raw is None:
                refusal = (
                    "too_large",
                    _("El correo pesa %(size).1f MB; el máximo configurado es %(max).0f MB")
                    % {"size": item.size / 2**20, "max": self.max_size / 2**20},
                )
            else:
                digest = item.sha256 or hashlib.sha256(raw).hexdigest()
                name = content_save(_raw_name(self.mailbox.pk, digest), raw, keep_existing=True)
            stored.append(
                NewMessage(
                    server_key=item.server_key,
                    folder=item.folder,
                    uidvalidity=item.uidvalidity,
                    uid=item.uid,
                    size=item.size,
                    sha256=digest,
                    raw_name=name,
                    refusal=refusal,
                )
            )
        return stored

    def _parse_start(
        self, stored: Sequence[NewMessage], raws: Sequence[bytes | None]
    ) -> Callable[[], list[ParsedMail | None]]:
        """Start parsing the stored e-mails of a batch; the answer has None for a refusal."""
        readable = [at for at, message in enumerate(stored) if message.refusal is None]
        executor = self._executor_for(len(readable))
        # The pool's workers read the stored e-mails: their bytes need not cross a pipe.
        sources = [stored[at].raw_name if executor else raws[at] for at in readable]
        parsing = parse_start(sources, executor=executor, limits=self.limits)

        def aligned() -> list[ParsedMail | None]:
            answers: list[ParsedMail | None] = [None] * len(stored)
            for at, result in zip(readable, parsing(), strict=True):
                answers[at] = result
            return answers

        return aligned

    def _record(
        self,
        stored: Sequence[NewMessage],
        parsed: Sequence[ParsedMail | None],
        cursor: tuple[FolderState, int] | None = None,
    ) -> list[IncomingMessage]:
        """Commit a batch's rows, decided, with its documents and the folder's UID cursor."""
        with transaction.atomic():
            messages = messages_record(self.mailbox, stored, parsed)
            if cursor is not None:
                state, last_uid = cursor
                state.last_uid = max(state.last_uid, last_uid)
                state.save(update_fields=["uidvalidity", "last_uid", "updated_at"])
        self.summary.seen += len(messages)
        self.summary.count(messages)
        if self.summary.seen >= self.analyze_at:
            tables_analyze(IncomingMessage, ReceivedDocument)
            self.analyze_at *= 4
        return messages

    def _decide_leftovers(self, rows: Iterable[IncomingMessage]) -> None:
        """Rows recorded but not decided (by an earlier version's interrupted run, or set back
        for a reprocess): decide them from storage."""
        recorded = []
        for row in rows:
            if row.outcome == MessageOutcome.PENDING and row.raw:
                with row.raw.open("rb") as handle:
                    recorded.append(RecordedMessage(row, handle.read()))
        if recorded:
            decided = messages_process(
                self.mailbox,
                recorded,
                executor=self._executor_for(len(recorded)),
                limits=self.limits,
            )
            self.summary.count(decided)

    # --- IMAP ------------------------------------------------------------------------------

    def _imap(self, session: ImapSession) -> None:
        selected = session.select_folder(INBOX)
        state, _created = FolderState.objects.get_or_create(
            mailbox=self.mailbox, folder=INBOX, defaults={"uidvalidity": selected.uidvalidity}
        )
        if state.uidvalidity != selected.uidvalidity:
            # The server renumbered the folder: start over; stored hashes avoid re-importing.
            state.uidvalidity = selected.uidvalidity
            state.last_uid = 0
            state.renumbered = True
            state.save(update_fields=["uidvalidity", "last_uid", "renumbered", "updated_at"])
        leftovers = list(
            IncomingMessage.objects.filter(
                mailbox=self.mailbox,
                folder=INBOX,
                uidvalidity=state.uidvalidity,
                server_state=ServerState.ON_SERVER,
            )
        )
        if leftovers:
            self._decide_leftovers(leftovers)
            self._imap_move(session, [row.pk for row in leftovers])
        if selected.uidnext is not None and selected.uidnext <= state.last_uid + 1:
            return  # nothing new: an idle poll ends here
        new_uids = session.uids_after(state.last_uid)
        uids = new_uids[: self.max_messages]
        # One batch in flight: while its parse runs in the pool, the next batch is downloaded
        # and stored here. Each batch is still stored, then recorded decided, then moved; the
        # moves go MOVE_EVERY messages at a time.
        in_flight: _Started | None = None
        decided: list[int] = []
        # A None after the last batch records the one still in flight and moves what is left.
        for batch in itertools.chain(self._imap_batches(session, uids), [None]):
            started = self._imap_start(state, batch) if batch is not None else None
            if in_flight is not None:
                self._record(in_flight.stored, in_flight.parsing(), (state, in_flight.last_uid))
                decided += in_flight.uids
            if decided and (started is None or len(decided) >= MOVE_EVERY):
                self._imap_move(session, None, uidvalidity=state.uidvalidity, uids=decided)
                decided = []
            in_flight = started
            self.lock.renew()
        if state.renumbered and len(uids) == len(new_uids):
            # Every message of the renumbered folder has been seen: none has an old row left.
            state.renumbered = False
            state.save(update_fields=["renumbered", "updated_at"])

    def _imap_batches(self, session: ImapSession, uids: list[int]) -> Iterator[list]:
        batch = []
        for fetched in session.fetch(
            uids, max_size=self.max_size, batch_size=self.batch_size, batch_bytes=64 * 2**20
        ):
            batch.append(fetched)
            if len(batch) >= self.batch_size:
                yield batch
                batch = []
        if batch:
            yield batch

    def _imap_start(self, state: FolderState, batch: list) -> _Started:
        """Store the batch's bytes, then start its parse; its rows are written once decided."""
        items = [
            _Item(
                server_key=f"imap:{INBOX}:{state.uidvalidity}:{fetched.uid}",
                raw=fetched.raw,
                size=fetched.size,
                sha256=hashlib.sha256(fetched.raw).hexdigest() if fetched.raw is not None else "",
                folder=INBOX,
                uidvalidity=state.uidvalidity,
                uid=fetched.uid,
            )
            for fetched in batch
        ]
        if state.renumbered:
            items = self._adopt_renumbered(items, state)
        stored = self._store(items)
        parsing = self._parse_start(stored, [item.raw for item in items])
        uids = [fetched.uid for fetched in batch]
        return _Started(stored, parsing, uids, max(uids))

    def _adopt_renumbered(self, items: list, state: FolderState) -> list:
        """After a UIDVALIDITY change, a message already recorded under its old number keeps its
        row (and its decision): the row takes the new number instead of a new row being made."""
        hashes = {item.sha256: item for item in items if item.raw is not None}
        known = {
            row.sha256: row
            for row in IncomingMessage.objects.filter(
                mailbox=self.mailbox, folder=INBOX, sha256__in=list(hashes)
            ).exclude(uidvalidity=state.uidvalidity)
        }
        if not known:
            return items
        adopted_keys = set()
        for digest, row in known.items():
            item = hashes[digest]
            key = item.server_key
            row.server_key, row.uidvalidity, row.uid = key, item.uidvalidity, item.uid
            row.server_state = ServerState.ON_SERVER
            adopted_keys.add(key)
        IncomingMessage.objects.bulk_update(
            list(known.values()), ["server_key", "uidvalidity", "uid", "server_state"]
        )
        return [item for item in items if item.server_key not in adopted_keys]

    def _imap_move(
        self,
        session: ImapSession,
        row_ids: list[int] | None,
        *,
        uidvalidity: int | None = None,
        uids: list[int] | None = None,
    ) -> None:
        """Move decided rows still in INBOX to their folders, one command per folder."""
        rows = IncomingMessage.objects.filter(
            mailbox=self.mailbox, folder=INBOX, server_state=ServerState.ON_SERVER
        ).exclude(outcome=MessageOutcome.PENDING)
        if row_ids is not None:
            rows = rows.filter(pk__in=row_ids)
        else:
            rows = rows.filter(uidvalidity=uidvalidity, uid__in=uids)
        by_folder: dict[str, list[tuple[int, int]]] = {}
        for pk, uid, outcome in rows.values_list("pk", "uid", "outcome"):
            by_folder.setdefault(FOLDER_BY_OUTCOME[outcome], []).append((pk, uid))
        if by_folder and not self.folders_ensured:
            # Once per run, and only when something moves: an idle poll costs no LIST, and a
            # folder someone deleted is back before the first MOVE needs it.
            session.ensure_folders()
            self.folders_ensured = True
        for folder, entries in by_folder.items():
            session.move([uid for _pk, uid in entries], folder)
        # One UPDATE (one commit) for the batch's folders. Stopped before it, the rows stay
        # ON_SERVER and the next run moves them again: a MOVE of UIDs already gone is a no-op.
        moved = [pk for entries in by_folder.values() for pk, _uid in entries]
        if moved:
            IncomingMessage.objects.filter(pk__in=moved).update(server_state=ServerState.MOVED)
            self.summary.moved += len(moved)

    # --- POP3 ------------------------------------------------------------------------------

    def _pop3(self, session: Pop3Session) -> list[int]:
        """Record and decide new messages; back up and delete what may go. Returns the rows
        whose deletion the closing QUIT commits."""
        listing = {f"pop3:{message.uid}": message for message in session.messages()}
        known: dict[str, IncomingMessage] = {}
        keys = list(listing)
        for start in range(0, len(keys), KEYS_PER_QUERY):
            for row in IncomingMessage.objects.filter(
                mailbox=self.mailbox, server_key__in=keys[start : start + KEYS_PER_QUERY]
            ):
                known[row.server_key] = row
        self._decide_leftovers(known.values())
        self._reconcile_deleted(listing)
        new = [message for key, message in listing.items() if key not in known]
        new = new[: self.max_messages]
        for start in range(0, len(new), self.batch_size):
            items = []
            for message in new[start : start + self.batch_size]:
                raw = session.retrieve(message.number) if message.size <= self.max_size else None
                items.append(_Item(f"pop3:{message.uid}", raw, message.size))
            stored = self._store(items)
            self._record(stored, self._parse_start(stored, [item.raw for item in items])())
            self.lock.renew()
        self._back_up(listing)
        return self._delete(session, listing)

    def _reconcile_deleted(self, listing: dict) -> None:
        """Backed-up rows gone from the server were deleted by an earlier run's QUIT."""
        IncomingMessage.objects.filter(
            mailbox=self.mailbox, server_state=ServerState.BACKED_UP
        ).exclude(server_key__in=list(listing)).update(server_state=ServerState.DELETED)

    def _back_up(self, listing: dict) -> None:
        """Send each decided message, unchanged, to the confirmed backup address."""
        mailbox = self.mailbox
        if not (mailbox.backup_email and mailbox.backup_confirmed_at):
            return
        rows = IncomingMessage.objects.filter(
            mailbox=mailbox,
            server_state=ServerState.ON_SERVER,
            server_key__in=list(listing),
        ).exclude(outcome=MessageOutcome.PENDING)
        for row in rows.exclude(raw=""):
            message_backup(row, mailbox.backup_email)
            IncomingMessage.objects.filter(pk=row.pk).update(server_state=ServerState.BACKED_UP)
            self.summary.backed_up += 1

    def _delete(self, session: Pop3Session, listing: dict) -> list[int]:
        """DELE what was recorded and backed up, only while the mailbox is Activo."""
        self.mailbox.refresh_from_db(fields=["status", "backup_confirmed_at"])
        if self.mailbox.status != MailboxStatus.ACTIVE or not self.mailbox.backup_confirmed_at:
            return []
        rows = IncomingMessage.objects.filter(
            mailbox=self.mailbox,
            server_state__in=[ServerState.BACKED_UP, ServerState.DELETED],
            server_key__in=list(listing),
        ).values_list("pk", "server_key")
        deleted = []
        for pk, key in rows:
            session.delete(listing[key].number)
            deleted.append(pk)
        return deleted


def message_backup(message: IncomingMessage, address: str) -> None:
    """Mail a copy of the original message, attached byte for byte, to the backup address."""
    with message.raw.open("rb") as handle:
        raw = handle.read()
    email = EmailMessage(
        subject=_("[Respaldo Recepción FE] %(subject)s") % {"subject": message.subject[:150]},
        body=_(
            "Copia de respaldo del correo recibido en %(mailbox)s.\n"
            "Remitente: %(sender)s\nFecha: %(date)s\nMessage-ID: %(message_id)s\n\n"
            "El correo original va adjunto sin cambios."
        )
        % {
            "mailbox": message.mailbox.username,
            "sender": message.sender,
            "date": message.sent_at or "",
            "message_id": message.message_id,
        },
        to=[address],
    )
    email.attach(f"original-{message.sha256[:12]}.eml", raw, "application/octet-stream")
    email.send()
