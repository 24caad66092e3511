"""Factory documents through the whole chain, every extracted field asserted."""

import dataclasses
import datetime as dt
import subprocess
import sys
from decimal import Decimal
from pathlib import Path

import pytest

from invoices.dian import (
    BUYER_MISMATCH_REASON,
    OK_REASON,
    DocumentType,
    Outcome,
    ParsedMail,
    Party,
    Severity,
    TaxLine,
    check_buyer,
    parse_message,
)
from tests.factories.dian import (
    Attachment,
    BuiltMail,
    TaxSpec,
    build_mail,
    make_application_response,
    make_document,
    make_email,
    make_pdf,
    make_spec,
    make_zip,
)

BOGOTA = dt.timezone(dt.timedelta(hours=-5))


def _codes(result: ParsedMail) -> list[str]:
    return [check.code for check in result.checks]


def _parsed(mail: BuiltMail) -> ParsedMail:
    result = parse_message(mail.raw)
    assert result.outcome is Outcome.OK, result.reason
    return result


def test_invoice_every_field() -> None:
    mail = build_mail(
        "invoice",
        seed=3,
        number="SETP990001234",
        allowance=Decimal("10000.00"),
        charge=Decimal("5000.00"),
        prepaid=Decimal("100000.00"),
        taxes=(
            TaxSpec("01", "IVA", Decimal("19.00"), Decimal("800000.00")),
            TaxSpec("01", "IVA", Decimal("5.00"), Decimal("200000.00")),
            TaxSpec("04", "INC", Decimal("8.00"), Decimal("100000.00")),
        ),
        withholdings=(TaxSpec("06", "ReteRenta", Decimal("2.50"), Decimal("1000000.00")),),
    )
    result = _parsed(mail)
    assert result.reason == OK_REASON
    assert result.checks == ()
    envelope = result.envelope
    assert envelope.message_id == "<SETP990001234.3@proveedor.example>"
    assert envelope.from_header == "Facturación Suministros Andinos <facturacion@proveedor.example>"
    assert envelope.from_address == "facturacion@proveedor.example"
    assert envelope.subject == mail.subject
    assert envelope.date == dt.datetime(2025, 7, 9, 11, 48, 2, tzinfo=BOGOTA)
    assert envelope.size == len(mail.raw)
    subject = result.subject
    assert subject is not None
    assert (subject.supplier_nit, subject.document_number, subject.document_type_code) == (
        "901019681",
        "SETP990001234",
        "01",
    )
    assert subject.supplier_name == "SUMINISTROS ANDINOS S.A.S."
    assert subject.commercial_name == "Suministros Andinos"
    assert result.xml == mail.xml
    assert result.xml_filename == mail.xml_filename
    assert result.document_xml is not None
    assert result.document_xml.endswith(b"</Invoice>")
    assert result.pdf == mail.pdf
    assert result.pdf_filename is not None
    assert result.pdf_filename.endswith(".pdf")

    facts = result.facts
    assert facts is not None
    assert facts.document_type is DocumentType.INVOICE
    assert facts.type_code == "01"
    assert facts.number == "SETP990001234"
    assert facts.cufe == mail.cufe
    assert len(facts.cufe) == 96
    assert facts.cufe_scheme == "CUFE-SHA384"
    assert facts.issue_date == dt.date(2025, 7, 9)
    assert facts.issue_time == dt.time(11, 47, 18, tzinfo=BOGOTA)
    assert facts.issued_at == dt.datetime(2025, 7, 9, 11, 47, 18, tzinfo=BOGOTA)
    assert facts.profile_execution_id == "1"
    assert not facts.is_test_environment
    assert facts.customization_id == "10"
    assert facts.supplier == Party("901019681", "8", "31", "SUMINISTROS ANDINOS S.A.S.")
    assert facts.buyer == Party("900123456", "8", "31", "COMERCIALIZADORA ANDINA S.A.S.")
    assert facts.currency == "COP"
    assert facts.line_extension_amount == Decimal("1000000.00")
    assert facts.tax_exclusive_amount == Decimal("1000000.00")
    assert facts.tax_inclusive_amount == Decimal("1170000.00")
    assert facts.allowance_total_amount == Decimal("10000.00")
    assert facts.charge_total_amount == Decimal("5000.00")
    assert facts.prepaid_amount == Decimal("100000.00")
    assert facts.payable_amount == Decimal("1065000.00")
    assert facts.taxes == (
        TaxLine("01", "IVA", Decimal("19.00"), Decimal("800000.00"), Decimal("152000.00")),
        TaxLine("01", "IVA", Decimal("5.00"), Decimal("200000.00"), Decimal("10000.00")),
        TaxLine("04", "INC", Decimal("8.00"), Decimal("100000.00"), Decimal("8000.00")),
    )
    assert facts.tax_total("01") == Decimal("162000.00")
    assert facts.tax_total("04") == Decimal("8000.00")
    assert facts.tax_total("03") == Decimal(0)
    assert facts.withholdings == (
        TaxLine("06", "ReteRenta", Decimal("2.50"), Decimal("1000000.00"), Decimal("25000.00")),
    )
    assert facts.billing_references == ()
    assert facts.referenced_invoice is None
    validation = facts.dian_validation
    assert validation is not None
    assert validation.response_code == "02"
    assert validation.validated
    assert facts.is_dian_validated
    assert validation.description == "Documento validado por la DIAN"
    assert validation.document_cufe == mail.cufe
    assert validation.validation_result_code == "02"
    assert validation.issue_date == dt.date(2025, 7, 9)
    assert validation.issue_time == dt.time(11, 47, 16, tzinfo=BOGOTA)
    assert facts.attached_document_id == "0197f015-a06b-8d62-bd23-c9971dfdc3fc"
    assert facts.attached_cufe == mail.cufe
    assert facts.attached_parent_document_id == "SETP990001234"
    assert facts.attached_sender == Party("901019681", "8", "31", "SUMINISTROS ANDINOS S.A.S.")
    assert facts.attached_receiver == Party(
        "900123456", "8", "31", "COMERCIALIZADORA ANDINA S.A.S."
    )
    assert check_buyer(facts, "900.123.456-8") is None


