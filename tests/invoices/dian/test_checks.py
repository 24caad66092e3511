"""Every finding an accountant reads about a document: its code, its severity, its exact words.

The facts come from a factory document read by the parser, then changed one field at a time.
"""

import dataclasses

import pytest

from invoices.dian import Check, Outcome, Party, Severity, parse_message
from invoices.dian.checks import document_checks
from invoices.dian.subject import parse_subject
from invoices.dian.types import DianValidation, DocumentFacts
from tests.factories.dian import build_mail

W, E = Severity.WARNING, Severity.ERROR
CUFE = "b" * 96


@pytest.fixture(scope="module")
def facts() -> DocumentFacts:
    result = parse_message(build_mail().raw)
    assert result.outcome is Outcome.OK, result.reason
    assert result.facts is not None
    return dataclasses.replace(result.facts, cufe=CUFE, attached_cufe=CUFE, dian_validation=None)


def _validated(**changes: object) -> DianValidation:
    fields = dict(
        response_code="02",
        description="Documento validado por la DIAN",
        document_cufe=CUFE,
        validation_result_code=None,
        issue_date=None,
        issue_time=None,
    )
    return DianValidation(**{**fields, **changes})


def _checks(facts: DocumentFacts, *, subject: str | None = None, has_pdf: bool = True, **changes):
    subject = subject or f"{facts.supplier.nit};Proveedor;{facts.number};{facts.type_code}"
    changed = dataclasses.replace(facts, **{"dian_validation": _validated(), **changes})
    return document_checks(changed, parse_subject(subject), has_pdf=has_pdf)


def test_a_consistent_document_has_no_findings(facts):
    assert _checks(facts) == []


def test_a_document_without_dian_s_validation_is_a_warning(facts):
    assert _checks(facts, dian_validation=None) == [
        Check(
            "no_dian_validation",
            W,
            "El documento no trae la validación de la DIAN (ApplicationResponse)",
        )
    ]


def test_a_document_dian_did_not_validate_is_an_error_with_dian_s_code_and_words(facts):
    refused = _validated(response_code="04", description="Rechazado: NIT no habilitado")
    assert _checks(facts, dian_validation=refused) == [
        Check(
            "dian_not_validated",
            E,
            "La DIAN no validó el documento (código 04: Rechazado: NIT no habilitado)",
        )
    ]
    silent = _validated(response_code=None, description=None)
    assert _checks(facts, dian_validation=silent)[0].message == (
        "La DIAN no validó el documento (código vacío: sin descripción)"
    )


def test_a_validation_of_another_cufe_is_an_error_naming_both(facts):
    other = "A" * 96
    assert _checks(facts, dian_validation=_validated(document_cufe=other)) == [
        Check(
            "validation_cufe_mismatch",
            E,
            f"La validación de la DIAN es de otro CUFE ({other}) que el del documento ({CUFE})",
        )
    ]
    assert _checks(facts, dian_validation=_validated(document_cufe=f" {CUFE.upper()} ")) == []


def test_a_document_of_dian_s_test_environment_is_a_warning(facts):
    assert _checks(facts, profile_execution_id="2") == [
        Check(
            "test_environment",
            W,
            "Documento del ambiente de habilitación (pruebas) de la DIAN, sin validez fiscal",
        )
    ]


def test_a_subject_outside_the_annex_is_a_warning(facts):
    assert _checks(facts, subject="Factura de venta") == [
        Check(
            "subject_not_dian",
            W,
            "El asunto del correo no sigue el formato DIAN (NIT;Nombre;Número;Código;...)",
        )
    ]


def test_a_subject_that_disagrees_with_the_xml_lists_every_difference(facts):
    assert _checks(facts, subject="800197268;OTRO;FE2002;91") == [
        Check(
            "subject_mismatch",
            W,
            "El asunto del correo no coincide con el XML: "
            f"NIT 800197268 ≠ {facts.supplier.nit}; número FE2002 ≠ {facts.number}; "
            f"tipo 91 ≠ {facts.type_code}",
        )
    ]


