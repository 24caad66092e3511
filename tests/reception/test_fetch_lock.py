"""Two fetches of one mailbox never run at once, whichever process or machine starts them."""

import threading

import pytest
from django.db import connection

from reception.exceptions import MailboxBusy
from reception.fetching import mailbox_fetch
from reception.models import FetchRun, ReceptionMailbox
from reception.services import secret_replace
from tests.factories.dian import build_mail


@pytest.mark.django_db(transaction=True)
def test_a_second_concurrent_fetch_skips_while_the_first_holds_the_mailbox(
    configure_live_mailbox, dovecot, fake_entra
):
    mailbox = configure_live_mailbox("imap")
    dovecot.deliver(mailbox.username, build_mail(seed=1).raw)
    # A new secret means a new token request, which the fake Entra ID holds while the first
    # fetch owns the lock.
    rotated = mailbox.guide.app.add_secret(description="rotated")
    secret_replace(mailbox, value=rotated.value, expires_on=None, notification_email="")
    fake_entra.delay_token_requests(count=1)
    outcome: dict = {}

    def first() -> None:
        try:
            outcome["first"] = mailbox_fetch(
                ReceptionMailbox.objects.get(pk=mailbox.pk), trigger="worker-1"
            )
        finally:
            connection.close()

    thread = threading.Thread(target=first)
    thread.start()
    try:
        fake_entra.wait_for_token_requests_in_flight(1)
        with pytest.raises(MailboxBusy):
            mailbox_fetch(ReceptionMailbox.objects.get(pk=mailbox.pk), trigger="worker-2")
    finally:
        fake_entra.release_token_requests()
        thread.join(timeout=30)
    assert outcome["first"].documents == 1
    runs = dict(FetchRun.objects.values_list("trigger", "outcome"))
    assert runs == {"worker-1": FetchRun.Outcome.OK, "worker-2": FetchRun.Outcome.SKIPPED}
    mailbox_fetch(ReceptionMailbox.objects.get(pk=mailbox.pk), trigger="worker-2")  # released