@pytest.mark.parametrize(
    ("kind", "type_code", "scheme", "root"),
    [
        ("credit_note", "91", "CUDE-SHA384", b"</CreditNote>"),
        ("debit_note", "92", "CUDE-SHA384", b"</DebitNote>"),
    ],
)
def test_notes_every_field(kind: str, type_code: str, scheme: str, root: bytes) -> None:
    mail = build_mail(kind, seed=5, currency="USD", line_extension=Decimal("250.00"), taxes=())
    result = _parsed(mail)
    assert result.checks == ()
    facts = result.facts
    assert facts is not None
    assert facts.document_type is DocumentType(kind)
    assert facts.type_code == type_code
    assert facts.number == mail.spec.number
    assert facts.cufe == mail.cufe
    assert facts.cufe_scheme == scheme
    assert facts.currency == "USD"
    assert facts.line_extension_amount == Decimal("250.00")
    assert facts.tax_exclusive_amount == Decimal("250.00")
    assert facts.tax_inclusive_amount == Decimal("250.00")
    assert facts.payable_amount == Decimal("250.00")
    assert facts.taxes == ()
    reference = facts.referenced_invoice
    assert reference is not None
    assert reference.number == "FE1001"
    assert reference.cufe == mail.spec.referenced_cufe
    assert reference.cufe_scheme == "CUFE-SHA384"
    assert reference.issue_date == dt.date(2025, 7, 1)
    assert result.document_xml is not None
    assert result.document_xml.endswith(root)
    assert result.subject is not None
    assert result.subject.document_type_code == type_code


def test_missing_totals_are_none() -> None:
    mail = build_mail(omit_totals=frozenset({"TaxInclusiveAmount", "TaxExclusiveAmount"}))
    facts = _parsed(mail).facts
    assert facts is not None
    assert facts.tax_inclusive_amount is None
    assert facts.tax_exclusive_amount is None
    assert facts.allowance_total_amount is None
    assert facts.payable_amount == Decimal("1190000.00")


