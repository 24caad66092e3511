"""A role counts only in the organization of its membership; Soporte only for Soporte's work.

Two holes this closes: Soporte who was also Back office of organization B could rotate the
secret of organization A (its Back office permission counted everywhere), and Soporte could
read every organization's mail through the triage list and its .eml download, and reprocess it.
"""

import pytest
from django.contrib.auth.models import Group, Permission
from django.urls import reverse
from django.utils.functional import empty

from config.storage import private_storage
from invoices.models import ReceivedDocument
from organizations.roles import SOPORTE_GROUP, Role
from organizations.services import membership_set
from reception.models import FetchRun, MailboxStatus, MessageOutcome, Protocol, Secret
from tests.conftest import PASSWORD
from tests.factories.documents import IncomingMessageFactory, ReceivedDocumentFactory
from tests.factories.mailboxes import make_mailbox
from tests.reception.mailbox_data import NEW_SECRET, SECRET, in_days

TRIAGE = reverse("admin:reception_incomingmessage_changelist")
SUBJECT_A = "900555111;PROVEEDORA ANDINA S.A.S.;FE4711;01;PROVEEDORA"
SENDER_A = "Proveedora Andina <facturacion@proveedora-andina.example.test>"
SUBJECT_B = "811222333;PROVEEDORA PACIFICO S.A.;FB0815;01;PACIFICO"


@pytest.fixture(autouse=True)
def private_files(settings, tmp_path, monkeypatch):
    settings.PRIVATE_STORAGE_ROOT = tmp_path / "private"
    monkeypatch.setattr(private_storage, "_wrapped", empty)


@pytest.fixture
def mailbox_a(org_a):
    return make_mailbox(
        org_a,
        secret=SECRET,
        protocol=Protocol.POP3,
        status=MailboxStatus.PENDING,
        backup_email="respaldo@andina.example.test",
        notification_email="ti@andina.example.test",
    )


@pytest.fixture
def mailbox_b(org_b):
    return make_mailbox(org_b, username="recepcion@pacifico.example.test")


def staff_user(django_user_model, username):
    return django_user_model.objects.create_user(
        username=username, password=PASSWORD, email=f"{username}@example.test", is_staff=True
    )


@pytest.fixture
def soporte_and_back_office_of_b(sofia, org_b):
    membership_set(user=sofia, organization=org_b, role=Role.BACK_OFFICE)
    return sofia


@pytest.fixture
def soporte_and_contador_of_b(django_user_model, org_b, role_groups):
    user = staff_user(django_user_model, "sara")
    user.groups.add(Group.objects.get(name=SOPORTE_GROUP))
    membership_set(user=user, organization=org_b, role=Role.CONTADOR)
    return user


def mailbox_url(mailbox, view):
    return reverse(f"admin:reception_receptionmailbox_{view}", args=[mailbox.pk])


def message_url(message, view):
    return reverse(f"admin:reception_incomingmessage_{view}", args=[message.pk])


def secret_fingerprint(mailbox):
    mailbox.refresh_from_db()
    secrets = [
        (s.pk, s.value, s.notification_email, s.is_current, s.expires_on)
        for s in Secret.objects.filter(mailbox=mailbox).order_by("pk")
    ]
    return secrets, mailbox.status, mailbox.status_changes.count()


# --- Finding 2: a Back office role elsewhere does not let Soporte rotate A's secret -------------


def test_it_refuses_soporte_with_back_office_of_b_the_secret_page_of_a(
    client, soporte_and_back_office_of_b, mailbox_a, mailbox_b
):
    client.force_login(soporte_and_back_office_of_b)
    before = secret_fingerprint(mailbox_a)

    assert client.get(mailbox_url(mailbox_a, "rotate_secret")).status_code == 403
    response = client.post(
        mailbox_url(mailbox_a, "rotate_secret"),
        {
            "secret": NEW_SECRET,
            "secret_confirm": NEW_SECRET,
            "secret_expires_on": in_days(200),
            "notification_email": "atacante@example.test",
        },
    )

    assert response.status_code == 403
    assert secret_fingerprint(mailbox_a) == before
    assert mailbox_a.current_secret.value == SECRET
    page = client.get(mailbox_url(mailbox_a, "change")).content.decode()
    assert "Actualizar secreto" not in page
    assert "Hay un secreto configurado" not in page


def test_it_refuses_soporte_with_back_office_of_b_the_configuration_of_a(
    client, soporte_and_back_office_of_b, mailbox_a, mailbox_b
):
    client.force_login(soporte_and_back_office_of_b)
    before = secret_fingerprint(mailbox_a)

    assert (
        client.post(mailbox_url(mailbox_a, "change"), {"host": "evil.example"}).status_code == 403
    )
    assert client.post(mailbox_url(mailbox_a, "resend_backup")).status_code == 403

    assert secret_fingerprint(mailbox_a) == before
    mailbox_a.refresh_from_db()
    assert mailbox_a.host == "outlook.office365.com"
    assert mailbox_a.backup_confirmation_nonce is None


def test_it_keeps_the_back_office_role_where_it_was_given(
    client, soporte_and_back_office_of_b, mailbox_b
):
    client.force_login(soporte_and_back_office_of_b)
    page = client.get(mailbox_url(mailbox_b, "change")).content.decode()
    assert "Actualizar secreto" in page
    assert client.get(mailbox_url(mailbox_b, "rotate_secret")).status_code == 200


