"""A fetch stopped at every step boundary loses nothing and records nothing twice.

The kill trials in test_crash_safety.py sample moments at random; here each step of a run
(store the bytes, insert the decided ledger rows, write their documents, move the UID cursor,
move on the server, back up, delete) is stopped deterministically, before and after it, on its
first and on a later batch. The stop is a BaseException, so no handler of the fetch can swallow
it, as with a kill.
After the stop a normal run must finish the work: every e-mail recorded exactly once, every
document registered once, and over POP3 nothing deleted that was not recorded and backed up.
"""

from __future__ import annotations

import email
import os
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

import pytest
from django.core import mail

from invoices.models import ReceivedDocument
from reception import fetching, processing
from reception.fetching import mailbox_fetch
from reception.models import FolderState, IncomingMessage, MailboxStatus, ServerState
from reception.services import backup_confirm_manually
from reception.transports.imap import ImapSession
from reception.transports.pop3 import Pop3Session
from tests.factories.dian import build_mail, make_email

pytestmark = pytest.mark.django_db

#: Five DIAN e-mails (one of them twice) and one that is not: three batches of two.
BATCH_SIZE = 2


class Stopped(BaseException):
    """The process died here."""


def corpus() -> tuple[list[bytes], set[str]]:
    built = [build_mail(seed=seed, number=f"FE{seed}") for seed in range(1, 5)]
    raws = [b.raw for b in built]
    raws.append(built[0].raw.replace(b"Message-ID: <", b"Message-ID: <copia-", 1))
    raws.append(make_email(subject="Boletín", attachments=[], message_id="<boletin@x.test>"))
    return raws, {b.cufe for b in built}


def message_id(raw: bytes) -> str:
    return email.message_from_bytes(raw)["Message-ID"]


def stop_at(
    monkeypatch: pytest.MonkeyPatch, owner: Any, name: str, *, call: int, after: bool
) -> Callable[[], int]:
    """Replace owner.name so its `call`-th call stops the run, before or after doing its work."""
    original = getattr(owner, name)
    calls = 0

    def stopping(*args: Any, **kwargs: Any) -> Any:
        nonlocal calls
        calls += 1
        if calls == call and not after:
            raise Stopped(name)
        result = original(*args, **kwargs)
        if calls == call:
            raise Stopped(name)
        return result

    monkeypatch.setattr(owner, name, stopping)
    return lambda: calls


#: (owner, attribute) of each step; the owner is looked up late, when the test runs.
IMAP_STEPS = {
    "store": (lambda: fetching, "content_save"),
    "rows": (lambda: processing, "values_insert_loaded"),
    "documents": (lambda: processing, "documents_write"),
    "cursor": (lambda: FolderState, "save"),
    "move": (lambda: ImapSession, "move"),
}
POP3_STEPS = {
    "store": (lambda: fetching, "content_save"),
    "rows": (lambda: processing, "values_insert_loaded"),
    "documents": (lambda: processing, "documents_write"),
    "backup": (lambda: fetching, "message_backup"),
    "delete": (lambda: Pop3Session, "delete"),
}


def cases(steps: dict) -> list:
    return [
        pytest.param(step, call, after, id=f"{step}-call{call}-{'after' if after else 'before'}")
        for step in steps
        for call in (1, 2)
        for after in (False, True)
    ]


@pytest.fixture
def small_batches(settings):
    settings.RECEPTION_FETCH_BATCH_SIZE = BATCH_SIZE
    settings.RECEPTION_PARSE_PROCESSES = 1


def assert_exactly_once(mailbox, raws: list[bytes], cufes: set[str], context: str) -> None:
    rows = IncomingMessage.objects.filter(mailbox=mailbox)
    ids = sorted(rows.values_list("message_id", flat=True))
    assert ids == sorted(message_id(raw) for raw in raws), context
    assert set(ReceivedDocument.objects.values_list("cufe", flat=True)) == cufes, context
    assert ReceivedDocument.objects.count() == len(cufes), context
    assert not rows.filter(outcome="pending").exists(), context


@pytest.mark.parametrize(("step", "call", "after"), cases(IMAP_STEPS))
def test_imap_run_stopped_at_any_step_is_finished_by_the_next(
    configure_live_mailbox, dovecot, small_batches, monkeypatch, step, call, after
):
    raws, cufes = corpus()
    mailbox = configure_live_mailbox("imap")
    dovecot.deliver_many(mailbox.username, raws)
    owner, name = IMAP_STEPS[step]
    calls = stop_at(monkeypatch, owner(), name, call=call, after=after)
    context = f"stopped {'after' if after else 'before'} call {call} of {step}"

    with pytest.raises(Stopped):
        mailbox_fetch(mailbox, trigger="test")
    assert calls() == call, context
    monkeypatch.undo()
    mailbox_fetch(mailbox, trigger="test")

    assert_exactly_once(mailbox, raws, cufes, context)
    assert dovecot.message_count(mailbox.username, "INBOX") == 0, context
    assert set(IncomingMessage.objects.values_list("server_state", flat=True)) == {
        ServerState.MOVED
    }, context


