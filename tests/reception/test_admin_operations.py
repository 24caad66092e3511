"""The mailbox's operations in the admin: "Probar conexión", "Reactivar", "Confirmar respaldo"
and "Reenviar enlace", and the diagnosis panel — end to end against Dovecot and the fake
Entra ID wherever the check runs."""

import pytest
from django.contrib.admin.models import CHANGE, LogEntry
from django.core import mail
from django.urls import reverse

from organizations.services import membership_set
from reception.models import FetchRun, MailboxStatus, Protocol, StatusChange
from tests.factories.mailboxes import make_mailbox
from tests.harness.entra import IMAP_ROLE

pytestmark = pytest.mark.django_db


def url(name, mailbox):
    return reverse(f"admin:reception_receptionmailbox_{name}", args=[mailbox.pk])


def as_user(client, request, persona):
    client.force_login(request.getfixturevalue(persona))
    return client


@pytest.fixture
def offline(org_a):
    """Org A's mailbox, never reached: for what is refused before any check runs."""
    return make_mailbox(org_a, status=MailboxStatus.INACTIVE, status_reason="Falló «Token».")


@pytest.fixture
def live(configure_live_mailbox):
    mailbox = configure_live_mailbox("imap")
    assert mailbox.status == MailboxStatus.ACTIVE, mailbox.status_reason
    return mailbox


@pytest.fixture
def pending_pop3(org_a):
    return make_mailbox(
        org_a,
        protocol=Protocol.POP3,
        status=MailboxStatus.PENDING,
        backup_email="respaldo@andina.test",
    )


# --- Who may press which button --------------------------------------------------------------


@pytest.mark.parametrize("name", ["check", "reactivate", "confirm_backup", "resend_backup"])
def test_a_get_runs_nothing_and_leads_to_the_mailbox_page(client, alice, offline, name):
    client.force_login(alice)
    response = client.get(url(name, offline))
    assert response.status_code == 302
    change = reverse("admin:reception_receptionmailbox_change", args=[offline.pk])
    assert response["Location"] == f"{change}#mailbox-diagnosis"
    assert offline.status_changes.count() == 0
    assert client.put(url(name, offline)).status_code == 405


@pytest.mark.parametrize(
    ("name", "persona", "status"),
    [
        ("check", "charlie", 404),
        ("check", "bob", 403),
        ("reactivate", "charlie", 404),
        ("reactivate", "bob", 403),
        ("reactivate", "alice", 403),
        ("confirm_backup", "charlie", 404),
        ("confirm_backup", "bob", 403),
        ("confirm_backup", "alice", 403),
        ("resend_backup", "charlie", 404),
        ("resend_backup", "bob", 403),
        ("resend_backup", "sofia", 403),
    ],
)
def test_it_refuses_outsiders_with_404_and_other_roles_with_403(
    client, request, pending_pop3, name, persona, status
):
    response = as_user(client, request, persona).post(url(name, pending_pop3), {"confirmado": "si"})
    assert response.status_code == status
    pending_pop3.refresh_from_db()
    assert pending_pop3.backup_confirmed_at is None
    assert pending_pop3.status_changes.count() == 0
    assert mail.outbox == []


def test_it_counts_a_role_only_for_its_own_organization(client, django_user_model, org_b, offline):
    """Back office of B and Contador of A: sees A's mailbox, may not check it."""
    user = django_user_model.objects.create_user("mixed", password="x")
    membership_set(user=user, organization=org_b, role="back_office")
    membership_set(user=user, organization=offline.organization, role="contador")
    client.force_login(user)
    assert client.get(url("change", offline)).status_code == 200
    assert client.post(url("check", offline)).status_code == 403