def test_escaped_description_nested_zip_and_no_pdf() -> None:
    mail = build_mail(description_mode="escaped", nested_zip=True, include_pdf=False)
    result = _parsed(mail)
    assert result.facts is not None
    assert result.facts.cufe == mail.cufe
    assert result.facts.is_dian_validated
    assert result.pdf is None
    assert _codes(result) == ["pdf_missing"]


def test_pdf_inside_nested_zip_is_found_by_content() -> None:
    mail = build_mail(nested_zip=True)
    result = _parsed(mail)
    assert result.pdf == mail.pdf


def test_bare_invoice_without_validation_is_flagged() -> None:
    mail = build_mail(wrap=False)
    result = _parsed(mail)
    assert result.facts is not None
    assert result.facts.dian_validation is None
    assert result.facts.attached_cufe is None
    assert result.xml == mail.document_xml
    assert result.document_xml == mail.document_xml
    assert _codes(result) == ["no_dian_validation"]
    check = result.checks[0]
    assert check.severity is Severity.WARNING
    assert "validación de la DIAN" in check.message


def test_bare_invoice_with_standalone_application_response() -> None:
    spec = make_spec()
    document = make_document(spec)
    response = make_application_response(
        number=spec.number,
        cufe=spec.cufe_value,
        supplier_nit=spec.supplier_nit,
        supplier_name=spec.supplier_name,
    )
    archive = make_zip([("fv.xml", document), ("ar.xml", response), ("fv.pdf", make_pdf())])
    raw = make_email(
        subject=f"{spec.supplier_nit};{spec.supplier_name};{spec.number};01",
        attachments=[Attachment("z.zip", "application/x-zip-compressed", archive)],
    )
    result = parse_message(raw)
    assert result.ok, result.reason
    assert result.facts is not None
    assert result.facts.is_dian_validated
    assert result.checks == ()


def test_missing_application_response_in_attached_document() -> None:
    result = _parsed(build_mail(with_response=False))
    assert _codes(result) == ["no_dian_validation"]


def test_rejected_by_dian() -> None:
    result = _parsed(build_mail(response_code="04"))
    assert result.facts is not None
    assert not result.facts.is_dian_validated
    assert _codes(result) == ["dian_not_validated"]
    assert result.checks[0].severity is Severity.ERROR
    assert "código 04" in result.checks[0].message


def test_test_environment_is_flagged() -> None:
    result = _parsed(build_mail(profile_execution_id="2"))
    assert result.facts is not None
    assert result.facts.is_test_environment
    assert _codes(result) == ["test_environment"]
    assert "habilitación" in result.checks[0].message


def test_attached_cufe_differs_from_embedded() -> None:
    other = "f" * 96
    result = _parsed(build_mail(attached_cufe=other))
    assert result.facts is not None
    assert result.facts.attached_cufe == other
    assert _codes(result) == ["cufe_mismatch"]
    check = result.checks[0]
    assert check.severity is Severity.ERROR
    assert other in check.message


def test_validation_for_another_cufe() -> None:
    result = _parsed(build_mail(response_cufe="a" * 96))
    assert _codes(result) == ["validation_cufe_mismatch"]


def test_container_for_another_document() -> None:
    result = _parsed(build_mail(attached_number="FE9999", attached_sender_nit="800197268"))
    assert _codes(result) == ["attached_mismatch"]
    assert "FE9999" in result.checks[0].message
    assert "800197268" in result.checks[0].message


def test_subject_mismatch_lists_every_difference() -> None:
    result = _parsed(build_mail(subject="800197268;OTRO;FE2002;91;Otro"))
    assert _codes(result) == ["subject_mismatch"]
    message = result.checks[0].message
    assert "NIT 800197268 ≠ 901019681" in message
    assert "número FE2002 ≠ FE1001" in message
    assert "tipo 91 ≠ 01" in message


def test_subject_number_compared_without_separators() -> None:
    result = _parsed(build_mail(subject="901019681;SUMINISTROS;fe-1001;1;X"))
    assert result.checks == ()


def test_subject_not_in_dian_format() -> None:
    result = _parsed(build_mail(subject="Envío de su factura electrónica"))
    assert result.subject is None
    assert _codes(result) == ["subject_not_dian"]


