"""Consistency checks a receiver can make (it cannot recompute a CUFE without the issuer's key)."""

from __future__ import annotations

import re

from invoices.dian.types import Check, DocumentFacts, Party, Severity, SubjectFields
from organizations.nit import normalize_nit, written_nit_check_digit

BUYER_MISMATCH_REASON = "documento no dirigido a esta organización"

_SHA384_HEX = re.compile(r"^[0-9a-fA-F]{96}$")
_NUMBER_NOISE = re.compile(r"[\s\-_/.]")


def check_buyer(facts: DocumentFacts, organization_nit: str) -> str | None:
    """Return the rejection reason when the document's buyer is not the organization."""
    expected = normalize_nit(organization_nit)
    if not expected or facts.buyer.nit != expected:
        return BUYER_MISMATCH_REASON
    return None


def document_checks(
    facts: DocumentFacts, subject: SubjectFields | None, *, has_pdf: bool
) -> list[Check]:
    """Every finding about one document, in the order an accountant should read them."""
    checks: list[Check] = []
    checks.extend(_container_checks(facts))
    validation = facts.dian_validation
    if validation is None:
        checks.append(
            Check(
                "no_dian_validation",
                Severity.WARNING,
                "El documento no trae la validación de la DIAN (ApplicationResponse)",
            )
        )
    else:
        checks.extend(_validation_checks(facts))
    if facts.is_test_environment:
        checks.append(
            Check(
                "test_environment",
                Severity.WARNING,
                "Documento del ambiente de habilitación (pruebas) de la DIAN, sin validez fiscal",
            )
        )
    checks.extend(_subject_checks(facts, subject))
    if not _SHA384_HEX.match(facts.cufe):
        checks.append(
            Check(
                "cufe_format",
                Severity.WARNING,
                f"El CUFE/CUDE no tiene 96 caracteres hexadecimales ({len(facts.cufe)})",
            )
        )
    for role, party in (("proveedor", facts.supplier), ("comprador", facts.buyer)):
        message = _check_digit_problem(party)
        if message:
            checks.append(Check("nit_check_digit", Severity.WARNING, f"NIT del {role}: {message}"))
    if not has_pdf:
        checks.append(
            Check("pdf_missing", Severity.WARNING, "El ZIP no trae la representación gráfica (PDF)")
        )
    return checks


def _validation_checks(facts: DocumentFacts) -> list[Check]:
    validation = facts.dian_validation
    if validation is None:
        return []
    checks: list[Check] = []
    if not validation.validated:
        checks.append(
            Check(
                "dian_not_validated",
                Severity.ERROR,
                f"La DIAN no validó el documento (código {validation.response_code or 'vacío'}"
                f": {validation.description or 'sin descripción'})",
            )
        )
    if validation.document_cufe and not _same(validation.document_cufe, facts.cufe):
        checks.append(
            Check(
                "validation_cufe_mismatch",
                Severity.ERROR,
                f"La validación de la DIAN es de otro CUFE ({validation.document_cufe}) "
                f"que el del documento ({facts.cufe})",
            )
        )
    return checks


def _container_checks(facts: DocumentFacts) -> list[Check]:
    checks: list[Check] = []
    if facts.attached_cufe and not _same(facts.attached_cufe, facts.cufe):
        checks.append(
            Check(
                "cufe_mismatch",
                Severity.ERROR,
                f"El CUFE del AttachedDocument ({facts.attached_cufe}) no coincide con el del "
                f"documento embebido ({facts.cufe})",
            )
        )
    differences: list[str] = []
    parent = facts.attached_parent_document_id
    if parent and _number_key(parent) != _number_key(facts.number):
        differences.append(f"número {parent} ≠ {facts.number}")
    sender = facts.attached_sender
    if sender and sender.nit and facts.supplier.nit and sender.nit != facts.supplier.nit:
        differences.append(f"emisor {sender.nit} ≠ proveedor {facts.supplier.nit}")
    if differences:
        checks.append(
            Check(
                "attached_mismatch",
                Severity.ERROR,
                "El AttachedDocument no corresponde al documento embebido: "
                + "; ".join(differences),
            )
        )
    return checks


def _subject_checks(facts: DocumentFacts, subject: SubjectFields | None) -> list[Check]:
    if subject is None:
        return [
            Check(
                "subject_not_dian",
                Severity.WARNING,
                "El asunto del correo no sigue el formato DIAN (NIT;Nombre;Número;Código;...)",
            )
        ]
    differences: list[str] = []
    if subject.supplier_nit != facts.supplier.nit:
        differences.append(f"NIT {subject.supplier_nit} ≠ {facts.supplier.nit}")
    if _number_key(subject.document_number) != _number_key(facts.number):
        differences.append(f"número {subject.document_number} ≠ {facts.number}")
    if subject.document_type_code != facts.type_code.zfill(2):
        differences.append(f"tipo {subject.document_type_code} ≠ {facts.type_code}")
    if not differences:
        return []
    return [
        Check(
            "subject_mismatch",
            Severity.WARNING,
            "El asunto del correo no coincide con el XML: " + "; ".join(differences),
        )
    ]


def _check_digit_problem(party: Party) -> str | None:
    if party.id_type != "31" or not party.nit or not party.check_digit:
        return None
    try:
        expected = written_nit_check_digit(party.nit)
    except ValueError:
        return f"{party.nit} no es un NIT válido"
    if party.check_digit != str(expected):
        return (
            f"dígito de verificación {party.check_digit} no corresponde a {party.nit} "
            f"(debería ser {expected})"
        )
    return None


def _same(left: str, right: str) -> bool:
    return left.strip().lower() == right.strip().lower()


def _number_key(number: str) -> str:
    return _NUMBER_NOISE.sub("", number).upper()