def imap_run_stopped(
    configure_live_mailbox, dovecot, monkeypatch, step: str, *, call: int, after: bool
) -> tuple[Any, list[bytes]]:
    """The corpus delivered to a new IMAP mailbox, and a run stopped at one of IMAP_STEPS."""
    raws, _cufes = corpus()
    mailbox = configure_live_mailbox("imap")
    dovecot.deliver_many(mailbox.username, raws)
    owner, name = IMAP_STEPS[step]
    stop_at(monkeypatch, owner(), name, call=call, after=after)
    with pytest.raises(Stopped):
        mailbox_fetch(mailbox, trigger="test")
    return mailbox, raws


def test_the_cursor_never_passes_rows_that_were_not_committed(
    configure_live_mailbox, dovecot, small_batches, monkeypatch
):
    """Stopped while the second batch's rows are being written: the cursor stays behind them."""
    mailbox, _raws = imap_run_stopped(
        configure_live_mailbox, dovecot, monkeypatch, "rows", call=2, after=True
    )

    recorded_uids = set(IncomingMessage.objects.values_list("uid", flat=True))
    cursor = FolderState.objects.get(mailbox=mailbox).last_uid
    assert recorded_uids == set(range(1, BATCH_SIZE + 1))
    assert cursor == max(recorded_uids)


def test_a_batch_stopped_before_its_commit_is_stored_but_left_on_the_server(
    configure_live_mailbox, dovecot, small_batches, monkeypatch, private_storage_root
):
    """Stopped writing the first batch's documents, after its rows: the transaction takes the
    rows back, so the ledger holds no row that is not decided. The e-mails are still in INBOX
    below no cursor, and their bytes already stored, under the name a new fetch gives them."""
    mailbox, raws = imap_run_stopped(
        configure_live_mailbox, dovecot, monkeypatch, "documents", call=1, after=True
    )

    assert not IncomingMessage.objects.filter(mailbox=mailbox).exists()
    assert not ReceivedDocument.objects.exists()
    assert FolderState.objects.get(mailbox=mailbox).last_uid == 0
    assert dovecot.message_count(mailbox.username, "INBOX") == len(raws)
    # The first batch, and the next one started meanwhile.
    stored = [name for _, _, names in os.walk(private_storage_root / "mail") for name in names]
    assert len(stored) == 2 * BATCH_SIZE


def test_rows_an_earlier_version_left_undecided_are_decided_then_moved(
    configure_live_mailbox, dovecot, small_batches, monkeypatch
):
    """Runs used to commit a batch's rows before deciding them; a run stopped between the two
    left rows pending, which the next run decides from their stored bytes."""
    raws, cufes = corpus()
    mailbox, _raws = imap_run_stopped(
        configure_live_mailbox, dovecot, monkeypatch, "move", call=1, after=False
    )
    monkeypatch.undo()
    rows = IncomingMessage.objects.filter(mailbox=mailbox)
    assert rows.count() == len(raws)
    ReceivedDocument.objects.all().delete()
    rows.update(outcome="pending", reason_code="", reason="", processed_at=None, attempts=0)

    summary = mailbox_fetch(mailbox, trigger="test")

    assert (summary.seen, summary.documents, summary.duplicates, summary.not_dian) == (0, 4, 1, 1)
    assert_exactly_once(mailbox, raws, cufes, "after the undecided rows")
    assert set(rows.values_list("attempts", flat=True)) == {1}
    assert dovecot.message_count(mailbox.username, "INBOX") == 0


def server_ids(dovecot, mailbox) -> set[str]:
    return {
        message_id(path.read_bytes()) for path in dovecot.message_files(mailbox.username, "INBOX")
    }


def backed_up_ids() -> set[str]:
    ids = set()
    for sent in mail.outbox:
        if not sent.subject.startswith("[Respaldo Recepción FE]"):
            continue
        for _name, content, _mimetype in sent.attachments:
            ids.add(message_id(content))
    return ids


@pytest.fixture
def active_pop3(configure_live_mailbox, sofia):
    mailbox = configure_live_mailbox("pop3")
    backup_confirm_manually(mailbox, actor=sofia)
    mailbox.refresh_from_db()
    assert mailbox.status == MailboxStatus.ACTIVE
    return mailbox