def test_it_refuses_a_secret_rotation_granted_only_as_a_django_permission(
    client, django_user_model, org_b, mailbox_a, role_groups
):
    """The role in the organization decides; a stray permission on the account does not."""
    user = staff_user(django_user_model, "permisos")
    user.user_permissions.add(
        *Permission.objects.filter(
            codename__in=[
                "view_receptionmailbox",
                "change_receptionmailbox",
                "rotate_secret_receptionmailbox",
                "view_secret",
            ]
        )
    )
    client.force_login(user)
    before = secret_fingerprint(mailbox_a)

    assert client.get(mailbox_url(mailbox_a, "rotate_secret")).status_code == 404
    assert client.get(reverse("admin:reception_receptionmailbox_changelist")).status_code == 403
    assert secret_fingerprint(mailbox_a) == before


# --- Finding 3: Soporte never reads the mail -----------------------------------------------------


@pytest.fixture
def mail_a(mailbox_a):
    return IncomingMessageFactory(
        mailbox=mailbox_a,
        subject=SUBJECT_A,
        sender=SENDER_A,
        outcome=MessageOutcome.ERROR,
        reason_code="no_zip",
        reason="El correo no trae el ZIP de la factura.",
        attempts=1,
        with_raw=True,
    )


@pytest.fixture
def mail_b(mailbox_b):
    return IncomingMessageFactory(
        mailbox=mailbox_b, subject=SUBJECT_B, outcome=MessageOutcome.ERROR, with_raw=True
    )


def reprocess(client, *messages):
    return client.post(
        TRIAGE + "?resultado=todos",
        {"action": "reprocess", "_selected_action": [m.pk for m in messages]},
    )


def test_it_refuses_soporte_the_original_mail(client, sofia, mail_a):
    client.force_login(sofia)

    response = client.get(message_url(mail_a, "eml"))

    assert response.status_code == 403
    assert client.get(message_url(mail_a, "change")).status_code == 403
    assert client.get(message_url(mail_a, "history")).status_code == 403


def test_it_shows_soporte_no_subject_or_sender_of_the_mail(client, sofia, mail_a, mailbox_a):
    FetchRun.objects.create(
        mailbox=mailbox_a,
        trigger="schedule",
        outcome=FetchRun.Outcome.OK,
        counts={"seen": 1, "errors": {"no_zip": 1}},
    )
    client.force_login(sofia)

    assert client.get(TRIAGE, {"resultado": "todos"}).status_code == 403
    runs = client.get(reverse("admin:reception_fetchrun_changelist"))
    mailbox_page = client.get(mailbox_url(mailbox_a, "change"))
    index = client.get(reverse("admin:index"))

    assert runs.status_code == mailbox_page.status_code == index.status_code == 200
    assert "1 leídos" in runs.content.decode()  # counts and errors by reason stay visible
    for response in (runs, mailbox_page, index):
        page = response.content.decode()
        assert "FE4711" not in page
        assert "proveedora-andina" not in page
        assert TRIAGE not in page


def test_it_refuses_reprocesar_to_soporte(client, sofia, mail_a):
    client.force_login(sofia)

    assert reprocess(client, mail_a).status_code == 403

    mail_a.refresh_from_db()
    assert (mail_a.outcome, mail_a.attempts) == (MessageOutcome.ERROR, 1)


def test_it_gives_soporte_with_contador_of_b_only_bs_mail(
    client, soporte_and_contador_of_b, mail_a, mail_b
):
    client.force_login(soporte_and_contador_of_b)

    response = client.get(TRIAGE, {"resultado": "todos"})

    assert response.status_code == 200
    assert [m.pk for m in response.context["cl"].result_list] == [mail_b.pk]
    page = response.content.decode()
    assert "FE4711" not in page
    assert "proveedora-andina" not in page
    assert client.get(message_url(mail_a, "eml")).status_code == 403
    reprocess(client, mail_a)
    mail_a.refresh_from_db()
    assert (mail_a.outcome, mail_a.attempts) == (MessageOutcome.ERROR, 1)


def test_it_refuses_soporte_every_document_file(client, soporte_and_back_office_of_b, org_a):
    document = ReceivedDocumentFactory(organization=org_a, with_files=True)
    client.force_login(soporte_and_back_office_of_b)
    for view in ("change", "pdf", "pdf_download", "xml", "eml"):
        url = reverse(f"admin:invoices_receiveddocument_{view}", args=[document.pk])
        assert client.get(url).status_code == 403, view
    export = reverse("admin:invoices_receiveddocument_export_csv")
    assert document.number not in b"".join(client.get(export).streaming_content).decode()
    assert ReceivedDocument.objects.get().review_status == "pending"


@pytest.mark.parametrize(
    ("persona", "sees"),
    [("alice", True), ("root", True), ("bob", False), ("sofia", False), ("charlie", None)],
)
def test_it_shows_the_secret_summary_and_history_only_to_back_office(
    client, request, mailbox_a, persona, sees
):
    client.force_login(request.getfixturevalue(persona))
    response = client.get(mailbox_url(mailbox_a, "change"))
    if sees is None:
        assert response.status_code == 404
        return
    page = response.content.decode()
    assert ("Hay un secreto configurado" in page) is sees
    assert ('id="secrets-group"' in page) is sees
    assert SECRET not in page
