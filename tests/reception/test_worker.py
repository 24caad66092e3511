"""The embedded worker set-up for real: a `qcluster` process with the ORM broker runs the
schedule, fans out one task per mailbox, and a document lands in the database."""

import signal
import subprocess
import time

import pytest
from django_q.models import Schedule

from invoices.models import ReceivedDocument
from reception.models import FetchRun
from reception.schedules import ALERT_STALE, FETCH_ALL, NOTIFY_EXPIRING, schedules_ensure
from tests.factories.dian import build_mail
from tests.reception.conftest import manage

pytestmark = [pytest.mark.slow, pytest.mark.django_db(transaction=True)]

#: django-q2's sentinel calls the scheduler about every 30 s of its guard loop.
WORKER_DEADLINE = 120


def test_schedules_are_created_once_by_name():
    assert [created for _name, created in schedules_ensure()] == [True, True, True]
    assert [created for _name, created in schedules_ensure()] == [False, False, False]
    names = set(Schedule.objects.values_list("name", flat=True))
    assert names == {FETCH_ALL, NOTIFY_EXPIRING, ALERT_STALE}
    fetch = Schedule.objects.get(name=FETCH_ALL)
    assert (fetch.schedule_type, fetch.minutes) == (Schedule.MINUTES, 5)
    alert = Schedule.objects.get(name=ALERT_STALE)
    assert (alert.func, alert.minutes) == ("reception.tasks.alert_stale_mailboxes", 5)


def test_a_real_qcluster_fetches_a_mailbox_on_schedule(configure_live_mailbox, dovecot, child_env):
    mailbox = configure_live_mailbox("imap")
    built = build_mail(seed=42)
    dovecot.deliver(mailbox.username, built.raw)
    schedules_ensure()
    worker = subprocess.Popen(
        manage("qcluster"), env=child_env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT
    )
    try:
        deadline = time.monotonic() + WORKER_DEADLINE
        while not ReceivedDocument.objects.filter(cufe=built.cufe).exists():
            assert worker.poll() is None, worker.stdout.read().decode(errors="replace")
            assert time.monotonic() < deadline, "the worker never imported the document"
            time.sleep(0.5)  # polling the database for the worker's result
    finally:
        worker.send_signal(signal.SIGTERM)
        try:
            worker.wait(timeout=30)
        except subprocess.TimeoutExpired:
            worker.kill()
    run = FetchRun.objects.get(mailbox=mailbox)
    assert (run.trigger, run.outcome) == ("schedule", FetchRun.Outcome.OK)
    assert run.counts["documents"] == 1
    assert dovecot.message_count(mailbox.username, "INBOX") == 0