@pytest.mark.parametrize(("step", "call", "after"), cases(POP3_STEPS))
def test_pop3_run_stopped_at_any_step_never_deletes_what_was_not_kept(
    active_pop3, dovecot, small_batches, monkeypatch, step, call, after
):
    raws, cufes = corpus()
    mailbox = active_pop3
    dovecot.deliver_many(mailbox.username, raws)
    all_ids = {message_id(raw) for raw in raws}
    owner, name = POP3_STEPS[step]
    stop_at(monkeypatch, owner(), name, call=call, after=after)
    context = f"stopped {'after' if after else 'before'} call {call} of {step}"

    with pytest.raises(Stopped):
        mailbox_fetch(mailbox, trigger="test")
    deleted = all_ids - server_ids(dovecot, mailbox)
    recorded = set(IncomingMessage.objects.values_list("message_id", flat=True))
    assert deleted <= backed_up_ids(), context
    assert deleted <= recorded, context
    monkeypatch.undo()
    mailbox_fetch(mailbox, trigger="test")

    assert_exactly_once(mailbox, raws, cufes, context)
    assert dovecot.message_count(mailbox.username, "INBOX") == 0, context
    assert backed_up_ids() == all_ids, context
    assert set(IncomingMessage.objects.values_list("server_state", flat=True)) == {
        ServerState.DELETED
    }, context


def test_pop3_run_stopped_after_its_quit_is_told_by_the_next_what_the_server_deleted(
    active_pop3, dovecot, small_batches, monkeypatch
):
    """QUIT deleted the mail, and the run died before writing so: the ledger says backed up,
    and the next run, finding the mail gone, records it deleted without a second backup."""
    raws, cufes = corpus()
    dovecot.deliver_many(active_pop3.username, raws)
    opened = fetching.open_mailbox

    @contextmanager
    def dying_after_quit(*args: Any, **kwargs: Any) -> Iterator[Any]:
        with opened(*args, **kwargs) as session:
            yield session
        raise Stopped("after QUIT")

    monkeypatch.setattr(fetching, "open_mailbox", dying_after_quit)
    with pytest.raises(Stopped):
        mailbox_fetch(active_pop3, trigger="test")
    monkeypatch.undo()
    rows = IncomingMessage.objects.filter(mailbox=active_pop3)
    assert dovecot.message_count(active_pop3.username, "INBOX") == 0
    assert set(rows.values_list("server_state", flat=True)) == {ServerState.BACKED_UP}
    sent = len(mail.outbox)

    summary = mailbox_fetch(active_pop3, trigger="test")

    assert (summary.seen, summary.backed_up, summary.deleted) == (0, 0, 0)
    assert len(mail.outbox) == sent
    assert set(rows.values_list("server_state", flat=True)) == {ServerState.DELETED}
    assert_exactly_once(active_pop3, raws, cufes, "after QUIT")


def test_a_run_of_several_batches_counts_every_message_it_saw(
    configure_live_mailbox, dovecot, small_batches
):
    raws, _cufes = corpus()
    mailbox = configure_live_mailbox("imap")
    dovecot.deliver_many(mailbox.username, raws)

    summary = mailbox_fetch(mailbox, trigger="test")

    assert (summary.seen, summary.documents, summary.duplicates, summary.not_dian) == (6, 4, 1, 1)


def test_pop3_never_deletes_a_message_too_large_to_download(active_pop3, dovecot, settings, sofia):
    """Recorded as too large, never backed up: it must stay on the server for a person, who
    reads how large it is against the limit."""
    small, cufe = build_mail(seed=1).raw, build_mail(seed=1).cufe
    settings.RECEPTION_MAX_MESSAGE_BYTES = 2**20
    large = build_mail(seed=2, number="FE2").raw
    large = large + b"\r\n" + b"x" * (3 * 2**19 - len(large) - 2)  # 1.5 MB
    dovecot.deliver_many(active_pop3.username, [small, large])

    mailbox_fetch(active_pop3, trigger="test")
    mailbox_fetch(active_pop3, trigger="test")

    assert server_ids(dovecot, active_pop3) == {message_id(large)}
    too_large = IncomingMessage.objects.get(message_id="")
    assert too_large.reason_code == "too_large"
    assert too_large.reason == "El correo pesa 1.5 MB; el máximo configurado es 1 MB"
    assert too_large.size == pytest.approx(len(large), abs=8)  # as the server counts it
    assert too_large.processed_at is not None  # decided, not waiting for a decision
    assert too_large.server_state == ServerState.ON_SERVER
    assert set(ReceivedDocument.objects.values_list("cufe", flat=True)) == {cufe}
