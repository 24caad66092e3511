"""The silent stop, made loud: an Activo mailbox not read for more than
RECEPTION_STALE_FETCH_INTERVALS intervals is marked late in the admin (to whom the role table
lets see the mailbox) and its people are e-mailed once; every fetch line names its organization
and mailbox in JSON logs; Sentry reports never carry a secret."""

import json
import logging
import subprocess
import uuid
from datetime import timedelta

import pytest
import sentry_sdk
from django.conf import settings
from django.core import mail
from django.urls import reverse
from django.utils import timezone
from django_q.models import Task

from config.observability import JsonFormatter, LogContextFilter, log_context, sentry_init
from reception.models import MailboxStatus, ReceptionMailbox
from reception.monitoring import STALE_ALERT_TASK, stale_fetch_alert
from tests.factories.mailboxes import make_mailbox
from tests.reception.conftest import manage

LIST_URL = reverse("admin:reception_receptionmailbox_changelist")


@pytest.fixture
def intervals(settings):
    settings.RECEPTION_FETCH_INTERVAL_MINUTES = 5
    settings.RECEPTION_STALE_FETCH_INTERVALS = 3
    return settings


@pytest.fixture
def late_and_fresh(db, intervals, org_a, org_b):
    """Org A's mailbox last read 16 minutes ago (late: more than 3 x 5), org B's 4 minutes ago."""
    now = timezone.now()
    late = make_mailbox(org_a, notification_email="ti@andina.test")
    fresh = make_mailbox(org_b)
    ReceptionMailbox.objects.filter(pk=late.pk).update(last_fetch_at=now - timedelta(minutes=16))
    ReceptionMailbox.objects.filter(pk=fresh.pk).update(last_fetch_at=now - timedelta(minutes=4))
    return late, fresh


def listed(client, user, **query) -> str:
    client.force_login(user)
    response = client.get(LIST_URL, query)
    assert response.status_code == 200
    return response.content.decode()


def test_the_mailbox_list_marks_a_late_mailbox(client, late_and_fresh, alice, bob, sofia):
    late, fresh = late_and_fresh
    for user in (alice, bob):  # Back office and Contador of organization A
        page = listed(client, user)
        assert late.username in page and "atrasado" in page
        assert fresh.username not in page
    page = listed(client, sofia, lectura="late")  # Soporte: every organization
    assert late.username in page and fresh.username not in page
    page = listed(client, sofia, lectura="ok")
    assert fresh.username in page and late.username not in page


def test_the_late_filter_stays_inside_the_users_organizations(client, late_and_fresh, charlie):
    late, fresh = late_and_fresh
    page = listed(client, charlie, lectura="late")
    assert late.username not in page and fresh.username not in page
    assert fresh.username in listed(client, charlie, lectura="ok")


def test_recently_activated_or_inactive_mailboxes_are_not_late(db, intervals, org_a, org_b):
    now = timezone.now()
    never_read = make_mailbox(org_a)
    ReceptionMailbox.objects.filter(pk=never_read.pk).update(
        status_changed_at=now - timedelta(minutes=2)
    )
    make_mailbox(org_b, status=MailboxStatus.INACTIVE, last_fetch_at=now - timedelta(days=3))
    assert stale_fetch_alert() == {"late": 0, "mailed": 0}


@pytest.mark.django_db
def test_the_alert_is_logged_every_run_and_mailed_once(late_and_fresh, alice, caplog):
    late, _fresh = late_and_fresh
    with caplog.at_level(logging.WARNING, logger="reception.fetch"):
        assert stale_fetch_alert() == {"late": 1, "mailed": 1}
    (message,) = mail.outbox
    assert set(message.to) == {"alice@example.test", "ti@andina.test"}
    assert late.username in message.subject and "no se ha leído" in message.subject
    assert "qcluster" in message.body
    (record,) = [r for r in caplog.records if r.name == "reception.fetch"]
    assert "not read since" in record.getMessage()

    # django-q2 recorded that run; the next one logs again but does not mail again.
    started = timezone.now()
    Task.objects.create(
        id=uuid.uuid4().hex,
        name="alert",
        func=STALE_ALERT_TASK,
        started=started,
        stopped=started,
        success=True,
    )
    assert stale_fetch_alert() == {"late": 1, "mailed": 0}
    assert len(mail.outbox) == 1


