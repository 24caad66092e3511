"""«Actualizar secreto»: the admin page, its form (the configuration form's own rules) and
`secret_rotate`, end to end: a secret that expired at Entra ID → Inactivo → rotated → Activo."""

import datetime
from datetime import UTC, timedelta

import pytest
from django.contrib.admin.models import CHANGE, LogEntry
from django.core.exceptions import ValidationError
from django.urls import reverse

from reception.forms import SecretRotationForm
from reception.models import MailboxStatus, Secret, ServerType
from reception.services import (
    BackupNotAwaitingConfirmation,
    SecretNotApplicable,
    backup_confirm_manually,
    backup_confirmation_send,
    mailbox_check,
    secret_rotate,
)
from tests.factories.mailboxes import make_mailbox
from tests.reception.mailbox_data import NEW_SECRET, OTHER_GUID, SECRET, in_days

pytestmark = pytest.mark.django_db


def rotate_url(mailbox):
    return reverse("admin:reception_receptionmailbox_rotate_secret", args=[mailbox.pk])


def change_url(mailbox):
    return reverse("admin:reception_receptionmailbox_change", args=[mailbox.pk])


def typed(secret=NEW_SECRET, **overrides):
    data = {
        "secret": secret,
        "secret_confirm": secret,
        "secret_expires_on": in_days(90),
        "notification_email": "ti@andina.example.test",
    }
    data.update(overrides)
    return data


@pytest.fixture
def mailbox(org_a):
    return make_mailbox(org_a, secret=SECRET, status=MailboxStatus.INACTIVE)


# --- The form: the configuration form's rules ------------------------------------------------

INVALID = [
    (
        "space inside",
        typed("abc8Q~ kLp2.Vd7"),
        "secret",
        "Revisa que no se tengan espacios en los datos copiados",
    ),
    ("secret id pasted", typed(OTHER_GUID), "secret", "Id. de secreto"),
    ("mismatch", typed(secret_confirm=SECRET), "secret_confirm", "no coincide"),
    ("missing", typed(""), "secret", "obligatorio"),
    ("expiry today", typed(secret_expires_on=in_days(0)), "secret_expires_on", "posterior a hoy"),
    ("expiry without e-mail", typed(notification_email=""), "notification_email", "Correo"),
    ("bad e-mail", typed(notification_email="ti@"), "notification_email", "correo electrónico"),
    (
        "e-mail with a space",
        typed(notification_email="ti @andina.test"),
        "notification_email",
        "espacios",
    ),
    ("control character", typed("Zr3~Hn8\x1b[2J.Pq1"), "secret", "caracteres de control"),
]


@pytest.mark.parametrize(
    ("data", "field", "words"), [case[1:] for case in INVALID], ids=[c[0] for c in INVALID]
)
def test_it_refuses_what_the_configuration_form_refuses(data, field, words):
    form = SecretRotationForm(data)
    assert not form.is_valid()
    assert any(words in message for message in form.errors[field]), form.errors


def test_it_strips_pasted_line_breaks_and_allows_no_expiry():
    form = SecretRotationForm(
        typed(f" {NEW_SECRET}\r\n", secret_expires_on="", secret_confirm=NEW_SECRET)
    )
    assert form.is_valid(), form.errors
    assert form.cleaned_data["secret"] == NEW_SECRET
    assert form.cleaned_data["secret_expires_on"] is None


# --- The page --------------------------------------------------------------------------------


def test_it_shows_the_form_without_any_secret(client, alice, mailbox):
    client.force_login(alice)
    response = client.get(rotate_url(mailbox))
    assert response.status_code == 200
    page = response.content.decode()
    for label in ("Secreto", "Confirmar Secreto", "Fecha Expiración", "Correo Notificación"):
        assert label in page
    assert "Revisa que no se tengan espacios en los datos copiados" in page
    assert 'value="ti@example.test"' in page  # the current notification address, suggested
    assert SECRET not in page


@pytest.mark.parametrize(("persona", "status"), [("charlie", 404), ("bob", 403), ("sofia", 403)])
def test_it_refuses_outsiders_and_roles_without_the_permission(
    client, request, mailbox, persona, status
):
    client.force_login(request.getfixturevalue(persona))
    assert client.get(rotate_url(mailbox)).status_code == status
    assert client.post(rotate_url(mailbox), typed()).status_code == status
    assert mailbox.current_secret.value == SECRET


def test_it_refuses_other_methods_with_405(client, alice, mailbox):
    client.force_login(alice)
    assert client.put(rotate_url(mailbox)).status_code == 405
    assert client.delete(rotate_url(mailbox)).status_code == 405


def test_it_has_nothing_to_rotate_without_modern_auth(client, alice, org_a):
    basic = make_mailbox(org_a, server_type=ServerType.OUTLOOK_BASIC, password="pw", secret="")
    client.force_login(alice)
    page = client.get(change_url(basic)).content.decode()
    assert "Actualizar secreto" not in page
    response = client.post(rotate_url(basic), typed(), follow=True)
    assert response.redirect_chain[-1][0] == change_url(basic)
    assert "no usa secreto" in response.content.decode()
    assert not Secret.objects.filter(mailbox=basic).exists()


