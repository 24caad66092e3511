"""Crash trials: a real `mailbox_fetch` process is SIGKILLed at a random moment of a fetch of a
few hundred messages, then run to completion. Nothing may be lost or recorded twice.

The kill moment is drawn from a seeded generator (printed on failure) within the duration of an
uninterrupted fetch measured first; waiting for that moment is the point of the test, not a way
to synchronise with anything.
"""

import os
import random
import signal
import subprocess
import time
from email import message_from_bytes
from pathlib import Path

import pytest

from invoices.models import ReceivedDocument
from reception.models import FolderState, IncomingMessage, MailboxStatus, ServerState
from reception.services import backup_confirm_manually
from reception.transports.imap import FOLDER_ERRORS, FOLDER_NOT_ELECTRONIC, FOLDER_PROCESSED
from tests.factories.dian import build_mail, make_email
from tests.reception.conftest import manage

pytestmark = [pytest.mark.slow, pytest.mark.django_db(transaction=True)]

MESSAGES = 200
SEED = int(os.environ.get("CRASH_TRIAL_SEED", "20261128"))


def corpus() -> tuple[list[bytes], set[str]]:
    """180 invoices, 10 resent with a new Message-ID (duplicates), 10 that are not DIAN mail."""
    mails, cufes = [], set()
    for n in range(180):
        built = build_mail(seed=n, number=f"FC{n:05d}", pdf_size=4000)
        mails.append(built.raw)
        cufes.add(built.cufe)
    for n in range(10):
        mails.append(
            build_mail(seed=n, number=f"FC{n:05d}", pdf_size=4000, message_id=f"<again{n}@x>").raw
        )
    for n in range(10):
        mails.append(make_email(subject=f"Boletín {n}", attachments=[], message_id=f"<news{n}@x>"))
    return mails, cufes


def fetch(env, nit: str) -> subprocess.Popen:
    return subprocess.Popen(
        manage("mailbox_fetch", "--organization", nit),
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )


def run_to_completion(env, nit: str) -> None:
    """One uninterrupted run takes everything: far fewer messages than the per-run maximum."""
    process = fetch(env, nit)
    _out, err = process.communicate(timeout=300)
    assert process.returncode == 0, err.decode()


def reset(mailbox, dovecot, mails) -> None:
    ReceivedDocument.objects.all().delete()
    IncomingMessage.objects.all().delete()
    FolderState.objects.all().delete()
    dovecot.reset_user(mailbox.username)
    dovecot.deliver_many(mailbox.username, mails)


def kill_moment(trial: int, trials: int, rng: random.Random, duration: float) -> float:
    """A moment in the trial's own slice of the run: together the trials cover all of it,
    whatever the seed, and the seed only moves each kill inside its slice."""
    return duration * (0.05 + 0.95 * (trial + rng.random()) / trials)


def kill_at(env, nit: str, moment: float) -> float:
    process = fetch(env, nit)
    time.sleep(moment)
    process.send_signal(signal.SIGKILL)
    process.communicate(timeout=60)
    return moment


def assert_exactly_once(mailbox, cufes, expected_ids, context: str) -> None:
    rows = IncomingMessage.objects.filter(mailbox=mailbox)
    ids = list(rows.values_list("message_id", flat=True))
    assert len(ids) == MESSAGES and set(ids) == expected_ids, context
    assert set(ReceivedDocument.objects.values_list("cufe", flat=True)) == cufes, context
    assert ReceivedDocument.objects.count() == len(cufes), context
    assert rows.filter(outcome="duplicate").count() == 10, context
    assert rows.filter(outcome="not_dian").count() == 10, context


@pytest.fixture(scope="module")
def mails():
    return corpus()


