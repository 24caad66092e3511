"""The document list as CSV or XLSX for the accounting system, with the taxes by type as columns.

Both formats read the queryset with `iterator(chunk_size=...)` and prefetch each chunk's taxes
in one query, so memory holds one chunk (EXPORT_CHUNK_SIZE documents and their taxes) whatever
the size of the list. The CSV is streamed as it is produced. The XLSX is written by openpyxl in
write-only mode (rows go to a temporary file on disk, not to a tree in memory), then zipped into
an anonymous temporary file that is streamed and deleted when the response closes: disk, not
memory, grows with the list (about 60 bytes per document once compressed).

Suppliers choose the text of their documents (their name, their numbering) and the accountant
opens the export in a spreadsheet, so no text may become a formula there (OWASP, "CSV
Injection"): a text cell that starts with a formula character is written as text with Excel's
quote prefix in XLSX, and behind a single quote in CSV, whose fields are all double-quoted so
that a `;` in a name cannot start a cell where the list separator is `;` (es-CO). Numbers and
dates are never text, so negative amounts stay numbers.
"""

import csv
import datetime
import functools
import tempfile
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from decimal import Decimal
from typing import IO, TYPE_CHECKING, Any

from django.db.models import QuerySet
from django.utils.functional import Promise
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from invoices.models import ReceivedDocument

if TYPE_CHECKING:
    from openpyxl.worksheet._write_only import WriteOnlyWorksheet

EXPORT_CHUNK_SIZE = 2000
#: First characters that make a spreadsheet evaluate a cell (OWASP), with the line feed and the
#: full-width forms that some spreadsheets fold into the ASCII ones.
FORMULA_TRIGGERS = ("=", "+", "-", "@", "\t", "\r", "\n", "＝", "＋", "－", "＠")


@dataclass(frozen=True)
class TaxColumn:
    """A column summing the tax (or withholding) amounts of some DIAN tax schemes."""

    header: str | Promise
    withholding: bool
    scheme_ids: frozenset[str] | None  # None: every scheme no other column of its kind takes


def _taxes(header: str, *scheme_ids: str) -> TaxColumn:
    return TaxColumn(header, False, frozenset(scheme_ids))


def _withholdings(header: str, *scheme_ids: str) -> TaxColumn:
    return TaxColumn(header, True, frozenset(scheme_ids))


# DIAN's tax scheme codes (table 13.2.6.2 of the technical annex).
TAX_COLUMNS = (
    _taxes("IVA", "01"),
    _taxes("INC", "04"),
    _taxes("ICA", "03"),
    _taxes("IC", "02"),
    TaxColumn(gettext_lazy("Otros impuestos"), False, None),
    _withholdings("ReteRenta", "06"),
    _withholdings("ReteIVA", "05"),
    _withholdings("ReteICA", "07"),
    TaxColumn(gettext_lazy("Otras retenciones"), True, None),
)
_NAMED_SCHEMES = frozenset(
    (column.withholding, scheme)
    for column in TAX_COLUMNS
    if column.scheme_ids
    for scheme in column.scheme_ids
)


def export_headers() -> list[str]:
    return [
        _("Fecha de emisión"),
        _("Tipo"),
        _("Número"),
        _("CUFE/CUDE"),
        _("NIT proveedor"),
        _("DV"),
        _("Proveedor"),
        _("Moneda"),
        _("Valor bruto"),
        _("Base gravable"),
        _("Total con impuestos"),
        _("Total a pagar"),
        *(str(column.header) for column in TAX_COLUMNS),
        _("Validado por la DIAN"),
        _("Ambiente de pruebas"),
        _("Estado de revisión"),
        _("Documento referenciado"),
    ]


def export_rows(queryset: QuerySet[ReceivedDocument]) -> Iterator[list[Any]]:
    """One row per document, values typed (dates, Decimals, booleans) for the writer to format."""
    documents = queryset.prefetch_related("taxes").iterator(chunk_size=EXPORT_CHUNK_SIZE)
    for document in documents:
        yield [
            document.issue_date,
            document.get_document_type_display(),
            document.number,
            document.cufe,
            document.supplier_nit,
            document.supplier_check_digit,
            document.supplier_name,
            document.currency,
            document.line_extension_amount,
            document.tax_exclusive_amount,
            document.tax_inclusive_amount,
            document.payable_amount,
            *tax_totals(document.taxes.all()),
            document.dian_validated,
            document.is_test_environment,
            document.get_review_status_display(),
            document.referenced_number,
        ]