@pytest.mark.parametrize(
    ("data", "field", "words"), [case[1:] for case in INVALID], ids=[c[0] for c in INVALID]
)
def test_it_shows_each_error_and_changes_nothing(client, alice, mailbox, data, field, words):
    client.force_login(alice)
    response = client.post(rotate_url(mailbox), data)
    assert response.status_code == 200
    assert any(words in message for message in response.context["form"].errors[field])
    page = response.content.decode()
    assert NEW_SECRET not in page
    assert SECRET not in page
    assert Secret.objects.filter(mailbox=mailbox).count() == 1
    assert mailbox.current_secret.value == SECRET
    assert mailbox.status_changes.count() == 0


# --- End to end -------------------------------------------------------------------------------


def test_it_brings_back_a_mailbox_whose_secret_expired_at_entra(
    client, alice, fake_entra, configure_live_mailbox
):
    fake_entra.token_lifetime = 60  # msal's cache keeps no token this short-lived
    live = configure_live_mailbox("imap")
    assert live.status == MailboxStatus.ACTIVE
    old = live.current_secret
    live.guide.secret.expires_at = datetime.datetime.now(UTC) - timedelta(days=1)
    client.force_login(alice)

    page = client.post(
        reverse("admin:reception_receptionmailbox_check", args=[live.pk])
    ).content.decode()

    assert "AADSTS7000222" in page
    assert "Actualización de secreto en aplicación existente" in page
    live.refresh_from_db()
    assert live.status == MailboxStatus.INACTIVE

    new = live.guide.app.add_secret(description="Recepcion FE 2")
    response = client.post(
        rotate_url(live), typed(new.value, secret_expires_on=in_days(180)), follow=True
    )

    assert response.redirect_chain[-1][0] == change_url(live)
    page = response.content.decode()
    assert "Secreto actualizado. Estado del correo: Activo" in page
    assert new.value not in page
    live.refresh_from_db()
    assert live.status == MailboxStatus.ACTIVE
    change = live.status_changes.first()
    assert (change.to_status, change.actor, change.source) == ("active", alice, "admin")
    old.refresh_from_db()
    assert (old.is_current, old.value) == (False, None)
    assert old.retired_at is not None
    current = live.current_secret
    assert current.value == new.value
    assert current.created_by == alice
    assert current.expires_on.isoformat() == in_days(180)
    assert LogEntry.objects.filter(
        object_id=str(live.pk), action_flag=CHANGE, change_message="Actualizó el secreto."
    ).exists()


def test_it_leaves_the_mailbox_inactive_with_a_secret_unknown_to_entra(
    client, alice, configure_live_mailbox
):
    live = configure_live_mailbox("imap")
    client.force_login(alice)
    response = client.post(rotate_url(live), typed(), follow=True)
    assert "Secreto actualizado. Estado del correo: Inactivo" in response.content.decode()
    live.refresh_from_db()
    assert live.status == MailboxStatus.INACTIVE
    assert "AADSTS7000215" in live.status_reason


# --- Service guards ----------------------------------------------------------------------------


def test_it_refuses_to_store_a_secret_without_modern_auth(org_a):
    basic = make_mailbox(org_a, server_type=ServerType.OUTLOOK_BASIC, password="pw", secret="")
    with pytest.raises(SecretNotApplicable):
        secret_rotate(basic, value=NEW_SECRET, expires_on=None, notification_email="", source="t")
    assert not Secret.objects.filter(mailbox=basic).exists()


def test_it_refuses_backup_operations_with_nothing_to_confirm(org_a, sofia):
    imap = make_mailbox(org_a, backup_email="")
    with pytest.raises(BackupNotAwaitingConfirmation):
        backup_confirm_manually(imap, actor=sofia)
    with pytest.raises(BackupNotAwaitingConfirmation):
        backup_confirmation_send(imap)
    imap.refresh_from_db()
    assert imap.backup_confirmed_at is None
    assert imap.backup_confirmation_nonce is None


@pytest.mark.parametrize(
    "value",
    ["Zr3~Hn8.Pq1_\udcff\udcfeLk6-Tw2", "Zr3~Hn8\x1b[2J.Pq1_Lk6", "Zr3~Hn8.Pq1 Lk6", "Zr3~" * 200],
    ids=["undecodable", "control", "space", "overlong"],
)
def test_it_keeps_the_working_secret_when_the_new_one_cannot_be_sent(configure_live_mailbox, value):
    live = configure_live_mailbox("imap")
    working = live.current_secret

    with pytest.raises(ValidationError) as refused:
        secret_rotate(live, value=value, expires_on=None, notification_email="", source="test")

    assert "secret" in refused.value.message_dict
    assert value not in str(refused.value)
    assert list(Secret.objects.filter(mailbox=live)) == [working]
    assert live.current_secret.value == working.value
    live.refresh_from_db()
    assert live.status == MailboxStatus.ACTIVE
    assert mailbox_check(live, source="test").ok
    live.refresh_from_db()
    assert live.status == MailboxStatus.ACTIVE, live.status_reason