@pytest.mark.parametrize(
    ("persona", "buttons", "hidden"),
    [
        ("alice", ["Probar conexión", "Actualizar secreto"], ["Reactivar"]),
        ("sofia", ["Probar conexión", "Reactivar"], ["Actualizar secreto"]),
        ("root", ["Probar conexión", "Reactivar", "Actualizar secreto"], []),
        ("bob", [], ["Probar conexión", "Reactivar", "Actualizar secreto"]),
    ],
)
def test_it_shows_each_persona_its_buttons(client, request, offline, persona, buttons, hidden):
    page = as_user(client, request, persona).get(url("change", offline)).content.decode()
    for label in buttons:
        assert label in page, label
    for label in hidden:
        assert label not in page, label


# --- "Probar conexión" end to end --------------------------------------------------------------


def test_it_shows_the_failed_step_and_its_hint_then_activo_once_fixed(client, alice, live):
    client.force_login(alice)
    tenant = live.guide.tenant
    tenant.set_cas_mailbox(live.username, imap_enabled=False)

    response = client.post(url("check", live))

    assert response.status_code == 200
    page = response.content.decode()
    assert "FALLÓ" in page
    assert "Autenticación en el buzón" in page
    assert "IMAP/POP3 Activo para Buzón" in page
    command = f"Set-CASMailbox -Identity &#x27;{live.username}&#x27; -ImapEnabled $true"
    assert f'<pre class="powershell" tabindex="0">{command}</pre>' in page
    assert "no se ejecutó" in page
    assert "Estado del correo: Inactivo" in page
    assert live.guide.client_secret not in page
    live.refresh_from_db()
    assert live.status == MailboxStatus.INACTIVE
    change = live.status_changes.first()
    assert (change.actor, change.source, change.to_status) == (alice, "admin", "inactive")

    # The mailbox page keeps showing that diagnosis until the next check.
    page = client.get(url("change", live)).content.decode()
    assert 'id="mailbox-diagnosis"' in page
    assert "Set-CASMailbox" in page
    assert live.guide.client_secret not in page

    tenant.set_cas_mailbox(live.username, imap_enabled=True)
    response = client.post(url("check", live))

    page = response.content.decode()
    assert "Todos los pasos pasaron." in page
    assert "FALLÓ" not in page
    assert "Estado del correo: Activo" in page
    live.refresh_from_db()
    assert live.status == MailboxStatus.ACTIVE
    assert LogEntry.objects.filter(object_id=str(live.pk), action_flag=CHANGE).count() == 2


def test_it_names_a_missing_permission_with_the_token_claims(
    client, alice, fake_entra, configure_live_mailbox
):
    fake_entra.token_lifetime = 60  # msal's cache keeps no token this short-lived
    live = configure_live_mailbox("imap")
    live.guide.app.remove_permission(IMAP_ROLE)
    client.force_login(alice)

    page = client.post(url("check", live)).content.decode()

    assert "Token de Entra ID" in page
    assert "Asignación permisos para IMAP/POP3" in page
    assert '<th scope="row">Roles</th><td>POP.AccessAsApp</td>' in page
    assert live.guide.client_id in page  # appid in the claims summary
    assert live.guide.client_secret not in page


@pytest.mark.parametrize("persona", ["sofia", "root"])
def test_it_lets_soporte_and_superusers_check(client, request, live, persona):
    response = as_user(client, request, persona).post(url("check", live))
    assert response.status_code == 200
    assert "Todos los pasos pasaron." in response.content.decode()


# --- "Reactivar" --------------------------------------------------------------------------------


def test_it_lets_soporte_reactivate_and_records_who(client, sofia, live):
    live.guide.tenant.remove_mailbox_permission(live.username, live.guide.app.enterprise_object_id)
    client.force_login(sofia)
    client.post(url("check", live))
    live.refresh_from_db()
    assert live.status == MailboxStatus.INACTIVE
    assert "Reactivar" in client.get(url("change", live)).content.decode()

    live.guide.tenant.add_mailbox_permission(live.username, live.guide.app.enterprise_object_id)
    response = client.post(url("reactivate", live))

    assert response.status_code == 200
    live.refresh_from_db()
    assert live.status == MailboxStatus.ACTIVE
    change = StatusChange.objects.filter(mailbox=live).first()
    assert (change.from_status, change.to_status) == ("inactive", "active")
    assert (change.actor, change.source) == (sofia, "admin_reactivar")


