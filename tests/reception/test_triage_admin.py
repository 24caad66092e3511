"""The triage: recorded mail that produced no document, its reason, the original .eml, and
"Reprocesar" — mail fetched for real from Dovecot, then worked on through the admin."""

import hashlib

import pytest
from django.contrib.auth.models import Permission
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from invoices.models import ReceivedDocument
from reception.fetching import mailbox_fetch
from reception.models import IncomingMessage, MailboxStatus, MessageOutcome
from tests.factories.dian import build_mail, make_email
from tests.factories.documents import IncomingMessageFactory
from tests.factories.mailboxes import make_mailbox

pytestmark = pytest.mark.django_db

CHANGELIST = reverse("admin:reception_incomingmessage_changelist")


def eml_url(message):
    return reverse("admin:reception_incomingmessage_eml", args=[message.pk])


def change_url(message):
    return reverse("admin:reception_incomingmessage_change", args=[message.pk])


@pytest.fixture
def fetched(configure_live_mailbox, dovecot):
    """Org A's mailbox after one real fetch: a document, its duplicate, an invoice for another
    buyer and a mail that is not a DIAN document."""
    mailbox = configure_live_mailbox("imap")
    assert mailbox.status == MailboxStatus.ACTIVE, mailbox.status_reason
    invoice = build_mail(seed=1, number="FE1")
    duplicate = build_mail(seed=1, number="FE1", message_id="<reenvio@proveedor.example>")
    other_buyer = build_mail(seed=2, number="FE2", buyer_nit="830003564")
    greeting = make_email(
        subject="Feliz navidad", attachments=[], message_id="<saludo@proveedor.example>"
    )
    dovecot.deliver_many(mailbox.username, [invoice.raw, duplicate.raw, other_buyer.raw, greeting])
    summary = mailbox_fetch(mailbox, trigger="test")
    assert (summary.seen, summary.documents, summary.duplicates) == (4, 1, 1)
    by = {m.outcome: m for m in IncomingMessage.objects.filter(mailbox=mailbox)}
    return {
        "mailbox": mailbox,
        "document": by[MessageOutcome.DOCUMENT],
        "duplicate": by[MessageOutcome.DUPLICATE],
        "other_buyer": by[MessageOutcome.REJECTED],
        "not_dian": by[MessageOutcome.NOT_DIAN],
        "raw": {"other_buyer": other_buyer.raw},
    }


def listed(response):
    return {row.pk for row in response.context["cl"].result_list}


# --- The list ----------------------------------------------------------------------------------


def test_it_lists_only_mail_without_a_document_by_default(client, bob, fetched):
    client.force_login(bob)
    response = client.get(CHANGELIST)
    assert response.status_code == 200
    assert listed(response) == {
        fetched["duplicate"].pk,
        fetched["other_buyer"].pk,
        fetched["not_dian"].pk,
    }
    page = response.content.decode()
    assert "documento no dirigido a esta organización" in page
    assert "Duplicado: el CUFE" in page
    assert "Sin documento" in page
    for header in ("Leído", "Remitente", "Asunto", "Resultado", "Motivo", "Estado en el servidor"):
        assert header in page, header


def test_it_filters_all_one_outcome_one_reason_and_searches(client, bob, fetched):
    client.force_login(bob)
    assert len(listed(client.get(CHANGELIST, {"resultado": "todos"}))) == 4
    assert listed(client.get(CHANGELIST, {"resultado": "document"})) == {fetched["document"].pk}
    assert listed(client.get(CHANGELIST, {"motivo": "wrong_buyer"})) == {fetched["other_buyer"].pk}
    assert listed(client.get(CHANGELIST, {"q": "Feliz navidad"})) == {fetched["not_dian"].pk}
    assert listed(client.get(CHANGELIST, {"q": "reenvio@proveedor"})) == {fetched["duplicate"].pk}
    mailbox = fetched["mailbox"]
    assert len(listed(client.get(CHANGELIST, {"buzon": mailbox.pk, "resultado": "todos"}))) == 4


def test_it_scopes_the_list_the_filters_and_the_pages_to_the_organization(
    client, charlie, org_b, fetched
):
    make_mailbox(org_b)
    client.force_login(charlie)
    response = client.get(CHANGELIST, {"resultado": "todos"})
    assert response.status_code == 200
    assert listed(response) == set()
    assert fetched["mailbox"].username not in response.content.decode()  # not even as a filter
    assert "wrong_buyer" not in response.content.decode()
    message = fetched["other_buyer"]
    assert client.get(change_url(message)).status_code == 404
    assert client.get(eml_url(message)).status_code == 404


def test_it_never_shows_soporte_the_mail(client, sofia, fetched):
    """Senders, subjects and originals are the mail's content: not Soporte's (its fetch runs
    keep the counts and the errors by reason)."""
    client.force_login(sofia)
    response = client.get(CHANGELIST, {"resultado": "todos"})
    assert response.status_code == 403
    assert "Feliz navidad" not in response.content.decode()
    assert client.get(change_url(fetched["not_dian"])).status_code == 403
    assert client.get(eml_url(fetched["not_dian"])).status_code == 403


