"""Where the mailbox pages leave the user: on the mailbox page with its diagnosis in view after
a save, and on that page (not a bare 405) when an operation's address is opened by hand."""

import pytest
from django.urls import reverse

from reception.forms import RETYPE_HINT
from reception.models import ReceptionMailbox
from tests.factories.mailboxes import make_mailbox
from tests.reception.fake_check import install_fake_check
from tests.reception.mailbox_data import OTHER_GUID, admin_post, modern

pytestmark = pytest.mark.django_db
ADD_URL = reverse("admin:reception_receptionmailbox_add")


def diagnosis_of(mailbox):
    change = reverse("admin:reception_receptionmailbox_change", args=[mailbox.pk])
    return f"{change}#mailbox-diagnosis"


@pytest.fixture
def alice_client(client, alice, monkeypatch):
    install_fake_check(monkeypatch)
    client.force_login(alice)
    return client


@pytest.mark.parametrize("button", ["_save", "_continue"])
def test_adding_lands_on_the_diagnosis(alice_client, org_a, button):
    response = alice_client.post(
        ADD_URL, admin_post(modern(), organization=org_a.pk, **{button: "1"})
    )
    assert response.status_code == 302
    assert response["Location"] == diagnosis_of(ReceptionMailbox.objects.get())


def test_changing_lands_on_the_diagnosis(alice_client, org_a):
    alice_client.post(ADD_URL, admin_post(modern(), organization=org_a.pk))
    mailbox = ReceptionMailbox.objects.get()
    change = reverse("admin:reception_receptionmailbox_change", args=[mailbox.pk])
    response = alice_client.post(change, admin_post(modern(), _save="1"))
    assert response.status_code == 302
    assert response["Location"] == diagnosis_of(mailbox)


def test_a_secret_typed_before_an_error_is_asked_again_with_the_reason(alice_client, org_a):
    data = admin_post(modern(tenant_id_confirm=OTHER_GUID), organization=org_a.pk)
    page = alice_client.post(ADD_URL, data).content.decode()
    assert page.count(str(RETYPE_HINT)) == 2  # the secret and its confirmation
    assert not ReceptionMailbox.objects.exists()


def test_the_intro_names_the_field_as_the_form_does(alice_client):
    page = alice_client.get(ADD_URL).content.decode()
    assert "Si el Protocolo de Acceso de este correo es IMAP" in page


@pytest.mark.parametrize("operation", ["check", "reactivate", "confirm_backup", "resend_backup"])
def test_opening_an_operation_by_address_leads_to_the_mailbox_page(client, bob, org_a, operation):
    mailbox = make_mailbox(org_a)
    client.force_login(bob)  # Contador: sees the mailbox, may run none of these
    url = reverse(f"admin:reception_receptionmailbox_{operation}", args=[mailbox.pk])
    response = client.get(url, follow=True)
    assert response.redirect_chain == [(diagnosis_of(mailbox), 302)]
    assert "usa el botón correspondiente" in response.content.decode()
