"""The document list and page: scoping by organization and role, columns, search, filters."""

import datetime
from decimal import Decimal

import pytest
import time_machine
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from invoices.display import format_amount
from invoices.models import ReceivedDocument, ReviewStatus
from invoices.selectors import search_documents
from tests.factories.documents import (
    DocumentTaxFactory,
    IncomingMessageFactory,
    ReceivedDocumentFactory,
)
from tests.factories.mailboxes import make_mailbox

CHANGELIST = reverse("admin:invoices_receiveddocument_changelist")
BOGOTA = datetime.timezone(datetime.timedelta(hours=-5))


def change_url(document):
    return reverse("admin:invoices_receiveddocument_change", args=[document.pk])


@pytest.fixture
def invoice(org_a):
    return ReceivedDocumentFactory(organization=org_a, number="FE1001")


@pytest.fixture
def other_invoice(org_b):
    return ReceivedDocumentFactory(organization=org_b, number="FB2002", supplier_nit="811222333")


def listed_numbers(response):
    return [document.number for document in response.context["cl"].result_list]


# --- The list --------------------------------------------------------------------------------


@pytest.mark.parametrize("persona", ["alice", "bob", "root"])
def test_it_lists_the_organizations_documents(client, request, invoice, other_invoice, persona):
    user = request.getfixturevalue(persona)
    client.force_login(user)

    response = client.get(CHANGELIST)

    assert response.status_code == 200
    expected = ["FE1001", "FB2002"] if persona == "root" else ["FE1001"]
    assert sorted(listed_numbers(response)) == sorted(expected)


def test_it_lists_only_the_outsiders_own_organization(client, charlie, invoice, other_invoice):
    client.force_login(charlie)

    response = client.get(CHANGELIST)

    assert listed_numbers(response) == ["FB2002"]
    assert "FE1001" not in response.content.decode()


def test_it_refuses_the_list_to_soporte(client, sofia, invoice):
    client.force_login(sofia)

    assert client.get(CHANGELIST).status_code == 403


def test_it_sends_anonymous_users_to_the_login(client, invoice):
    response = client.get(CHANGELIST)

    assert response.status_code == 302
    assert reverse("admin:login") in response["Location"]


def test_it_sorts_newest_first(client, bob, org_a):
    for day in (3, 1, 2):
        ReceivedDocumentFactory(
            organization=org_a, number=f"FE{day}", issue_date=datetime.date(2026, 3, day)
        )
    client.force_login(bob)

    assert listed_numbers(client.get(CHANGELIST)) == ["FE3", "FE2", "FE1"]


def test_it_shows_the_columns_an_accountant_reads(client, bob, org_a):
    ReceivedDocumentFactory(
        organization=org_a,
        number="FE77",
        payable_amount=Decimal("1234567.891"),
        supplier_name="Ferretería El Tornillo",
    )
    ReceivedDocumentFactory(organization=org_a, number="NC5", credit_note=True)
    ReceivedDocumentFactory(
        organization=org_a, number="EXP1", currency="USD", payable_amount=Decimal("1500.5")
    )
    client.force_login(bob)

    page = client.get(CHANGELIST).content.decode()

    assert "$ 1.234.567,89" in page
    assert "USD 1.500,50" in page
    assert "Ferretería El Tornillo" in page
    assert "Nota crédito" in page
    assert "Pendiente" in page


@pytest.mark.parametrize(
    ("amount", "currency", "expected"),
    [
        (Decimal("1234567.89"), "COP", "$ 1.234.567,89"),
        (Decimal("0.005"), "COP", "$ 0,01"),
        (Decimal("-2500"), "COP", "-$ 2.500,00"),
        (Decimal("99.9"), "EUR", "EUR 99,90"),
        (None, "COP", ""),
    ],
)
def test_it_formats_amounts_the_colombian_way(amount, currency, expected):
    assert format_amount(amount, currency) == expected