def tax_totals(taxes: Iterable[Any]) -> list[Decimal | None]:
    """Amounts per TAX_COLUMNS entry; None where the document has no tax of that kind."""
    totals: list[Decimal | None] = [None] * len(TAX_COLUMNS)
    for tax in taxes:
        for index, column in enumerate(TAX_COLUMNS):
            if column.withholding != tax.is_withholding:
                continue
            if column.scheme_ids is None:
                taken = (tax.is_withholding, tax.scheme_id) not in _NAMED_SCHEMES
            else:
                taken = tax.scheme_id in column.scheme_ids
            if taken:
                totals[index] = (totals[index] or Decimal(0)) + tax.amount
                break
    return totals


def is_formula_like(text: str) -> bool:
    """True when a spreadsheet could take this text for a formula, even behind spaces."""
    return text.lstrip().startswith(FORMULA_TRIGGERS)


class _Echo:
    """A file-like object whose write returns the line, for csv.writer inside a generator."""

    def write(self, value: str) -> str:
        return value


def csv_lines(queryset: QuerySet[ReceivedDocument]) -> Iterator[str]:
    """CSV text line by line: UTF-8 with BOM (Excel), comma-separated, decimal point."""
    writer = csv.writer(_Echo(), quoting=csv.QUOTE_ALL)
    yield "\ufeff" + writer.writerow(export_headers())
    for row in export_rows(queryset):
        yield writer.writerow([_csv_value(value) for value in row])


def _csv_value(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return _("Sí") if value else _("No")
    if isinstance(value, Decimal):
        return _plain_decimal(value)
    if isinstance(value, datetime.date):
        return value.isoformat()
    text = str(value)
    return "'" + text if is_formula_like(text) else text


def _plain_decimal(value: Decimal) -> str:
    """2 decimals at least, more only when the document has them; never scientific notation."""
    text = format(value.normalize(), "f")
    whole, _dot, fraction = text.partition(".")
    return f"{whole}.{fraction.ljust(2, '0')}"


def xlsx_file(queryset: QuerySet[ReceivedDocument]) -> IO[bytes]:
    """The workbook in an anonymous temporary file, positioned at its start.

    openpyxl is imported here: loading it cost every process that starts Django (a fetch from
    the command line, a worker) ~60 ms, for a spreadsheet only the admin builds.
    """
    from openpyxl import Workbook

    workbook = Workbook(write_only=True)
    sheet = workbook.create_sheet(_("Documentos"))
    sheet.append(export_headers())
    for row in export_rows(queryset):
        sheet.append([_xlsx_value(sheet, value) for value in row])
    # Returned open: the FileResponse streams it and closes it, which deletes it.
    output = tempfile.TemporaryFile(suffix=".xlsx")  # noqa: SIM115
    workbook.save(output)
    output.seek(0)
    return output


@functools.cache
def _openpyxl_cells() -> tuple[tuple[str, ...], type]:
    """openpyxl's error codes and text cell, imported once: an import statement in every cell's
    call cost ~1 µs, this cached call ~0.06 µs."""
    from openpyxl.cell.cell import ERROR_CODES, WriteOnlyCell

    return ERROR_CODES, WriteOnlyCell


def _xlsx_value(sheet: "WriteOnlyWorksheet", value: Any) -> Any:
    error_codes, text_cell = _openpyxl_cells()
    if isinstance(value, bool):
        return _("Sí") if value else _("No")
    if isinstance(value, str) and (is_formula_like(value) or value in error_codes):
        # openpyxl would store "=..." as a formula and "#REF!" as an error: force a text cell,
        # and mark it like a typed leading apostrophe so that editing it keeps it text.
        cell = text_cell(sheet, value)
        cell.data_type = "s"
        cell.quotePrefix = True
        return cell
    return value
