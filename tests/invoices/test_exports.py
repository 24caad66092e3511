"""CSV and XLSX exports of the filtered list, with taxes by type, read back and checked."""

import csv
import datetime
import io
from decimal import Decimal

import pytest
from django.urls import reverse
from openpyxl import load_workbook

from invoices.exports import (
    EXPORT_CHUNK_SIZE,
    TaxColumn,
    _taxes,
    _withholdings,
    export_headers,
)
from tests.factories.documents import DocumentTaxFactory, ReceivedDocumentFactory

CSV_URL = reverse("admin:invoices_receiveddocument_export_csv")
XLSX_URL = reverse("admin:invoices_receiveddocument_export_xlsx")


@pytest.fixture
def documents(org_a, org_b):
    invoice = ReceivedDocumentFactory(
        organization=org_a,
        number="FE1",
        issue_date=datetime.date(2026, 3, 2),
        supplier_name="Andina, Ltda.",
        payable_amount=Decimal("1165000.00"),
    )
    DocumentTaxFactory(document=invoice)  # IVA 190.000
    DocumentTaxFactory(document=invoice, scheme_id="04", name="INC", amount=Decimal("80000"))
    DocumentTaxFactory(document=invoice, scheme_id="03", name="ICA", amount=Decimal("9660.5"))
    DocumentTaxFactory(document=invoice, scheme_id="22", name="INC Bolsas", amount=Decimal("66"))
    DocumentTaxFactory(
        document=invoice, scheme_id="06", amount=Decimal("25000"), is_withholding=True
    )
    DocumentTaxFactory(
        document=invoice, scheme_id="05", amount=Decimal("28500"), is_withholding=True
    )
    DocumentTaxFactory(
        document=invoice, scheme_id="07", amount=Decimal("4140"), is_withholding=True
    )
    DocumentTaxFactory(document=invoice, scheme_id="ZZ", amount=Decimal("100"), is_withholding=True)
    ReceivedDocumentFactory(
        organization=org_a,
        number="NC1",
        credit_note=True,
        issue_date=datetime.date(2026, 3, 1),
        supplier_nit="811222333",
    )
    ReceivedDocumentFactory(organization=org_b, number="AJENA")
    return invoice


def csv_rows(response):
    text = b"".join(response.streaming_content).decode("utf-8")
    assert text.startswith("\ufeff")
    return [
        dict(zip(export_headers(), row, strict=True))
        for row in list(csv.reader(io.StringIO(text[1:])))[1:]
    ]


def xlsx_rows(response):
    return xlsx_rows_of(b"".join(response.streaming_content))


def xlsx_rows_of(content: bytes):
    workbook = load_workbook(io.BytesIO(content), read_only=True)
    rows = list(workbook.active.iter_rows(values_only=True))
    assert list(rows[0]) == export_headers()
    return [dict(zip(rows[0], row, strict=True)) for row in rows[1:]]


def test_it_exports_csv_with_taxes_by_type(client, bob, documents):
    client.force_login(bob)

    response = client.get(CSV_URL)

    assert response.status_code == 200
    assert response.streaming
    assert response["Content-Type"] == "text/csv; charset=utf-8"
    assert response["Content-Disposition"].startswith('attachment; filename="documentos-')
    rows = csv_rows(response)
    assert [row["Número"] for row in rows] == ["FE1", "NC1"]
    first = rows[0]
    assert first["Fecha de emisión"] == "2026-03-02"
    assert first["Tipo"] == "Factura"
    assert first["Proveedor"] == "Andina, Ltda."
    assert first["CUFE/CUDE"] == documents.cufe
    assert first["Total a pagar"] == "1165000.00"
    assert (first["IVA"], first["INC"], first["ICA"], first["IC"]) == (
        "190000.00",
        "80000.00",
        "9660.50",
        "",
    )
    assert first["Otros impuestos"] == "66.00"
    assert (first["ReteRenta"], first["ReteIVA"], first["ReteICA"]) == (
        "25000.00",
        "28500.00",
        "4140.00",
    )
    assert first["Otras retenciones"] == "100.00"
    assert first["Validado por la DIAN"] == "Sí"
    assert first["Estado de revisión"] == "Pendiente"
    assert rows[1]["Tipo"] == "Nota crédito"
    assert rows[1]["IVA"] == ""


