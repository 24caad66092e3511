"""The guide's promise: an e-mail 5 days before the expiry date (Bogotá), once per secret;
late rather than never; Inactivo once the date has passed."""

import datetime
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.core import mail
from django.core.management import call_command

from reception.models import MailboxStatus, Secret
from reception.services import secrets_notify_expiring
from tests.factories.mailboxes import make_mailbox

BOGOTA = ZoneInfo("America/Bogota")
EXPIRY = datetime.date(2026, 12, 20)


def on(day_offset: int, hour: int = 7):
    """A moment in Bogotá `day_offset` days from the expiry date."""
    day = EXPIRY + datetime.timedelta(days=day_offset)
    return time_machine.travel(datetime.datetime(day.year, day.month, day.day, hour, tzinfo=BOGOTA))


@pytest.fixture
def mailbox(org_a, alice):
    return make_mailbox(org_a, expires_on=EXPIRY, notification_email="ti@andina.test")


def warnings():
    return [m for m in mail.outbox if "vence el" in m.subject]


def expiries():
    return [m for m in mail.outbox if "venció" in m.subject]


@pytest.mark.django_db
def test_it_says_nothing_six_days_before(mailbox):
    with on(-6):
        assert secrets_notify_expiring() == {"warned": 0, "expired": 0}
    assert mail.outbox == []


@pytest.mark.django_db
def test_it_warns_five_days_before_in_spanish_html_and_text(mailbox):
    with on(-5):
        assert secrets_notify_expiring()["warned"] == 1
    (message,) = mail.outbox
    assert message.to == ["ti@andina.test"]
    assert "20 de diciembre de 2026" in message.subject
    assert "en 5 días" in message.body
    assert "Actualizar secreto" in message.body
    html, mimetype = message.alternatives[0]
    assert mimetype == "text/html"
    assert "Certificados y secretos" in html
    mailbox.refresh_from_db()
    assert mailbox.status == MailboxStatus.ACTIVE


@pytest.mark.django_db
def test_it_uses_bogota_dates_not_utc(mailbox):
    # 20:00 in Bogotá on day -6 is already day -5 in UTC: still no warning.
    with on(-6, hour=20):
        secrets_notify_expiring()
    assert mail.outbox == []


@pytest.mark.django_db
def test_it_warns_only_once(mailbox):
    with on(-5):
        secrets_notify_expiring()
        secrets_notify_expiring()
    with on(-1):
        secrets_notify_expiring()
    with on(0):
        secrets_notify_expiring()
    assert len(warnings()) == 1


@pytest.mark.django_db
def test_it_warns_late_when_the_worker_was_down_on_day_minus_five(mailbox):
    with on(-1):
        assert secrets_notify_expiring()["warned"] == 1
    assert "en 1 día" in warnings()[0].body


@pytest.mark.django_db
def test_it_still_warns_on_the_expiry_day_itself(mailbox):
    with on(0):
        secrets_notify_expiring()
    assert "(hoy)" in warnings()[0].body
    mailbox.refresh_from_db()
    assert mailbox.status == MailboxStatus.ACTIVE


@pytest.mark.django_db
def test_it_inactivates_the_mailbox_the_day_after_and_says_so(mailbox):
    with on(-5):
        secrets_notify_expiring()
    with on(1):
        assert secrets_notify_expiring() == {"warned": 0, "expired": 1}
        secrets_notify_expiring()
    mailbox.refresh_from_db()
    assert mailbox.status == MailboxStatus.INACTIVE
    assert "venció el 2026-12-20" in mailbox.status_reason
    assert len(expiries()) == 1
    assert "ti@andina.test" in expiries()[0].to
    assert "alice@example.test" in expiries()[0].to
    change = mailbox.status_changes.first()
    assert change.source == "secret_expiry"


@pytest.mark.django_db
def test_it_skips_the_warning_when_already_expired(mailbox):
    with on(3):
        assert secrets_notify_expiring() == {"warned": 0, "expired": 1}
    assert warnings() == []


@pytest.mark.django_db
def test_a_rotated_secret_gets_its_own_warning(mailbox):
    from reception.services import secret_replace

    with on(-5):
        secrets_notify_expiring()
    secret_replace(
        mailbox,
        value="another~secret.value-0123456789",
        expires_on=EXPIRY + datetime.timedelta(days=180),
        notification_email="ti@andina.test",
    )
    with on(1):
        assert secrets_notify_expiring() == {"warned": 0, "expired": 0}
    assert Secret.objects.filter(mailbox=mailbox).count() == 2


@pytest.mark.django_db
def test_a_failed_send_is_retried_on_the_next_run(mailbox, settings):
    settings.EMAIL_BACKEND = "tests.reception.test_secret_expiry.FailingBackend"
    with on(-5), pytest.raises(ConnectionError):
        secrets_notify_expiring()
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    with on(-4):
        assert secrets_notify_expiring()["warned"] == 1


@pytest.mark.django_db
def test_the_command_runs_the_job_once(mailbox, capsys):
    with on(-5):
        call_command("notify_expiring_secrets")
    assert "enviados: 1" in capsys.readouterr().out
    assert len(warnings()) == 1


class FailingBackend:
    def __init__(self, *args, **kwargs):
        pass

    def send_messages(self, messages):
        raise ConnectionError("SMTP down")
