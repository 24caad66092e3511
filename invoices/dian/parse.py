"""From one raw e-mail to a ParsedMail: the single entry point reception's processing calls."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

from lxml import etree

from invoices.dian.archive import ZIP_MAGIC, Entry, extract_zip
from invoices.dian.checks import document_checks
from invoices.dian.mime import Leaf, read_envelope, split_headers, walk_leaves
from invoices.dian.subject import parse_subject
from invoices.dian.types import (
    DEFAULT_LIMITS,
    Check,
    DianError,
    DianValidation,
    DocumentFacts,
    Envelope,
    Limits,
    Outcome,
    ParsedMail,
    Severity,
    SubjectFields,
)
from invoices.dian.ubl import (
    CBC,
    application_response,
    document_facts,
    is_document_root,
    local_name,
    parse_xml,
    unwrap_attached,
)

OK_REASON = "Documento electrónico DIAN leído"
_PDF_MAGIC = b"%PDF-"
_MB = 1024 * 1024


@dataclass(frozen=True, slots=True)
class FoundDocument:
    """The document found in one attachment, with the files to store."""

    facts: DocumentFacts
    xml: bytes
    xml_filename: str
    document_xml: bytes
    pdf: Entry | None
    extra_checks: tuple[Check, ...]


def parse_message(raw: bytes, *, limits: Limits = DEFAULT_LIMITS) -> ParsedMail:
    """Parse one raw RFC 5322 message; never raises for bad input, it explains it instead."""
    envelope = Envelope(None, None, None, None, None, len(raw))
    subject: SubjectFields | None = None
    try:
        headers, body = split_headers(raw)
        if not headers:
            raise DianError(Outcome.MALFORMED_MIME, "El correo no tiene cabeceras legibles")
        envelope = read_envelope(headers, len(raw))
        subject = parse_subject(envelope.subject)
        if len(raw) > limits.max_message_bytes:
            raise DianError(
                Outcome.TOO_LARGE,
                f"El correo pesa {len(raw) / _MB:.1f} MB; el límite es "
                f"{limits.max_message_bytes / _MB:.0f} MB",
            )
        found = find_document(walk_leaves(headers, body, limits), limits)
        checks = (
            *found.extra_checks,
            *document_checks(found.facts, subject, has_pdf=bool(found.pdf)),
        )
        return ParsedMail(
            outcome=Outcome.OK,
            reason=OK_REASON,
            envelope=envelope,
            subject=subject,
            xml=found.xml,
            xml_filename=found.xml_filename,
            document_xml=found.document_xml,
            pdf=found.pdf.data if found.pdf else None,
            pdf_filename=found.pdf.name if found.pdf else None,
            facts=found.facts,
            checks=tuple(checks),
        )
    except DianError as exc:
        return ParsedMail(exc.outcome, exc.reason, envelope, subject)
    except Exception as exc:  # one unforeseen input must not stop the batch
        return ParsedMail(
            Outcome.UNEXPECTED,
            f"Error inesperado al leer el correo ({type(exc).__name__})",
            envelope,
            subject,
        )


def find_document(leaves: list[Leaf], limits: Limits) -> FoundDocument:
    """Open each ZIP-like attachment in turn; the first that carries a DIAN document wins."""
    candidates = [leaf for leaf in leaves if leaf.may_be_zip()]
    if not candidates:
        raise DianError(Outcome.NOT_DIAN, "El correo no trae un adjunto ZIP con el documento DIAN")
    saw_zip = False
    for leaf in candidates:
        if leaf.decoded_size_estimate() > limits.max_attachment_bytes:
            raise DianError(Outcome.TOO_LARGE, _too_large(leaf, limits))
        data = leaf.decode()
        if len(data) > limits.max_attachment_bytes:
            raise DianError(Outcome.TOO_LARGE, _too_large(leaf, limits))
        if not data.startswith(ZIP_MAGIC):
            if (leaf.filename or "").lower().endswith(".zip"):
                raise DianError(
                    Outcome.ZIP_INVALID, f"El adjunto {leaf.filename} no es un ZIP válido"
                )
            continue
        saw_zip = True
        found = document_in_entries(extract_zip(data, limits), limits)
        if found is not None:
            return found
    if not saw_zip:
        raise DianError(Outcome.NOT_DIAN, "El correo no trae un adjunto ZIP con el documento DIAN")
    raise DianError(
        Outcome.NOT_DIAN,
        "El ZIP no contiene un documento electrónico DIAN (factura, nota crédito o nota débito)",
    )


def document_in_entries(entries: list[Entry], limits: Limits) -> FoundDocument | None:
    """Pick the document among a ZIP's files by content, never by name.

    An AttachedDocument is preferred; a bare Invoice / CreditNote / DebitNote is accepted and then
    only a standalone ApplicationResponse in the same ZIP can show DIAN's validation.
    """
    wrapped: list[tuple[Entry, etree._Element]] = []
    bare: list[tuple[Entry, etree._Element]] = []
    responses: list[DianValidation] = []
    first_error: DianError | None = None
    pdf: Entry | None = None
    for entry in entries:
        head = entry.data[:64].lstrip(b"\xef\xbb\xbf \t\r\n")
        if head.startswith(_PDF_MAGIC):
            pdf = pdf or entry
            continue
        if not head.startswith((b"<", b"\xff\xfe", b"\xfe\xff")):
            continue
        try:
            root = parse_xml(entry.data, limits)
        except DianError as exc:
            if exc.outcome is not Outcome.XML_INVALID:
                raise
            first_error = first_error or exc
            continue
        name = local_name(root)
        if name == "AttachedDocument":
            wrapped.append((entry, root))
        elif is_document_root(root):
            bare.append((entry, root))
        elif name == "ApplicationResponse":
            responses.append(application_response(root))
    if wrapped:
        entry, root = wrapped[0]
        unwrapped = unwrap_attached(root, limits)
        facts = document_facts(unwrapped.document_root, container=unwrapped.container)
        document_xml = unwrapped.document_xml
    elif bare:
        entry, root = bare[0]
        facts = document_facts(root)
        validation = next((r for r in responses if _same_cufe(r.document_cufe, facts.cufe)), None)
        if validation is not None:
            facts = dataclasses.replace(facts, dian_validation=validation)
        document_xml = entry.data
    elif first_error is not None:
        raise first_error
    else:
        return None
    others = (
        len(wrapped) - 1 + sum(1 for _, other in bare if not _same_cufe(_uuid(other), facts.cufe))
    )
    extra: tuple[Check, ...] = ()
    if others > 0:
        extra = (
            Check(
                "multiple_documents",
                Severity.WARNING,
                f"El ZIP trae {others + 1} documentos distintos; se tomó {facts.number}",
            ),
        )
    return FoundDocument(facts, entry.data, entry.name, document_xml, pdf, extra)


def _uuid(root: etree._Element) -> str | None:
    found = root.find(CBC + "UUID")
    return found.text if found is not None else None


def _same_cufe(left: str | None, right: str) -> bool:
    return left is not None and left.strip().lower() == right.strip().lower()


def _too_large(leaf: Leaf, limits: Limits) -> str:
    name = f" {leaf.filename}" if leaf.filename else ""
    return f"El adjunto{name} supera el límite de {limits.max_attachment_bytes / _MB:.0f} MB"