def test_it_exports_xlsx_with_typed_cells(client, alice, documents):
    client.force_login(alice)

    response = client.get(XLSX_URL)

    assert response.status_code == 200
    assert response["Content-Type"] == (
        "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    )
    assert response["Content-Disposition"].startswith('attachment; filename="documentos-')
    rows = xlsx_rows(response)
    assert [row["Número"] for row in rows] == ["FE1", "NC1"]
    first = rows[0]
    assert first["Fecha de emisión"] == datetime.datetime(2026, 3, 2)
    assert first["Total a pagar"] == 1165000
    assert first["IVA"] == 190000
    assert first["ICA"] == 9660.5
    assert first["ReteIVA"] == 28500
    assert first["IC"] is None


@pytest.mark.parametrize("url", [CSV_URL, XLSX_URL])
def test_it_exports_what_the_list_shows_filtered_and_searched(client, bob, documents, url):
    client.force_login(bob)
    read = csv_rows if url == CSV_URL else xlsx_rows

    def numbers(**params):
        return [row["Número"] for row in read(client.get(url, params))]

    assert numbers(document_type__exact="credit_note") == ["NC1"]
    assert numbers(q="811222333") == ["NC1"]
    assert numbers(q=documents.cufe) == ["FE1"]
    assert numbers(o="1") == ["NC1", "FE1"]  # oldest first, as the list sorted by date
    assert numbers(issue_date__day=1, issue_date__month=3, issue_date__year=2026) == ["NC1"]


@pytest.mark.parametrize("url", [CSV_URL, XLSX_URL])
def test_it_never_exports_another_organizations_documents(client, charlie, documents, url):
    client.force_login(charlie)
    read = csv_rows if url == CSV_URL else xlsx_rows

    assert [row["Número"] for row in read(client.get(url))] == ["AJENA"]


@pytest.mark.parametrize("url", [CSV_URL, XLSX_URL])
def test_it_refuses_the_export_without_the_permission(client, sofia, documents, url):
    client.force_login(sofia)

    assert client.get(url).status_code == 403


@pytest.mark.parametrize("url", [CSV_URL, XLSX_URL])
def test_it_refuses_the_export_to_a_permission_without_a_role(
    client, django_user_model, documents, url
):
    """The role in the organization decides, not a Django permission given to the account."""
    from django.contrib.auth.models import Permission

    user = django_user_model.objects.create_user("permisos", password="x", is_staff=True)
    codenames = ["view_receiveddocument", "export_receiveddocument"]
    user.user_permissions.add(*Permission.objects.filter(codename__in=codenames))
    client.force_login(user)

    assert client.get(url).status_code == 403
    assert client.get(reverse("admin:invoices_receiveddocument_changelist")).status_code == 403


@pytest.mark.parametrize("url", [CSV_URL, XLSX_URL])
def test_it_answers_400_to_an_unknown_filter(client, bob, documents, url):
    client.force_login(bob)

    assert client.get(url, {"organization__nit": "1"}).status_code == 400


def test_it_links_the_export_to_the_current_filters(client, bob, documents):
    client.force_login(bob)

    page = client.get(
        reverse("admin:invoices_receiveddocument_changelist"),
        {"q": "811222333", "p": "1"},
    ).content.decode()

    assert f'href="{CSV_URL}?q=811222333"' in page
    assert f'href="{XLSX_URL}?q=811222333"' in page


def test_it_reads_taxes_a_chunk_at_a_time(client, bob, org_a, django_assert_max_num_queries):
    for document in ReceivedDocumentFactory.create_batch(3, organization=org_a):
        DocumentTaxFactory(document=document)
    client.force_login(bob)
    response = client.get(CSV_URL)

    # The rows and their taxes: one query each per chunk, whatever the number of rows.
    with django_assert_max_num_queries(2):
        rows = csv_rows(response)
    assert len(rows) == 3 < EXPORT_CHUNK_SIZE
    assert {row["IVA"] for row in rows} == {"190000.00"}


@pytest.fixture
def uneven_invoice(org_a):
    """Gross value, taxable base and totals all differ, with more decimals than two."""
    return ReceivedDocumentFactory(
        organization=org_a,
        number="FE9",
        line_extension_amount=Decimal("1000000.125"),
        tax_exclusive_amount=Decimal("800000.5"),
        tax_inclusive_amount=Decimal("1152000.1234"),
        payable_amount=Decimal("1152000.123456"),
    )


def test_it_puts_each_amount_in_its_own_column_with_every_decimal(client, bob, uneven_invoice):
    client.force_login(bob)

    (row,) = csv_rows(client.get(CSV_URL))

    assert row["Valor bruto"] == "1000000.125"
    assert row["Base gravable"] == "800000.50"
    assert row["Total con impuestos"] == "1152000.1234"
    assert row["Total a pagar"] == "1152000.123456"


def test_it_puts_each_amount_in_its_own_xlsx_column(client, bob, uneven_invoice):
    client.force_login(bob)

    (row,) = xlsx_rows(client.get(XLSX_URL))

    assert row["Valor bruto"] == pytest.approx(1000000.125)
    assert row["Base gravable"] == pytest.approx(800000.5)
    assert row["Total con impuestos"] == pytest.approx(1152000.1234)


def test_the_columns_keep_the_words_and_order_accounting_imports_rely_on():
    assert export_headers() == [
        "Fecha de emisión",
        "Tipo",
        "Número",
        "CUFE/CUDE",
        "NIT proveedor",
        "DV",
        "Proveedor",
        "Moneda",
        "Valor bruto",
        "Base gravable",
        "Total con impuestos",
        "Total a pagar",
        "IVA",
        "INC",
        "ICA",
        "IC",
        "Otros impuestos",
        "ReteRenta",
        "ReteIVA",
        "ReteICA",
        "Otras retenciones",
        "Validado por la DIAN",
        "Ambiente de pruebas",
        "Estado de revisión",
        "Documento referenciado",
    ]


def test_a_tax_column_and_a_withholding_column_say_which_they_are():
    assert _taxes("IVA", "01", "19") == TaxColumn("IVA", False, frozenset({"01", "19"}))
    assert _withholdings("ReteIVA", "05") == TaxColumn("ReteIVA", True, frozenset({"05"}))


@pytest.fixture
def test_environment_invoice(org_a):
    return ReceivedDocumentFactory(
        organization=org_a, number="FE7", dian_validated=False, is_test_environment=True
    )


def test_it_writes_yes_and_no_in_spanish_in_the_csv(client, bob, test_environment_invoice):
    client.force_login(bob)

    (row,) = csv_rows(client.get(CSV_URL))

    assert (row["Validado por la DIAN"], row["Ambiente de pruebas"]) == ("No", "Sí")


def test_it_writes_yes_and_no_in_spanish_in_a_whole_xlsx(client, bob, test_environment_invoice):
    client.force_login(bob)

    content = b"".join(client.get(XLSX_URL).streaming_content)

    assert content.startswith(b"PK\x03\x04")  # the workbook from its first byte
    assert load_workbook(io.BytesIO(content), read_only=True).sheetnames == ["Documentos"]
    (row,) = xlsx_rows_of(content)
    assert (row["Validado por la DIAN"], row["Ambiente de pruebas"]) == ("No", "Sí")
