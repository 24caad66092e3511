"""Client secrets and passwords are never logged, never in exception text, never in a page."""

import logging

import pytest

from reception.fetching import mailbox_fetch
from reception.models import MailboxStatus
from reception.services import mailbox_check, secret_replace
from tests.factories.dian import build_mail

pytestmark = pytest.mark.django_db


def test_no_log_record_carries_the_secret_through_a_check_and_a_fetch(
    configure_live_mailbox, dovecot, caplog
):
    caplog.set_level(logging.DEBUG)  # everything, msal's and urllib3's debug output included
    mailbox = configure_live_mailbox("imap")
    secret = mailbox.guide.client_secret
    dovecot.deliver(mailbox.username, build_mail(seed=1).raw)
    mailbox_fetch(mailbox, trigger="test")
    wrong = secret[:-4] + "XXXX"
    secret_replace(mailbox, value=wrong, expires_on=None, notification_email="")
    diagnosis = mailbox_check(mailbox, source="test")
    assert not diagnosis.ok
    mailbox.refresh_from_db()
    assert mailbox.status == MailboxStatus.INACTIVE
    logged = "\n".join(
        f"{record.getMessage()} {record.exc_text or ''}" for record in caplog.records
    )
    assert caplog.records, "nothing was logged: the test would prove nothing"
    for value in (secret, wrong):
        assert value not in logged
        assert value not in mailbox.status_reason
        assert value not in str(mailbox.last_check)
    assert "eyJ" not in logged  # no access token either
