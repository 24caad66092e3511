"""A reception mailbox of organization A, configured through the service against the real
Dovecot and the fake Entra ID, exactly as a customer who followed the guide would."""

import itertools
from collections.abc import Callable

import pytest

from reception.models import ReceptionMailbox
from reception.services import mailbox_configure

_numbers = itertools.count(1)


@pytest.fixture
def configure_live_mailbox(
    org_a, dovecot, fake_entra, reception_settings, django_capture_on_commit_callbacks
) -> Callable[..., ReceptionMailbox]:
    """configure(protocol="imap", backup_email=..., **overrides) -> the saved, checked mailbox."""

    def configure(protocol: str = "imap", **overrides) -> ReceptionMailbox:
        number = next(_numbers)
        address = f"recepcion{number}@andina{number}.test"
        dovecot.add_user(address)
        guide = fake_entra.configure_like_guide(address)
        data = {
            "server_type": "outlook_modern",
            "protocol": protocol,
            "host": dovecot.host,
            "port": dovecot.ports.imaps if protocol == "imap" else dovecot.ports.pop3s,
            "security": "ssl",
            "username": address,
            "password": "",
            "tenant_id": guide.tenant_id,
            "client_id": guide.client_id,
            "object_id": guide.app.enterprise_object_id,
            "secret": guide.client_secret,
            "secret_expires_on": None,
            "notification_email": "ti@andina.test",
            "backup_email": "respaldo@andina.test" if protocol == "pop3" else "",
        }
        data.update(overrides)
        with django_capture_on_commit_callbacks(execute=True):
            mailbox = mailbox_configure(organization=org_a, data=data, source="test")
        mailbox.guide = guide
        return mailbox

    return configure