def test_it_shows_duplicate_error_test_and_warning_badges(client, bob, org_a):
    ReceivedDocumentFactory(organization=org_a, number="FE9", supplier_nit="900555111")
    ReceivedDocumentFactory(organization=org_a, number="FE9", supplier_nit="900555111")
    ReceivedDocumentFactory(organization=org_a, number="FE10", dian_response_code="04")
    ReceivedDocumentFactory(organization=org_a, number="FE11", is_test_environment=True)
    ReceivedDocumentFactory(
        organization=org_a,
        number="FE12",
        warnings=[{"code": "subject", "severity": "warning", "message": "Asunto distinto"}],
    )
    client.force_login(bob)

    page = client.get(CHANGELIST).content.decode()

    assert page.count('class="doc-badge doc-badge--duplicate"') == 2
    assert page.count('class="doc-badge doc-badge--error"') == 1
    assert page.count('class="doc-badge doc-badge--test"') == 1
    assert page.count('class="doc-badge doc-badge--warning"') == 1
    assert "Asunto distinto" in page


@time_machine.travel(datetime.datetime(2026, 1, 13, 9, 0, tzinfo=BOGOTA), tick=False)
def test_it_shows_the_business_days_left_before_tacit_acceptance(client, bob, org_a):
    ReceivedDocumentFactory(
        organization=org_a,
        review_status=ReviewStatus.GOODS_RECEIVED,
        goods_received_at=datetime.datetime(2026, 1, 9, 16, 0, tzinfo=BOGOTA),
    )
    client.force_login(bob)

    page = client.get(CHANGELIST).content.decode()

    # Deadline Thursday 15 (Monday 12 was Reyes Magos): Wednesday and Thursday are left.
    assert "2 días hábiles" in page


def test_it_keeps_the_query_count_constant_per_page(client, bob, org_a, django_assert_num_queries):
    client.force_login(bob)
    ReceivedDocumentFactory.create_batch(5, organization=org_a)
    client.get(CHANGELIST)  # warm the content-type cache, as any running server has
    with CaptureQueriesContext(connection) as five_rows:
        assert client.get(CHANGELIST).status_code == 200

    ReceivedDocumentFactory.create_batch(45, organization=org_a, warnings=[{"message": "x"}])
    with django_assert_num_queries(len(five_rows)):
        response = client.get(CHANGELIST)
    assert len(response.context["cl"].result_list) == 50


def test_it_keeps_the_query_count_constant_on_the_document_page(
    client, bob, org_a, django_assert_num_queries
):
    client.force_login(bob)
    invoice = ReceivedDocumentFactory(organization=org_a)
    client.get(change_url(invoice))  # warm the content-type cache, as any running server has
    with CaptureQueriesContext(connection) as bare:
        assert client.get(change_url(invoice)).status_code == 200

    DocumentTaxFactory.create_batch(6, document=invoice)
    ReceivedDocumentFactory.create_batch(
        4, organization=org_a, credit_note=True, referenced_document=invoice
    )
    with django_assert_num_queries(len(bare)):
        client.get(change_url(invoice))


# --- Search and filters ----------------------------------------------------------------------


@pytest.fixture
def three_documents(org_a):
    return [
        ReceivedDocumentFactory(
            organization=org_a, number="FE1", supplier_nit="900555111", supplier_name="Andina"
        ),
        ReceivedDocumentFactory(
            organization=org_a, number="SETP99", supplier_nit="811222333", supplier_name="Caribe"
        ),
        ReceivedDocumentFactory(
            organization=org_a,
            number="NC7",
            supplier_nit="811222333",
            supplier_name="Caribe",
            credit_note=True,
        ),
    ]


@pytest.mark.parametrize(
    ("term", "expected"),
    [
        ("900555111", {"FE1"}),
        ("811.222.333-4", {"SETP99", "NC7"}),
        ("setp99", {"SETP99"}),
        ("carib", {"SETP99", "NC7"}),
        ("  ", {"FE1", "SETP99", "NC7"}),
    ],
)
def test_it_searches_by_nit_number_and_name(client, bob, three_documents, term, expected):
    client.force_login(bob)

    response = client.get(CHANGELIST, {"q": term})

    assert set(listed_numbers(response)) == expected


