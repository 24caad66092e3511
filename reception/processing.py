"""A stored e-mail → parsed → an outcome on the ledger, registered by invoices' service.

The fetch hands over a batch of e-mails whose bytes are stored, with their parse. One
transaction per batch writes their ledger rows already decided and the documents they bring
(`messages_record`), so a crash leaves the whole batch on the ledger, decided, or none of it
(and the e-mails still on the server for the next run). Rows recorded undecided (by a run of an
earlier version, or set back for a reprocess) are decided by `messages_process`. The parse pool
lives here too: parsing, not the network, is a fetch's cost.
"""

from __future__ import annotations

import contextlib
import ctypes
import dataclasses
import gc
import multiprocessing
import os
import signal
import sys
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from multiprocessing.connection import Connection

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from config.rows import rows_update, values_insert_loaded
from config.storage import private_storage
from invoices.dian import DEFAULT_LIMITS, Limits, ParsedMail, parse_message
from invoices.services import (
    DocumentItem,
    Registration,
    documents_plan,
    documents_register,
    documents_write,
)
from reception.models import IncomingMessage, MessageOutcome, ReceptionMailbox, ServerState

_PR_SET_PDEATHSIG = 1


@dataclass(frozen=True)
class NewMessage:
    """An e-mail not yet on the ledger: what the server said of it and where its bytes are.

    `refusal` (code, reason) for one decided without being read (too large to download)."""

    server_key: str
    folder: str
    uidvalidity: int | None
    uid: int | None
    size: int
    sha256: str
    raw_name: str
    refusal: tuple[str, str] | None = None


@dataclass(frozen=True)
class RecordedMessage:
    """A ledger row and the bytes it was recorded with (kept in memory to parse once)."""

    message: IncomingMessage
    raw: bytes


#: Below this many messages a process pool costs more than it saves.
POOL_MIN_MESSAGES = 8


#: An e-mail to parse: its bytes, or the name of the stored e-mail in the private storage.
Source = bytes | str


def parse_many(sources: Sequence[Source], *, executor: ParsePool | None, limits: Limits) -> list:
    """Parse on the pool's processes when given; parsing, not the network, is the cost."""
    return parse_start(sources, executor=executor, limits=limits)()


def parse_start(
    sources: Sequence[Source], *, executor: ParsePool | None, limits: Limits
) -> Callable[[], list[ParsedMail]]:
    """Start parsing a batch; the returned callable waits for the results, in order.

    With a pool the batch goes to its processes at once, so the caller can go on (finish the
    previous batch, download the next) meanwhile; without one it is parsed when the results are
    asked for. Give the pool stored e-mails' names: each worker reads its own files, instead of
    ~60 KB per message going through a pipe from the fetching process.
    """
    if executor is None or len(sources) < POOL_MIN_MESSAGES:
        return lambda: [_parse_for_registration(source, limits) for source in sources]
    return executor.submit(sources, limits)


def _parse_for_registration(source: Source, limits: Limits) -> ParsedMail:
    """The result without the files' bytes, which registration does not use (invoices takes
    them from the stored e-mail on first download): sending ~60 KB per message back from a
    parse worker cost the fetching process its unpickling for nothing."""
    if isinstance(source, str):
        with private_storage.open(source, "rb") as handle:
            source = handle.read()
    return dataclasses.replace(
        parse_message(source, limits=limits), xml=None, document_xml=None, pdf=None
    )


