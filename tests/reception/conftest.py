"""A reception mailbox of organization A, configured through the service against the real
Dovecot and the fake Entra ID, exactly as a customer who followed the guide would."""

import itertools
import os
import sys
from collections.abc import Callable
from pathlib import Path

import pytest
from django.conf import settings
from django.db import connection

from reception.models import ReceptionMailbox
from reception.services import mailbox_configure
from tests.harness.fixtures import harness_environment

_numbers = itertools.count(1)


def guide_configuration(guide, dovecot, protocol: str = "imap", **overrides) -> dict:
    """What a customer who followed the guide types into the form, for the test servers."""
    values = {
        "server_type": "outlook_modern",
        "protocol": protocol,
        "host": dovecot.host,
        "port": dovecot.ports.imaps if protocol == "imap" else dovecot.ports.pop3s,
        "security": "ssl",
        "username": guide.mailbox,
        "password": "",
        "tenant_id": guide.tenant_id,
        "client_id": guide.client_id,
        "object_id": guide.app.enterprise_object_id,
        "secret": guide.client_secret,
        "secret_expires_on": None,
        "notification_email": "ti@andina.test",
        "backup_email": "respaldo@andina.test" if protocol == "pop3" else "",
    }
    values.update(overrides)
    return values


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
        data = guide_configuration(guide, dovecot, protocol, **overrides)
        with django_capture_on_commit_callbacks(execute=True):
            mailbox = mailbox_configure(organization=org_a, data=data, source="test")
        mailbox.guide = guide
        return mailbox

    return configure


MANAGE = Path(settings.BASE_DIR) / "manage.py"


def database_url() -> str:
    """The test database as a DATABASE_URL, for child processes (workers, fetches)."""
    conf = connection.settings_dict
    if connection.vendor == "sqlite":
        return f"sqlite:///{conf['NAME']}"
    host = conf.get("HOST") or "127.0.0.1"
    port = conf.get("PORT") or 5432
    return f"postgres://{conf['USER']}@{host}:{port}/{conf['NAME']}"


@pytest.fixture
def child_env(reception_settings, tmp_path) -> dict[str, str]:
    """Environment for a `manage.py` child process that shares this test's database, storage
    and test servers (use with transactional tests, so the child sees committed data)."""
    env = dict(os.environ)
    env.update(harness_environment(reception_settings))
    env.update(
        DATABASE_URL=database_url(),
        RECEPTION_FETCH_BATCH_SIZE="20",
        EMAIL_URL=f"filemail:///{tmp_path / 'outbox'}",  # django-environ: 4 slashes, absolute
        DEBUG="False",
    )
    env.pop("DJANGO_SETTINGS_MODULE", None)
    return env


def manage(*args: str) -> list[str]:
    return [sys.executable, str(MANAGE), *args]