def test_it_searches_a_cufe_by_exact_match_in_any_case(client, bob, three_documents):
    client.force_login(bob)
    cufe = three_documents[1].cufe

    for term in (cufe, cufe.upper()):
        assert listed_numbers(client.get(CHANGELIST, {"q": term})) == ["SETP99"]
    assert listed_numbers(client.get(CHANGELIST, {"q": cufe[:60]})) == []


def test_it_searches_a_cufe_through_an_index():
    sql = str(search_documents(ReceivedDocument.objects.all(), "ab" * 48).query)

    assert "LIKE" not in sql.upper()
    assert '"cufe" IN' in sql


def test_it_never_finds_another_organizations_document_by_cufe(client, bob, other_invoice):
    client.force_login(bob)

    assert listed_numbers(client.get(CHANGELIST, {"q": other_invoice.cufe})) == []


def test_it_filters_by_type_supplier_state_and_validation(client, bob, three_documents):
    three_documents[0].dian_validated = False
    three_documents[0].save()
    client.force_login(bob)

    def numbers(**params):
        return set(listed_numbers(client.get(CHANGELIST, params)))

    assert numbers(document_type__exact="credit_note") == {"NC7"}
    assert numbers(proveedor="811222333") == {"SETP99", "NC7"}
    assert numbers(review_status__exact="pending") == {"FE1", "SETP99", "NC7"}
    assert numbers(dian_validated__exact="0") == {"FE1"}


def test_it_offers_only_the_users_suppliers_and_mailboxes(client, bob, three_documents, org_b):
    ReceivedDocumentFactory(organization=org_b, supplier_nit="700111222", supplier_name="Ajena")
    make_mailbox(org_b, username="recepcion@ajena.example.test")
    own = make_mailbox(three_documents[0].organization)
    ReceivedDocument.objects.filter(number="FE1").update(mailbox=own)
    client.force_login(bob)

    response = client.get(CHANGELIST)
    page = response.content.decode()

    assert "Caribe (811222333)" in page
    assert "Ajena" not in page
    assert "ajena.example.test" not in page
    assert set(listed_numbers(client.get(CHANGELIST, {"buzon": own.pk}))) == {"FE1"}
    assert listed_numbers(client.get(CHANGELIST, {"buzon": "x"})) == []


@time_machine.travel(datetime.datetime(2026, 3, 12, 9, 0, tzinfo=BOGOTA), tick=False)
def test_it_filters_documents_close_to_or_past_the_tacit_acceptance_deadline(client, bob, org_a):
    def received(number, day, status=ReviewStatus.GOODS_RECEIVED):
        ReceivedDocumentFactory(
            organization=org_a,
            number=number,
            review_status=status,
            goods_received_at=datetime.datetime(2026, 3, day, 17, 0, tzinfo=BOGOTA),
        )

    received("OVERDUE", 6)  # Friday 6 → deadline Wednesday 11
    received("TODAY", 9)  # Monday 9 → Thursday 12
    received("TOMORROW", 10)  # Tuesday 10 → Friday 13
    received("LATER", 11)  # Wednesday 11 → Monday 16
    received("CLAIMED", 9, status=ReviewStatus.CLAIMED)
    client.force_login(bob)

    assert set(listed_numbers(client.get(CHANGELIST, {"plazo": "proximo"}))) == {
        "TODAY",
        "TOMORROW",
    }
    assert listed_numbers(client.get(CHANGELIST, {"plazo": "vencido"})) == ["OVERDUE"]


def test_it_filters_by_issue_date_hierarchy(client, bob, org_a):
    ReceivedDocumentFactory(organization=org_a, number="MAR", issue_date=datetime.date(2026, 3, 2))
    ReceivedDocumentFactory(organization=org_a, number="FEB", issue_date=datetime.date(2026, 2, 2))
    client.force_login(bob)

    response = client.get(CHANGELIST, {"issue_date__year": 2026, "issue_date__month": 2})

    assert listed_numbers(response) == ["FEB"]


# --- The document page -----------------------------------------------------------------------


@pytest.mark.parametrize("persona", ["alice", "bob", "root"])
def test_it_shows_the_document_page_to_its_organization(client, request, invoice, persona):
    client.force_login(request.getfixturevalue(persona))

    response = client.get(change_url(invoice))

    assert response.status_code == 200
    assert "FE1001" in response.content.decode()


