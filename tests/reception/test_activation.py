"""Saving a configuration from the command line activates the mailbox against the real servers:
IMAP → Activo with its folders, POP3 → Por Activar, a broken set-up → Inactivo with the step and
the guide's hint. `mailbox_check` and `mailbox_fetch` print and exit as support scripts expect."""

import itertools
import json
from datetime import UTC, datetime, timedelta

import pytest

from reception.models import MailboxStatus, ReceptionMailbox
from reception.transports.imap import RECEPTION_FOLDERS
from tests.commands import run_command
from tests.factories.dian import build_mail
from tests.reception.conftest import guide_configuration

pytestmark = pytest.mark.django_db
_numbers = itertools.count(1)


@pytest.fixture
def customer(org_a, dovecot, fake_entra, reception_settings):
    """A reception mailbox whose tenant was set up as the guide says, and its JSON config."""
    number = next(_numbers)
    address = f"buzon{number}@cliente{number}.test"
    dovecot.add_user(address)
    guide = fake_entra.configure_like_guide(address)

    def config(protocol: str = "imap", **overrides) -> str:
        values = guide_configuration(guide, dovecot, protocol, **overrides)
        return json.dumps({key: value for key, value in values.items() if value is not None})

    return Customer(guide, config)


class Customer:
    """The guide's set-up plus the JSON a support person would feed to mailbox_configure."""

    def __init__(self, guide, config) -> None:
        self.guide, self.config = guide, config
        self.tenant, self.app, self.mailbox = guide.tenant, guide.app, guide.mailbox
        self.client_secret = guide.client_secret


def configure(customer, monkeypatch, capsys, protocol="imap", **overrides):
    return run_command(
        ["mailbox_configure", "--organization", "900123456-8"],
        stdin=customer.config(protocol, **overrides),
        monkeypatch=monkeypatch,
        capsys=capsys,
    )


def test_it_activates_an_imap_mailbox_and_creates_its_folders(
    customer, dovecot, monkeypatch, capsys
):
    result = configure(customer, monkeypatch, capsys)
    assert result.status == 0, result.stderr
    assert "Activo" in result.stdout
    mailbox = ReceptionMailbox.objects.get()
    assert mailbox.status == MailboxStatus.ACTIVE
    assert mailbox.last_check["ok"] is True
    assert set(mailbox.last_check["created_folders"]) == set(RECEPTION_FOLDERS)
    assert {"Recepción FE/Procesados", "Recepción FE/Errores"} <= set(
        dovecot.list_folders(customer.mailbox)
    )


def test_it_leaves_a_pop3_mailbox_por_activar(customer, monkeypatch, capsys):
    result = configure(customer, monkeypatch, capsys, protocol="pop3")
    assert result.status == 0, result.stderr
    assert "Por Activar" in result.stdout
    assert ReceptionMailbox.objects.get().status == MailboxStatus.PENDING


@pytest.mark.parametrize(
    ("breakage", "step", "hint"),
    [
        (
            lambda c: c.tenant.remove_mailbox_permission(c.mailbox, c.app.enterprise_object_id),
            "auth",
            "Add-MailboxPermission",
        ),
        (
            lambda c: c.tenant.remove_service_principal(c.app.client_id),
            "auth",
            "New-ServicePrincipal",
        ),
        (
            lambda c: c.app.revoke_admin_consent(),
            "token",
            "Conceder consentimiento de administrador",
        ),
        (
            lambda c: c.tenant.set_cas_mailbox(c.mailbox, imap_enabled=False),
            "auth",
            "Set-CASMailbox",
        ),
    ],
    ids=["no-full-access", "no-service-principal", "no-consent", "imap-disabled"],
)
def test_a_broken_set_up_ends_inactivo_with_the_step_and_the_guides_fix(
    customer, monkeypatch, capsys, breakage, step, hint
):
    breakage(customer)
    result = configure(customer, monkeypatch, capsys)
    assert result.status == 0  # saved; the status tells the rest
    assert "Inactivo" in result.stdout
    mailbox = ReceptionMailbox.objects.get()
    assert mailbox.status == MailboxStatus.INACTIVE
    assert mailbox.last_check["error"]["step"] == step
    failed = next(s for s in mailbox.last_check["steps"] if s["status"] == "failed")
    texts = json.dumps(failed["causes"], ensure_ascii=False)
    assert hint in texts
    assert customer.client_secret not in json.dumps(mailbox.last_check)
    change = mailbox.status_changes.first()
    assert change.to_status == MailboxStatus.INACTIVE and change.source == "cli"


def test_an_expired_secret_points_to_the_renewal_section(customer, monkeypatch, capsys):
    expired = customer.app.add_secret(
        description="old", expires_at=datetime.now(UTC) - timedelta(days=1)
    )
    result = configure(customer, monkeypatch, capsys, secret=expired.value)
    mailbox = ReceptionMailbox.objects.get()
    assert mailbox.status == MailboxStatus.INACTIVE
    assert "Actualización de secreto en aplicación existente" in mailbox.status_reason
    assert result.status == 0


def test_mailbox_check_exits_0_when_every_step_passes_and_1_otherwise(
    customer, monkeypatch, capsys
):
    configure(customer, monkeypatch, capsys)
    ok = run_command(
        ["mailbox_check", "--organization", "900123456"], monkeypatch=monkeypatch, capsys=capsys
    )
    assert ok.status == 0, ok.stdout
    assert "[OK] Token de Entra ID" in ok.stdout
    customer.tenant.set_cas_mailbox(customer.mailbox, imap_enabled=False)
    failed = run_command(
        ["mailbox_check", "--organization", "900123456"], monkeypatch=monkeypatch, capsys=capsys
    )
    assert failed.status == 1
    assert "[FALLÓ]" in failed.stdout
    assert "Set-CASMailbox" in failed.stdout
    assert customer.client_secret not in failed.stdout + failed.stderr


def test_mailbox_fetch_prints_a_summary_and_exits_1_when_unreachable(
    customer, dovecot, monkeypatch, capsys
):
    configure(customer, monkeypatch, capsys)
    dovecot.deliver_many(customer.mailbox, [build_mail(seed=1).raw, build_mail(seed=1).raw])
    result = run_command(
        ["mailbox_fetch", "--organization", "900123456"], monkeypatch=monkeypatch, capsys=capsys
    )
    assert result.status == 0, result.stderr
    assert "Correos nuevos: 2" in result.stdout
    assert "Documentos creados: 1" in result.stdout
    assert "Duplicados: 1" in result.stdout
    mailbox = ReceptionMailbox.objects.get()
    mailbox.port = 1  # nothing listens there
    mailbox.save()
    unreachable = run_command(
        ["mailbox_fetch", "--organization", "900123456"], monkeypatch=monkeypatch, capsys=capsys
    )
    assert unreachable.status == 1
    assert "No se pudo leer el buzón" in unreachable.stderr


def test_unknown_organization_is_a_usage_error(db, monkeypatch, capsys):
    result = run_command(
        ["mailbox_check", "--organization", "123"], monkeypatch=monkeypatch, capsys=capsys
    )
    assert result.status == 2