def test_it_shows_a_read_only_message_page_linking_the_eml(client, bob, fetched):
    client.force_login(bob)
    message = fetched["other_buyer"]
    response = client.get(change_url(message))
    assert response.status_code == 200
    page = response.content.decode()
    assert eml_url(message) in page
    assert 'name="_save"' not in page
    assert "/media/" not in page
    assert client.post(change_url(message), {"subject": "x"}).status_code == 403


def test_it_runs_a_constant_number_of_queries_per_page(client, bob, org_a):
    mailbox = make_mailbox(org_a)
    client.force_login(bob)

    def queries():
        with CaptureQueriesContext(connection) as captured:
            assert client.get(CHANGELIST).status_code == 200
        return len(captured)

    IncomingMessageFactory.create_batch(2, mailbox=mailbox, outcome=MessageOutcome.ERROR)
    few = queries()
    IncomingMessageFactory.create_batch(40, mailbox=mailbox, outcome=MessageOutcome.NOT_DIAN)
    assert queries() == few


# --- The original e-mail ------------------------------------------------------------------------


def test_it_downloads_the_original_as_an_attachment(client, bob, fetched):
    client.force_login(bob)
    message = fetched["other_buyer"]
    response = client.get(eml_url(message))
    assert response.status_code == 200
    assert response["Content-Type"] == "message/rfc822"
    assert response["Content-Disposition"] == f'attachment; filename="correo-{message.pk}.eml"'
    assert response["X-Content-Type-Options"] == "nosniff"
    content = b"".join(response.streaming_content)
    assert hashlib.sha256(content).hexdigest() == message.sha256  # the bytes the server gave
    assert content.replace(b"\r\n", b"\n") == fetched["raw"]["other_buyer"].replace(b"\r\n", b"\n")


def test_it_refuses_a_post_to_the_download_with_405(client, bob, fetched):
    client.force_login(bob)
    assert client.post(eml_url(fetched["other_buyer"])).status_code == 405


def test_it_refuses_the_download_to_a_permission_without_a_role(client, django_user_model, fetched):
    """The role in the organization decides, not a Django permission given to the account."""
    user = django_user_model.objects.create_user("temp", password="x", is_staff=True)
    user.user_permissions.add(Permission.objects.get(codename="view_incomingmessage"))
    client.force_login(user)
    assert client.get(eml_url(fetched["other_buyer"])).status_code == 404


# --- Reprocesar ---------------------------------------------------------------------------------


def reprocess(client, messages, **query):
    url = CHANGELIST + ("?" + "&".join(f"{k}={v}" for k, v in query.items()) if query else "")
    return client.post(
        url,
        {"action": "reprocess", "_selected_action": [m.pk for m in messages]},
        follow=True,
    )


def test_it_keeps_a_reprocessed_wrong_buyer_rejected_with_its_reason(client, bob, fetched):
    message = fetched["other_buyer"]
    reason = message.reason
    client.force_login(bob)

    response = reprocess(client, [message])

    assert "Se reprocesó 1 correo; 0 quedaron registrados como documento." in response.text
    message.refresh_from_db()
    assert (message.outcome, message.reason_code, message.reason) == (
        MessageOutcome.REJECTED,
        "wrong_buyer",
        reason,
    )
    assert message.attempts == 2
    assert ReceivedDocument.objects.count() == 1


def test_it_registers_a_duplicate_whose_document_was_deleted(client, bob, fetched):
    document = ReceivedDocument.objects.get()
    cufe = document.cufe
    document.delete()
    client.force_login(bob)

    response = reprocess(client, [fetched["duplicate"], fetched["not_dian"]])

    assert "Se reprocesaron 2 correos; 1 quedó registrado como documento." in response.text
    duplicate = fetched["duplicate"]
    duplicate.refresh_from_db()
    assert duplicate.outcome == MessageOutcome.DOCUMENT
    registered = ReceivedDocument.objects.get()
    assert (registered.cufe, registered.source_message) == (cufe, duplicate)
    fetched["not_dian"].refresh_from_db()
    assert fetched["not_dian"].outcome == MessageOutcome.NOT_DIAN


def test_it_leaves_a_message_with_its_document_alone(client, bob, fetched):
    client.force_login(bob)
    response = reprocess(client, [fetched["document"]], resultado="todos")
    assert "Se reprocesaron 0 correos" in response.text
    assert ReceivedDocument.objects.count() == 1


def test_it_ignores_an_outsiders_forged_ids(client, charlie, fetched):
    ReceivedDocument.objects.all().delete()
    client.force_login(charlie)
    reprocess(client, [fetched["duplicate"]])
    fetched["duplicate"].refresh_from_db()
    assert fetched["duplicate"].outcome == MessageOutcome.DUPLICATE
    assert fetched["duplicate"].attempts == 1


def test_it_leaves_reprocesar_to_the_contador(client, alice, fetched):
    """Back office reads the mail of its organization; reprocessing it is Contador's."""
    ReceivedDocument.objects.all().delete()
    client.force_login(alice)
    response = client.get(CHANGELIST)
    assert response.status_code == 200
    assert "Reprocesar" not in response.content.decode()
    reprocess(client, [fetched["duplicate"]])
    fetched["duplicate"].refresh_from_db()
    assert fetched["duplicate"].outcome == MessageOutcome.DUPLICATE