@pytest.mark.parametrize(("persona", "status"), [("charlie", 404), ("sofia", 403)])
def test_it_hides_the_document_page_from_outsiders(client, request, invoice, persona, status):
    """An outsider to the organization gets 404; Soporte, a role there without documents, 403."""
    client.force_login(request.getfixturevalue(persona))

    assert client.get(change_url(invoice)).status_code == status
    history = reverse("admin:invoices_receiveddocument_history", args=[invoice.pk])
    assert client.get(history).status_code == status


def test_it_answers_404_for_a_document_that_does_not_exist(client, bob):
    client.force_login(bob)

    url = reverse("admin:invoices_receiveddocument_change", args=["999999"])
    assert client.get(url).status_code == 404
    assert client.get("/admin/invoices/receiveddocument/abc/change/").status_code == 404


@pytest.mark.parametrize("persona", ["bob", "root"])
def test_it_never_lets_anyone_edit_add_or_delete_documents(client, request, invoice, persona):
    client.force_login(request.getfixturevalue(persona))

    assert client.post(change_url(invoice), {"number": "X"}).status_code == 403
    assert client.get(reverse("admin:invoices_receiveddocument_add")).status_code == 403
    delete = reverse("admin:invoices_receiveddocument_delete", args=[invoice.pk])
    assert client.post(delete, {"post": "yes"}).status_code == 403
    invoice.refresh_from_db()
    assert invoice.number == "FE1001"


def test_it_shows_taxes_withholdings_notes_and_the_mail(client, bob, org_a, private_storage_root):
    mailbox = make_mailbox(org_a)
    message = IncomingMessageFactory(
        mailbox=mailbox, subject="900555111;PROVEEDORA;FE1001;01;P", with_raw=True
    )
    invoice = ReceivedDocumentFactory(
        organization=org_a, number="FE1001", source_message=message, with_files=True
    )
    DocumentTaxFactory(document=invoice)
    DocumentTaxFactory(
        document=invoice, scheme_id="06", name="ReteRenta", amount="25000", is_withholding=True
    )
    note = ReceivedDocumentFactory(
        organization=org_a, number="NC1", credit_note=True, referenced_document=invoice
    )
    client.force_login(bob)

    page = client.get(change_url(invoice)).content.decode()

    assert "ReteRenta" in page and "IVA" in page
    assert reverse("admin:invoices_receiveddocument_change", args=[note.pk]) in page
    assert "900555111;PROVEEDORA;FE1001;01;P" in page
    assert reverse("admin:invoices_receiveddocument_eml", args=[invoice.pk]) in page
    assert reverse("admin:invoices_receiveddocument_pdf", args=[invoice.pk]) in page
    assert "Documento registrado" in page
    # The AttachedDocument and the invoice inside it, indented and escaped.
    assert "&lt;cbc:ParentDocumentID&gt;FE1001" in page
    assert "\n  &lt;cbc:UUID" in page

    note_page = client.get(change_url(note)).content.decode()
    assert change_url(invoice) in note_page
    assert 'id="review-acknowledge"' not in note_page


def test_it_shows_the_review_history(client, bob, invoice):
    from invoices import services

    services.document_acknowledge(document=invoice, actor=bob, note="Recibido por correo")
    client.force_login(bob)

    page = client.get(change_url(invoice)).content.decode()

    assert "Recibido por correo" in page
    assert "(030)" in page
    assert "pendiente de envío a la DIAN" in page


def test_it_pages_in_order_far_from_the_first_page(client, bob, org_a):
    for day in range(1, 29):
        ReceivedDocumentFactory.create_batch(
            3, organization=org_a, issue_date=datetime.date(2026, 2, day)
        )
    client.force_login(bob)
    everything = list(
        ReceivedDocument.objects.order_by("-issue_date", "-id").values_list("number", flat=True)
    )

    pages = [listed_numbers(client.get(CHANGELIST, {"p": page})) for page in (1, 2)]

    assert pages[0] + pages[1] == everything
    assert len(pages[1]) == 34
