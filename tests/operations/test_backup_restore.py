"""Backup and restore as README's «Copias de seguridad» does it (deploy/backup.sh and
deploy/restore.sh): the database dumped, the storage copied, both restored into a fresh database
and directory, and `storage_verify` saying 0; then a stored file altered and another removed,
and `storage_verify` saying 1 and naming both."""

import os
import shutil
import subprocess
import sys
import uuid
from pathlib import Path

import psycopg
import pytest
from django.conf import settings
from django.core.management import call_command
from django.db import connection

from config.storage import private_storage
from invoices.models import ReceivedDocument
from invoices.services import document_file
from reception.fetching import mailbox_fetch
from reception.models import IncomingMessage
from tests.factories.dian import build_mail
from tests.reception.conftest import database_url

pytestmark = [pytest.mark.slow, pytest.mark.django_db(transaction=True)]

ROOT = Path(settings.BASE_DIR)


@pytest.fixture
def fetched_document(private_storage_root, configure_live_mailbox, dovecot):
    """One invoice fetched for real: a recorded e-mail and a document (XML and PDF) stored.

    In a storage of its own: the backup archives the whole storage, and the other test workers
    write into the shared one meanwhile (tar fails on a folder that changes as it reads it)."""
    mailbox = configure_live_mailbox("imap")
    built = build_mail(seed=1313)
    dovecot.deliver(mailbox.username, built.raw)
    summary = mailbox_fetch(mailbox, trigger="test")
    assert summary.documents == 1
    return ReceivedDocument.objects.get(cufe=built.cufe)


def run_storage_verify() -> tuple[int, str]:
    from io import StringIO

    out = StringIO()
    try:
        call_command("storage_verify", stdout=out)
    except SystemExit as exit_:
        return int(exit_.code), out.getvalue()
    return 0, out.getvalue()


def test_storage_verify_names_missing_and_altered_files(fetched_document):
    message = IncomingMessage.objects.get(pk=fetched_document.source_message_id)
    assert run_storage_verify() == (0, "1 archivos verificados, 0 con problemas\n")
    document_file(fetched_document, "xml")  # the first download stores the XML and the PDF
    assert run_storage_verify() == (0, "3 archivos verificados, 0 con problemas\n")

    raw_path = private_storage.path(message.raw.name)
    original = Path(raw_path).read_bytes()
    pdf_path = Path(private_storage.path(fetched_document.pdf_file.name))
    pdf = pdf_path.read_bytes()
    try:
        Path(raw_path).write_bytes(original.replace(b"Subject:", b"Subject: x", 1))
        pdf_path.unlink()
        status, output = run_storage_verify()
    finally:
        Path(raw_path).write_bytes(original)
        pdf_path.write_bytes(pdf)
    assert status == 1
    assert f"alterado: {message.raw.name} (reception.IncomingMessage {message.pk})" in output
    assert f"falta: {fetched_document.pdf_file.name} (invoices.ReceivedDocument" in output
    assert output.endswith("3 archivos verificados, 2 con problemas\n")


def test_backup_then_restore_into_a_fresh_database_and_directory(fetched_document, tmp_path):
    if connection.vendor != "postgresql":
        pytest.skip("backup and restore use pg_dump: run with DATABASE_URL on PostgreSQL (CI)")
    backup_dir = tmp_path / "backup"
    env = {
        **os.environ,
        "DATABASE_URL": database_url(),
        "MEDIA_ROOT": str(settings.MEDIA_ROOT),
        "PYTHON": sys.executable,
    }
    env.pop("DJANGO_SETTINGS_MODULE", None)
    document_file(fetched_document, "xml")  # opened once: its XML and PDF are stored too
    subprocess.run(["deploy/backup.sh", str(backup_dir)], cwd=ROOT, env=env, check=True)

    restored_db = f"{connection.settings_dict['NAME']}_restore_{uuid.uuid4().hex[:6]}"
    maintenance = database_url().rsplit("/", 1)[0].replace("postgres://", "postgresql://")
    maintenance += "/postgres"
    with psycopg.connect(maintenance, autocommit=True) as pg:
        pg.execute(f'CREATE DATABASE "{restored_db}"')
    restored_media = tmp_path / "restored-media"
    restore_env = {
        **env,
        "DATABASE_URL": database_url().rsplit("/", 1)[0] + f"/{restored_db}",
        "MEDIA_ROOT": str(restored_media),
    }
    try:
        restored = subprocess.run(
            ["deploy/restore.sh", str(backup_dir)],
            cwd=ROOT,
            env=restore_env,
            capture_output=True,
            text=True,
            check=False,
        )
        assert restored.returncode == 0, restored.stderr + restored.stdout
        assert "3 archivos verificados, 0 con problemas" in restored.stdout

        message = IncomingMessage.objects.get(pk=fetched_document.source_message_id)
        altered = restored_media / "private" / message.raw.name
        altered.write_bytes(altered.read_bytes() + b"\r\n")
        verify = subprocess.run(
            [sys.executable, "manage.py", "storage_verify"],
            cwd=ROOT,
            env=restore_env,
            capture_output=True,
            text=True,
            check=False,
        )
        assert verify.returncode == 1, verify.stderr + verify.stdout
        assert f"alterado: {message.raw.name}" in verify.stdout
    finally:
        with psycopg.connect(maintenance, autocommit=True) as pg:
            pg.execute(f'DROP DATABASE IF EXISTS "{restored_db}" WITH (FORCE)')
        shutil.rmtree(restored_media, ignore_errors=True)
