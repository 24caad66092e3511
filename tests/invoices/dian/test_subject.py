import pytest

from invoices.dian.subject import parse_subject
from invoices.dian.types import SubjectFields


def test_annex_example() -> None:
    assert parse_subject("890399003;EMCALI EICE ESP;9013287;01;EMCALI") == SubjectFields(
        supplier_nit="890399003",
        supplier_name="EMCALI EICE ESP",
        document_number="9013287",
        document_type_code="01",
        commercial_name="EMCALI",
        business_line=None,
    )


def test_spacing_forward_prefix_check_digit_and_business_line() -> None:
    fields = parse_subject("RV: Fwd: 900.123.456-8 ; ACME S.A.S. ; FE 12 ; 91 ; Acme ; Ventas")
    assert fields is not None
    assert fields.supplier_nit == "900123456"
    assert fields.document_number == "FE 12"
    assert fields.document_type_code == "91"
    assert fields.commercial_name == "Acme"
    assert fields.business_line == "Ventas"


def test_single_digit_code_is_padded() -> None:
    fields = parse_subject("900123456;ACME;FE1;1")
    assert fields is not None
    assert fields.document_type_code == "01"
    assert fields.commercial_name is None


@pytest.mark.parametrize(
    "subject",
    [
        None,
        "",
        "Factura FE1 de ACME",
        "900123456;ACME;FE1",
        "ACME;ACME;FE1;01",
        "1;A;;01",
        "1;A;B;x",
    ],
)
def test_not_a_dian_subject(subject: str | None) -> None:
    assert parse_subject(subject) is None