def test_imap_fetch_survives_sigkill_at_any_moment(
    configure_live_mailbox, dovecot, child_env, mails
):
    raws, cufes = mails
    expected_ids = {message_from_bytes_id(raw) for raw in raws}
    mailbox = configure_live_mailbox("imap")
    nit = mailbox.organization.nit
    rng = random.Random(SEED)
    reset(mailbox, dovecot, raws)
    started = time.monotonic()
    run_to_completion(child_env, nit)
    duration = time.monotonic() - started
    trials = 12
    for trial in range(trials):
        reset(mailbox, dovecot, raws)
        moment = kill_at(child_env, nit, kill_moment(trial, trials, rng, duration))
        run_to_completion(child_env, nit)
        context = f"trial {trial}, seed {SEED}, killed at {moment:.3f}s of {duration:.3f}s"
        assert_exactly_once(mailbox, cufes, expected_ids, context)
        assert dovecot.message_count(mailbox.username, "INBOX") == 0, context
        on_server = sum(
            dovecot.message_count(mailbox.username, folder)
            for folder in (FOLDER_PROCESSED, FOLDER_ERRORS, FOLDER_NOT_ELECTRONIC)
        )
        assert on_server == MESSAGES, context
        assert set(IncomingMessage.objects.values_list("server_state", flat=True)) == {
            ServerState.MOVED
        }, context


def test_pop3_fetch_survives_sigkill_and_never_deletes_without_backup(
    configure_live_mailbox, dovecot, child_env, mails, sofia, tmp_path
):
    raws, cufes = mails
    expected_ids = {message_from_bytes_id(raw) for raw in raws}
    mailbox = configure_live_mailbox("pop3")
    backup_confirm_manually(mailbox, actor=sofia)
    mailbox.refresh_from_db()
    assert mailbox.status == MailboxStatus.ACTIVE
    nit = mailbox.organization.nit
    outbox = tmp_path / "outbox"
    rng = random.Random(SEED + 1)
    reset(mailbox, dovecot, raws)
    started = time.monotonic()
    run_to_completion(child_env, nit)
    duration = time.monotonic() - started
    trials = 8
    for trial in range(trials):
        reset(mailbox, dovecot, raws)
        for old in outbox.glob("*"):
            old.unlink()
        moment = kill_at(child_env, nit, kill_moment(trial, trials, rng, duration))
        context = f"trial {trial}, seed {SEED + 1}, killed at {moment:.3f}s of {duration:.3f}s"
        left = dovecot.message_count(mailbox.username, "INBOX")
        deleted_ids = expected_ids - server_ids(dovecot, mailbox)
        assert deleted_ids <= backed_up_ids(outbox), context
        run_to_completion(child_env, nit)
        assert_exactly_once(mailbox, cufes, expected_ids, context)
        assert dovecot.message_count(mailbox.username, "INBOX") == 0, f"{context}, {left} left"
        assert backed_up_ids(outbox) == expected_ids, context
        assert set(IncomingMessage.objects.values_list("server_state", flat=True)) == {
            ServerState.DELETED
        }, context


def message_from_bytes_id(raw: bytes) -> str:
    for line in raw.split(b"\n"):
        if line.lower().startswith(b"message-id:"):
            return line.split(b":", 1)[1].strip().decode()
    raise AssertionError("no Message-ID")


def server_ids(dovecot, mailbox) -> set[str]:
    ids = set()
    for path in dovecot.message_files(mailbox.username, "INBOX"):
        ids.add(message_from_bytes_id(path.read_bytes()))
    return ids


def backed_up_ids(outbox: Path) -> set[str]:
    """Message-IDs of the originals attached to the backup e-mails written so far."""
    ids = set()
    for path in outbox.glob("*.log"):
        with open(path, "rb") as handle:
            content = handle.read()
        for chunk in content.split(b"-" * 79):
            if not chunk.strip():
                continue
            parsed = message_from_bytes(chunk.strip())
            for part in parsed.walk():
                if part.get_filename():
                    ids.add(message_from_bytes_id(part.get_payload(decode=True)))
    return ids