def test_wrong_check_digit_is_flagged() -> None:
    result = _parsed(build_mail(supplier_check_digit="3"))
    assert _codes(result) == ["nit_check_digit"]
    assert "debería ser 8" in result.checks[0].message


def test_invoice_for_another_buyer() -> None:
    result = _parsed(build_mail(buyer_nit="830003564", buyer_name="OTRA EMPRESA S.A."))
    assert result.facts is not None
    assert check_buyer(result.facts, "900123456") == BUYER_MISMATCH_REASON
    assert BUYER_MISMATCH_REASON == "documento no dirigido a esta organización"
    assert check_buyer(result.facts, "830003564-7") is None
    assert check_buyer(result.facts, "") == BUYER_MISMATCH_REASON


@pytest.mark.parametrize("buyer_nit", [None, ""])
def test_a_document_without_buyer_nit_is_not_for_the_organization(buyer_nit) -> None:
    facts = _parsed(build_mail()).facts
    assert facts is not None and check_buyer(facts, "900123456-8") is None
    anonymous = dataclasses.replace(facts, buyer=dataclasses.replace(facts.buyer, nit=buyer_nit))
    assert check_buyer(anonymous, "900123456-8") == BUYER_MISMATCH_REASON


def test_lf_only_message_and_forwarded_rfc822() -> None:
    mail = build_mail(seed=9)
    lf_only = mail.raw.replace(b"\r\n", b"\n")
    assert parse_message(lf_only).ok
    forwarded = (
        b"From: contador@comercializadora.example\r\nSubject: RV: "
        + mail.subject.encode()
        + b"\r\nMIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary=outer\r\n\r\n"
        b"--outer\r\nContent-Type: text/plain\r\n\r\nVer adjunto\r\n--outer\r\n"
        b"Content-Type: message/rfc822\r\n\r\n" + mail.raw + b"\r\n--outer--\r\n"
    )
    result = parse_message(forwarded)
    assert result.ok, result.reason
    assert result.facts is not None
    assert result.facts.cufe == mail.cufe
    assert result.subject is not None
    assert result.subject.document_number == "FE1001"


def test_factory_is_deterministic() -> None:
    assert build_mail(seed=4).raw == build_mail(seed=4).raw
    assert build_mail(seed=4).raw != build_mail(seed=5).raw


def test_factory_cufe_matches_the_annex_test_vector() -> None:
    spec = make_spec(
        number="323200000129",
        issue_date=dt.date(2019, 1, 16),
        issue_time="10:53:10-05:00",
        line_extension=Decimal("1500000.00"),
        taxes=(TaxSpec("01", "IVA", Decimal("19.00"), Decimal("1500000.00")),),
        supplier_nit="700085371",
        buyer_nit="800199436",
        technical_key="693ff6f2a553c3646a063436fd4dd9ded0311471",
    )
    assert spec.cufe_value == (
        "8bb918b19ba22a694f1da11c643b5e9de39adf60311cf179179e9b33381030bc"
        "d4c3c3f156c506ed5908f9276f5bd9b4"
    )


def test_package_stays_free_of_django_and_reception() -> None:
    code = (
        "import sys, invoices.dian; "
        "assert not any(m.split('.')[0] in ('django', 'reception') for m in sys.modules)"
    )
    subprocess.run([sys.executable, "-c", code], check=True, cwd=Path(__file__).parents[3])


@pytest.mark.parametrize("document_type", ["invoice", "credit_note"])
def test_a_parse_result_crosses_a_process_boundary_unchanged(document_type):
    """The parse pool's workers answer with pickles; every field must survive, nested ones too."""
    import pickle

    result = parse_message(build_mail(document_type, seed=7, include_pdf=False).raw)
    assert result.ok and result.facts is not None
    assert result.facts.taxes and result.facts.dian_validation is not None and result.checks

    copy = pickle.loads(pickle.dumps(result, protocol=pickle.HIGHEST_PROTOCOL))  # noqa: S301

    assert copy == result
    assert type(copy.facts.supplier) is Party
    assert copy.outcome is Outcome.OK
    assert copy.facts.document_type is DocumentType(document_type)
