"""One day of the schedule, end to end: every 5 minutes the scheduler fans out a fetch of the
active mailbox, mail delivered during the day is imported at the next tick, the daily job
warns about a secret expiring in 5 days exactly once, and a token is asked for about once an
hour (its lifetime), not once per poll."""

import datetime
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.core import mail
from django_q.brokers import get_broker
from django_q.conf import Conf
from django_q.scheduler import scheduler

from invoices.models import ReceivedDocument
from reception.models import FetchRun, Secret
from reception.schedules import schedules_ensure
from tests.factories.dian import build_mail

pytestmark = [pytest.mark.slow, pytest.mark.django_db]

BOGOTA = ZoneInfo("America/Bogota")
MIDNIGHT = datetime.datetime(2026, 11, 30, 0, 0, 30, tzinfo=BOGOTA)  # a Monday
#: How often the simulated sentinel calls the scheduler (the real one: about every 30 s).
TICK = datetime.timedelta(minutes=1)


def test_one_day_of_schedule(configure_live_mailbox, dovecot, fake_entra, monkeypatch, capsys):
    monkeypatch.setattr(Conf, "SYNC", True)  # tasks run here, as a worker would run them
    deliveries = {
        datetime.time(9, 2): [build_mail(seed=s, number=f"FM{s}").raw for s in (1, 2, 3)],
        datetime.time(15, 31): [build_mail(seed=s, number=f"FT{s}").raw for s in (4, 5)],
    }
    with time_machine.travel(MIDNIGHT, tick=False) as clock:
        mailbox = configure_live_mailbox("imap")
        Secret.objects.filter(mailbox=mailbox).update(
            expires_on=MIDNIGHT.date() + datetime.timedelta(days=5)
        )
        schedules_ensure()
        tokens_before = fake_entra.token_request_count()
        broker = get_broker()
        imported_at = {}
        for tick in range(24 * 60):
            now = MIDNIGHT + tick * TICK
            clock.move_to(now)
            for at, raws in list(deliveries.items()):
                if now.time() >= at:
                    dovecot.deliver_many(mailbox.username, raws)
                    del deliveries[at]
            scheduler(broker=broker)
            count = ReceivedDocument.objects.count()
            imported_at.setdefault(count, now.time())
        tokens = fake_entra.token_request_count() - tokens_before

    runs = FetchRun.objects.filter(mailbox=mailbox)
    warnings = [m for m in mail.outbox if "vence el" in m.subject]
    with capsys.disabled():
        print(
            f"\none simulated day: {runs.count()} scheduled fetches "
            f"({runs.filter(outcome='ok').count()} ok), "
            f"{ReceivedDocument.objects.count()} documents "
            f"(3 imported at {imported_at[3]}, 5 at {imported_at[5]}), "
            f"{len(warnings)} expiry warning, {tokens} token requests"
        )
    assert runs.count() == 288
    assert set(runs.values_list("outcome", flat=True)) == {"ok"}
    assert ReceivedDocument.objects.count() == 5
    # Imported by the first scheduled fetch after delivery: within one polling interval.
    assert minutes_between(datetime.time(9, 2), imported_at[3]) <= 5
    assert minutes_between(datetime.time(15, 31), imported_at[5]) <= 5
    assert len(warnings) == 1
    assert 20 <= tokens <= 30  # one per token lifetime (3599 s), never one per poll
    assert dovecot.message_count(mailbox.username, "INBOX") == 0


def minutes_between(earlier: datetime.time, later: datetime.time) -> float:
    day = MIDNIGHT.date()
    delta = datetime.datetime.combine(day, later) - datetime.datetime.combine(day, earlier)
    return delta.total_seconds() / 60