# --- The backup address of a POP3 mailbox --------------------------------------------------------


def test_it_confirms_the_backup_for_soporte_after_the_intermediate_page(
    client, sofia, pending_pop3
):
    client.force_login(sofia)
    page = client.get(url("change", pending_pop3)).content.decode()
    assert "Confirmar respaldo" in page
    assert "Reenviar enlace" not in page

    response = client.post(url("confirm_backup", pending_pop3))

    assert response.status_code == 200
    assert "¿Confirmar el correo de respaldo?" in response.content.decode()
    assert 'name="confirmado" value="si"' in response.content.decode()
    pending_pop3.refresh_from_db()
    assert pending_pop3.backup_confirmed_at is None

    response = client.post(url("confirm_backup", pending_pop3), {"confirmado": "si"}, follow=True)

    assert response.redirect_chain[-1][0] == url("change", pending_pop3)
    assert "Correo de respaldo confirmado. Estado del correo: Activo" in response.content.decode()
    pending_pop3.refresh_from_db()
    assert pending_pop3.status == MailboxStatus.ACTIVE
    assert pending_pop3.backup_confirmed_by == sofia
    assert pending_pop3.status_changes.first().actor == sofia
    assert LogEntry.objects.filter(object_id=str(pending_pop3.pk), user=sofia).exists()
    assert "Confirmar respaldo" not in response.content.decode()


def test_it_has_no_backup_to_confirm_on_an_imap_mailbox(client, sofia, offline):
    client.force_login(sofia)
    assert "Confirmar respaldo" not in client.get(url("change", offline)).content.decode()
    response = client.post(url("confirm_backup", offline), {"confirmado": "si"}, follow=True)
    assert "no tiene un correo de respaldo por confirmar" in response.content.decode()
    offline.refresh_from_db()
    assert offline.backup_confirmed_at is None


def test_it_resends_the_link_for_back_office(
    client, alice, pending_pop3, django_capture_on_commit_callbacks
):
    client.force_login(alice)
    assert "Reenviar enlace" in client.get(url("change", pending_pop3)).content.decode()
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(url("resend_backup", pending_pop3), follow=True)
    assert "Enviamos un nuevo enlace de confirmación a respaldo@andina.test" in response.text
    (message,) = mail.outbox
    assert message.to == ["respaldo@andina.test"]
    link = message.body.split("http://127.0.0.1:8000", 1)[1].split()[0]
    client.logout()
    assert client.get(link).status_code == 200
    pending_pop3.refresh_from_db()
    assert pending_pop3.status == MailboxStatus.ACTIVE


# --- The mailbox page: diagnosis, runs, history -------------------------------------------------


def test_it_says_when_the_mailbox_was_never_checked(client, alice, offline):
    client.force_login(alice)
    page = client.get(url("change", offline)).content.decode()
    assert "Aún no se ha probado la conexión de este correo." in page


@pytest.mark.parametrize(
    ("persona", "sees_runs"), [("alice", True), ("sofia", True), ("bob", False)]
)
def test_it_shows_recent_fetch_runs_to_back_office_and_soporte(
    client, request, offline, persona, sees_runs
):
    FetchRun.objects.create(
        mailbox=offline,
        trigger="schedule",
        outcome=FetchRun.Outcome.FAILED,
        counts={"seen": 3, "documents": 2},
        error="Conexión rechazada por el servidor",
    )
    page = as_user(client, request, persona).get(url("change", offline)).content.decode()
    assert ("Conexión rechazada por el servidor" in page) is sees_runs
    assert ("Lecturas recientes del buzón" in page) is sees_runs


def test_it_keeps_one_status_history(client, alice, live):
    client.force_login(alice)
    page = client.get(url("change", live)).content.decode()
    assert page.count('id="status_changes-heading"') == 1