def test_json_lines_carry_the_context():
    handler_output = []

    class Keep(logging.Handler):
        def emit(self, record):
            handler_output.append(self.format(record))

    handler = Keep()
    handler.setFormatter(JsonFormatter())
    handler.addFilter(LogContextFilter())
    logger = logging.getLogger("tests.json")
    logger.addHandler(handler)
    logger.setLevel(logging.INFO)
    try:
        with log_context(organization="900123456", mailbox="recepcion@andina.test"):
            logger.info("inside %s", "a fetch")
        logger.info("outside")
    finally:
        logger.removeHandler(handler)
    inside, outside = (json.loads(line) for line in handler_output)
    assert inside["message"] == "inside a fetch"
    assert (inside["organization"], inside["mailbox"]) == ("900123456", "recepcion@andina.test")
    assert "organization" not in outside and outside["level"] == "INFO"


@pytest.mark.slow
@pytest.mark.django_db(transaction=True)
def test_every_fetch_line_names_organization_and_mailbox(configure_live_mailbox, child_env):
    mailbox = configure_live_mailbox("imap")
    result = subprocess.run(
        manage("mailbox_fetch", "--organization", mailbox.organization.nit),
        env={**child_env, "LOG_FORMAT": "json", "LOG_LEVEL": "INFO"},
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    lines = [json.loads(line) for line in result.stderr.splitlines() if line.strip()]
    fetch_lines = [line for line in lines if line["logger"] == "reception.fetch"]
    assert [line["message"].split(":")[0] for line in fetch_lines] == [
        "fetch started (cli)",
        "fetch finished",
    ]
    for line in fetch_lines:
        assert line["organization"] == mailbox.organization.nit
        assert line["mailbox"] == mailbox.username


class CapturingTransport(sentry_sdk.transport.Transport):
    """Sentry's transport at its network boundary: keeps the envelopes instead of sending."""

    envelopes: list = []

    def capture_envelope(self, envelope):
        CapturingTransport.envelopes.append(envelope)


@pytest.fixture
def sentry(monkeypatch):
    """sentry_init as the settings call it, its envelopes kept here; closed afterwards."""
    real_init = sentry_sdk.init
    monkeypatch.setattr(
        sentry_sdk, "init", lambda **options: real_init(transport=CapturingTransport, **options)
    )
    CapturingTransport.envelopes = []
    sentry_init(
        "https://public@sentry.example.test/1",
        environment="test",
        secrets=[settings.SECRET_KEY, settings.RECEPTION_ENCRYPTION_KEY, "db-p4ssw0rd-xyz"],
    )
    yield CapturingTransport.envelopes
    sentry_sdk.get_client().close()
    sentry_sdk.get_global_scope().set_client(None)


def test_sentry_events_carry_no_secret(sentry):
    jwt = "eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJyZWNlcGNpb24ifQ.c2lnbmF0dXJl"
    secret_key = settings.SECRET_KEY
    encryption_key = settings.RECEPTION_ENCRYPTION_KEY
    try:
        raise RuntimeError(
            f"boom {secret_key} {encryption_key} Bearer {jwt} "
            "postgres://recepcion:db-p4ssw0rd-xyz@db.example.com/recepcion"
        )
    except RuntimeError as error:
        sentry_sdk.capture_exception(error)
    sentry_sdk.flush()
    assert sentry, "the event reached the transport"
    sent = "".join(
        item.payload.get_bytes().decode(errors="replace")
        for envelope in sentry
        for item in envelope.items
    )
    assert "boom" in sent and "RuntimeError" in sent
    for secret in (secret_key, encryption_key, jwt, "db-p4ssw0rd-xyz"):
        assert secret not in sent