class ParsePool:
    """Parse processes fed and read by the calling thread alone.

    concurrent.futures' pool runs two threads in the fetching process (feeding the workers,
    collecting their answers) that compete for the GIL with the thread recording the ledger;
    here each worker has a pipe, a batch is split into one contiguous slice per worker and the
    answers are read when asked for. One batch at a time is in the workers: submitting the next
    collects the previous one's answers first, so neither side can block the other on a full
    pipe.
    """

    def __init__(self, processes: int) -> None:
        context = multiprocessing.get_context("fork")
        self._workers: list[tuple[multiprocessing.Process, Connection]] = []
        # The workers share the fetching process's memory until they write to it; a collection
        # in a worker would touch every inherited object (and copy its page) unless frozen.
        gc.freeze()
        try:
            for _ in range(processes):
                mine, theirs = context.Pipe()
                worker = context.Process(target=_serve, args=(theirs, os.getpid()), daemon=True)
                worker.start()
                theirs.close()
                self._workers.append((worker, mine))
        finally:
            gc.unfreeze()
        self._pending: _Batch | None = None

    def submit(self, sources: Sequence[Source], limits: Limits) -> Callable[[], list[ParsedMail]]:
        self._collect()
        size = -(-len(sources) // len(self._workers))  # ceiling: contiguous slices keep the order
        pipes = []
        for index, (_worker, pipe) in enumerate(self._workers):
            part = list(sources[index * size : (index + 1) * size])
            if part:
                pipe.send((part, limits))
                pipes.append(pipe)
        self._pending = batch = _Batch(self, pipes)
        return batch

    def _collect(self) -> None:
        """Read the answers of the batch in the workers, if any (kept until asked for)."""
        batch, self._pending = self._pending, None
        if batch is not None:
            batch.answers = [parsed for pipe in batch.pipes for parsed in pipe.recv()]

    def close(self) -> None:
        """Stop the workers; also on the way out of a failed fetch, so nothing here may raise."""
        with contextlib.suppress(EOFError, OSError):
            self._collect()  # a worker blocked sending its answer would never read the stop
        for _worker, pipe in self._workers:
            with contextlib.suppress(OSError):
                pipe.send(None)
            pipe.close()
        for worker, _pipe in self._workers:
            worker.join(timeout=5)
            if worker.is_alive():
                worker.kill()
                worker.join()

    def __enter__(self) -> ParsePool:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()


class _Batch:
    """A submitted batch; calling it waits for its answers, in order."""

    def __init__(self, pool: ParsePool, pipes: list[Connection]) -> None:
        self.pool, self.pipes = pool, pipes
        self.answers: list[ParsedMail] | None = None

    def __call__(self) -> list[ParsedMail]:
        if self.answers is None:
            self.pool._collect()
        assert self.answers is not None
        return self.answers


def _serve(pipe: Connection, parent_pid: int) -> None:
    """A parse worker: slices in, answers out, until told to stop."""
    _end_with_parent(parent_pid)
    while (request := pipe.recv()) is not None:
        sources, limits = request
        pipe.send([_parse_for_registration(source, limits) for source in sources])


def parse_pool(processes: int) -> ParsePool:
    """A pool of parse processes that end with the fetch that started them.

    A fetch killed outright (SIGKILL, the OOM killer) would otherwise leave its idle workers
    behind for good, holding the killed command's output pipes open.
    """
    return ParsePool(processes)


def _end_with_parent(parent_pid: int) -> None:
    if sys.platform == "linux":
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(_PR_SET_PDEATHSIG, signal.SIGKILL)
    else:  # no parent-death signal: watch for being re-parented
        threading.Thread(target=_watch_parent, args=(parent_pid,), daemon=True).start()
    if os.getppid() != parent_pid:  # the parent died before the signal was armed
        os._exit(1)


def _watch_parent(parent_pid: int) -> None:
    while os.getppid() == parent_pid:
        time.sleep(1)
    os._exit(1)


def messages_process(
    mailbox: ReceptionMailbox,
    recorded: Sequence[RecordedMessage],
    *,
    executor: ParsePool | None = None,
    limits: Limits = DEFAULT_LIMITS,
    parsed: Sequence[ParsedMail] | None = None,
) -> list[IncomingMessage]:
    """Decide every recorded message of the batch and register its document, exactly once.

    `parsed` are the batch's results when the caller started the parse earlier (parse_start).
    """
    if not recorded:
        return []
    if parsed is None:
        parsed = parse_many([item.raw for item in recorded], executor=executor, limits=limits)
    with transaction.atomic():
        ids = [item.message.pk for item in recorded]
        # Lock the rows: a concurrent re-process of the same message waits, then sees it decided.
        # Only what the decision needs is read back; the recorded row objects are updated. The
        # rows are found by key alone: the outcome's index holds an entry for every row decided
        # since the last vacuum, and on a ledger without statistics it looked selective.
        fresh = {
            pk: attempts
            for pk, attempts, outcome in IncomingMessage.objects.select_for_update()
            .filter(pk__in=ids)
            .values_list("pk", "attempts", "outcome")
            if outcome == MessageOutcome.PENDING
        }
        pending: list[tuple[IncomingMessage, ParsedMail]] = []
        for item, result in zip(recorded, parsed, strict=True):
            message = item.message
            if message.pk in fresh:
                message.attempts = fresh.pop(message.pk)
                pending.append((message, result))
        registrations = documents_register(
            organization=mailbox.organization,
            items=[
                DocumentItem(
                    parsed=result, mailbox_id=message.mailbox_id, source_message_id=message.pk
                )
                for message, result in pending
            ],
        )
        now = timezone.now()
        decided: list[IncomingMessage] = []
        for (message, result), registration in zip(pending, registrations, strict=True):
            values = _decision(registration, result, now, attempts=message.attempts + 1)
            for name, value in zip(_DECISION_FIELDS, values, strict=True):
                setattr(message, name, value)
            decided.append(message)
        rows_update(IncomingMessage, _DECISION_FIELDS, decided)
    return decided


def messages_record(
    mailbox: ReceptionMailbox, new: Sequence[NewMessage], parsed: Sequence[ParsedMail | None]
) -> list[IncomingMessage]:
    """Write a batch of stored e-mails to the ledger, each already decided, and the documents
    they bring: within the caller's transaction, or as one of its own.

    `parsed` holds one result per e-mail, None for one with a `refusal`. Each row is written
    once, with its decision: no second statement, no second transaction per batch.
    """
    if not new:
        return []
    now = timezone.now()
    read = [(position, result) for position, result in enumerate(parsed) if result is not None]
    with transaction.atomic(savepoint=False):
        plan = documents_plan(
            organization=mailbox.organization,
            items=[DocumentItem(parsed=result, mailbox_id=mailbox.pk) for _at, result in read],
        )
        decisions: list[tuple | None] = [None] * len(new)
        for (position, result), registration in zip(read, plan.registrations, strict=True):
            decisions[position] = _decision(registration, result, now, attempts=1)
        rows = []
        for message, decision in zip(new, decisions, strict=True):
            if decision is None:
                assert message.refusal is not None
                decision = (MessageOutcome.ERROR, *message.refusal, now, 0, "", "", "", None)
            rows.append(
                (mailbox.pk, message.server_key, message.folder, message.uidvalidity, message.uid,
                 message.size, message.sha256, message.raw_name, ServerState.ON_SERVER, now,
                 *decision)
            )  # fmt: skip
        messages = values_insert_loaded(
            IncomingMessage, LEDGER_COLUMNS, rows, key="server_key", scope={"mailbox": mailbox}
        )
        documents_write(plan, source_message_ids=[messages[position].pk for position, _ in read])
    return messages


def configured_limits() -> Limits:
    """The parser's limits with the configured maximum message size (fetch and reprocess)."""
    return Limits(max_message_bytes=settings.RECEPTION_MAX_MESSAGE_BYTES)


def message_reprocess(message: IncomingMessage) -> IncomingMessage:
    """Decide a recorded message again from its stored original (after a fix or a new NIT).

    A message whose document still exists keeps it; anything else (including a message whose
    document was deleted) is decided anew.
    """
    with transaction.atomic():
        message = IncomingMessage.objects.select_for_update().get(pk=message.pk)
        keeps_document = message.outcome == MessageOutcome.DOCUMENT and message.documents.exists()
        if keeps_document or not message.raw:
            return message
        message.outcome = MessageOutcome.PENDING
        message.save(update_fields=["outcome"])
    with message.raw.open("rb") as handle:
        raw = handle.read()
    mailbox = ReceptionMailbox.objects.select_related("organization").get(pk=message.mailbox_id)
    messages_process(mailbox, [RecordedMessage(message, raw)], limits=configured_limits())
    message.refresh_from_db()
    return message


def _decision(
    registration: Registration, result: ParsedMail, now: datetime, *, attempts: int
) -> tuple:
    """What deciding an e-mail writes on its row, in _DECISION_FIELDS' order."""
    envelope = result.envelope
    return (
        MessageOutcome(registration.outcome),
        registration.code,
        registration.reason,
        now,
        attempts,
        (envelope.message_id or "")[:998],
        (envelope.from_header or "")[:998],
        envelope.subject or "",
        envelope.date,
    )


#: What deciding an e-mail writes on its row.
_DECISION_FIELDS = (
    "outcome",
    "reason_code",
    "reason",
    "processed_at",
    "attempts",
    "message_id",
    "sender",
    "subject",
    "sent_at",
)

#: A new row's every field, as `messages_record` writes them: the server's, then the decision's.
LEDGER_COLUMNS = (
    "mailbox_id",
    "server_key",
    "folder",
    "uidvalidity",
    "uid",
    "size",
    "sha256",
    "raw",
    "server_state",
    "received_at",
    *_DECISION_FIELDS,
)
