"""The PDF, XML and original e-mail: served only through permission-checked views."""

import pytest
from django.urls import reverse

from tests.factories.documents import PDF_BYTES, IncomingMessageFactory, ReceivedDocumentFactory
from tests.factories.mailboxes import make_mailbox

FILE_VIEWS = ["pdf", "pdf_download", "xml", "eml"]


@pytest.fixture
def invoice(org_a, private_storage_root):
    message = IncomingMessageFactory(mailbox=make_mailbox(org_a), with_raw=True)
    return ReceivedDocumentFactory(
        organization=org_a, number="FE 1001", source_message=message, with_files=True
    )


def url(view, document):
    return reverse(f"admin:invoices_receiveddocument_{view}", args=[document.pk])


def test_it_shows_the_pdf_inline_and_frameable_by_the_same_site(client, bob, invoice):
    client.force_login(bob)

    response = client.get(url("pdf", invoice))

    assert response.status_code == 200
    assert response["Content-Type"] == "application/pdf"
    assert response["Content-Disposition"] == 'inline; filename="Factura-FE_1001.pdf"'
    assert response["X-Content-Type-Options"] == "nosniff"
    assert response["X-Frame-Options"] == "SAMEORIGIN"
    assert "no-store" in response["Cache-Control"]
    assert b"".join(response.streaming_content) == PDF_BYTES


@pytest.mark.parametrize(
    ("view", "content_type", "extension"),
    [
        ("pdf_download", "application/pdf", "pdf"),
        ("xml", "application/xml", "xml"),
        ("eml", "message/rfc822", "eml"),
    ],
)
def test_it_downloads_each_file_as_an_attachment(
    client, alice, invoice, view, content_type, extension
):
    client.force_login(alice)

    response = client.get(url(view, invoice))

    assert response.status_code == 200
    assert response["Content-Type"] == content_type
    assert response["Content-Disposition"] == (
        f'attachment; filename="Factura-FE_1001.{extension}"'
    )
    assert response["X-Content-Type-Options"] == "nosniff"
    assert b"".join(response.streaming_content)


@pytest.mark.parametrize("view", FILE_VIEWS)
def test_it_hides_the_files_from_another_organization(client, charlie, invoice, view):
    client.force_login(charlie)

    assert client.get(url(view, invoice)).status_code == 404


@pytest.mark.parametrize("view", FILE_VIEWS)
def test_it_refuses_the_files_to_soporte(client, sofia, invoice, view):
    client.force_login(sofia)

    assert client.get(url(view, invoice)).status_code == 403


@pytest.mark.parametrize("view", FILE_VIEWS)
def test_it_sends_anonymous_users_to_the_login(client, invoice, view):
    response = client.get(url(view, invoice))

    assert response.status_code == 302
    assert reverse("admin:login") in response["Location"]


@pytest.mark.parametrize("view", FILE_VIEWS)
def test_it_lets_a_superuser_download(client, root, invoice, view):
    client.force_login(root)

    assert client.get(url(view, invoice)).status_code == 200


def test_it_answers_404_when_a_file_is_missing(client, bob, org_a, private_storage_root):
    bare = ReceivedDocumentFactory(organization=org_a)
    client.force_login(bob)

    for view in FILE_VIEWS:
        assert client.get(url(view, bare)).status_code == 404


def test_it_never_exposes_a_media_url(client, bob, invoice, settings):
    client.force_login(bob)

    page = client.get(reverse("admin:invoices_receiveddocument_change", args=[invoice.pk]))

    assert invoice.pdf_file.name not in page.content.decode()
    for prefix in ("/", "/media/", "/media/private/"):
        assert client.get(prefix + invoice.pdf_file.name).status_code == 404


def test_it_gives_stored_files_no_public_url(invoice):
    with pytest.raises(ValueError, match="no public URL"):
        invoice.pdf_file.url  # noqa: B018 - the attribute access is what must fail