def test_a_document_number_written_with_other_separators_or_case_is_the_same(facts):
    number = facts.number.lower()
    spaced = f"{number[:2]}-{number[2:]}"
    subject = f"{facts.supplier.nit};Proveedor;{spaced};{facts.type_code}"
    assert _checks(facts, subject=subject) == []


def test_a_cufe_that_is_not_96_hexadecimal_characters_is_a_warning(facts):
    short = "c" * 95
    checks = _checks(facts, cufe=short, attached_cufe=short, dian_validation=None)
    assert checks[-1] == Check(
        "cufe_format", W, "El CUFE/CUDE no tiene 96 caracteres hexadecimales (95)"
    )


def test_a_wrong_check_digit_is_a_warning_for_the_supplier_and_for_the_buyer(facts):
    supplier = dataclasses.replace(facts.supplier, check_digit="3")
    buyer = dataclasses.replace(facts.buyer, check_digit="9")
    supplier_digit, buyer_digit = facts.supplier.check_digit, facts.buyer.check_digit
    assert _checks(facts, supplier=supplier, buyer=buyer) == [
        Check(
            "nit_check_digit",
            W,
            f"NIT del proveedor: dígito de verificación 3 no corresponde a {facts.supplier.nit} "
            f"(debería ser {supplier_digit})",
        ),
        Check(
            "nit_check_digit",
            W,
            f"NIT del comprador: dígito de verificación 9 no corresponde a {facts.buyer.nit} "
            f"(debería ser {buyer_digit})",
        ),
    ]


@pytest.mark.parametrize(
    "party",
    [
        Party(nit="901019681", check_digit=None, id_type="31", name="Sin dígito escrito"),
        Party(nit="1020304050", check_digit="3", id_type="13", name="Cédula, sin dígito DIAN"),
        Party(nit=None, check_digit="3", id_type="31", name="Sin NIT"),
    ],
)
def test_only_a_nit_written_with_its_digit_has_the_digit_checked(facts, party):
    subject = f"{party.nit};Proveedor;{facts.number};{facts.type_code}"
    checks = _checks(facts, supplier=party, subject=subject)
    assert [c for c in checks if c.code == "nit_check_digit"] == []


def test_a_nit_too_long_to_have_a_digit_is_named_invalid(facts):
    party = Party(nit="1" * 16, check_digit="3", id_type="31", name="Demasiado largo")
    subject = f"{party.nit};P;{facts.number};01"
    checks = _checks(facts, supplier=party, attached_sender=party, subject=subject)
    assert checks == [
        Check("nit_check_digit", W, f"NIT del proveedor: {party.nit} no es un NIT válido")
    ]


def test_a_missing_pdf_is_a_warning(facts):
    assert _checks(facts, has_pdf=False) == [
        Check("pdf_missing", W, "El ZIP no trae la representación gráfica (PDF)")
    ]


def test_a_container_for_another_document_is_an_error_listing_every_difference(facts):
    sender = Party(nit="800197268", check_digit="4", id_type="31", name="Otro emisor")
    checks = _checks(facts, attached_parent_document_id="FE9999", attached_sender=sender)
    assert checks == [
        Check(
            "attached_mismatch",
            E,
            "El AttachedDocument no corresponde al documento embebido: "
            f"número FE9999 ≠ {facts.number}; emisor 800197268 ≠ proveedor {facts.supplier.nit}",
        )
    ]


def test_findings_come_in_the_order_an_accountant_reads_them(facts):
    short = "c" * 95
    checks = _checks(
        facts,
        attached_cufe=CUFE,
        cufe=short,
        dian_validation=None,
        profile_execution_id="2",
        subject="Factura",
        has_pdf=False,
    )
    assert [c.code for c in checks] == [
        "cufe_mismatch",
        "no_dian_validation",
        "test_environment",
        "subject_not_dian",
        "cufe_format",
        "pdf_missing",
    ]
