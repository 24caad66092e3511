"""Operations on received documents: the only writers of their state.

The admin, the commands, the tasks and reception's processing call these functions; nothing
else saves a document, its taxes or its note links. Each concern keeps its own section below:
registering documents from parsed e-mails is one, the review (the buyer's RADIAN events) another.
"""

from __future__ import annotations

import dataclasses
import datetime
import enum
import hashlib
from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal
from zoneinfo import ZoneInfo

from django.contrib.auth.models import AbstractBaseUser
from django.db import transaction
from django.db.models import Q
from django.db.models.fields.files import FieldFile
from django.utils import timezone
from django.utils.translation import gettext as _

from config.rows import rows_update, values_insert
from config.storage import content_save, private_storage
from invoices.business_days import tacit_acceptance_deadline
from invoices.dian import DocumentFacts, Limits, Outcome, ParsedMail, Severity, parse_message
from invoices.dian.checks import check_buyer
from invoices.exceptions import ReviewRefused
from invoices.models import (
    ClaimConcept,
    DocumentTax,
    DocumentType,
    ReceivedDocument,
    ReviewEvent,
    ReviewStatus,
)
from organizations.models import Organization

# --- Registering documents from parsed e-mails -------------------------------------------------
#
# The same CUFE twice never makes a second document: the database's unique constraint backs the
# check made here. The caller (reception's processing) owns the transaction that also records
# each e-mail's outcome, so a batch is decided whole or not at all.

BOGOTA = ZoneInfo("America/Bogota")
TAX_NAMES = {"01": "IVA", "02": "IC", "03": "ICA", "04": "INC", "05": "ReteIVA", "06": "ReteRenta"}


class RegistrationOutcome(enum.StrEnum):
    """What became of one parsed e-mail (the values are the ledger's outcomes)."""

    DOCUMENT = "document"
    DUPLICATE = "duplicate"
    NOT_DIAN = "not_dian"
    REJECTED = "rejected"
    ERROR = "error"


@dataclass(frozen=True)
class DocumentItem:
    """One parsed e-mail to register, with where it came from (kept on the document)."""

    parsed: ParsedMail
    mailbox_id: int | None = None
    source_message_id: int | None = None


@dataclass(frozen=True)
class Registration:
    """The answer for one item: the document registered, or the reason it was not."""

    outcome: RegistrationOutcome
    code: str
    reason: str
    document_id: int | None = None


@dataclass(slots=True)
class _NewDocument:
    """A document of the batch being registered: its row's values, and what the batch's
    linking of notes and invoices reads of it (no model object: see `values_insert`)."""

    values: tuple
    taxes: list[tuple]
    document_type: str
    number: str
    cufe: str
    referenced_number: str
    referenced_cufe: str
    pk: int | None = None


@dataclass(frozen=True)
class RegistrationPlan:
    """A batch's registrations decided, its documents not yet written (`documents_plan`)."""

    organization: Organization
    registrations: list[Registration]
    documents: list[tuple[int, _NewDocument]]  # (the item's position, its new document)


def documents_register(
    *, organization: Organization, items: Sequence[DocumentItem]
) -> list[Registration]:
    """Register the documents of a batch of parsed e-mails, once per CUFE, in the items' order.

    Returns one Registration per item. A batch at a time: the documents and their taxes are
    inserted as rows of values and notes linked to their invoices (whichever of the two arrived
    first) with a handful of queries, not a few per document. Inside a caller's transaction it
    takes no savepoint (two round trips per batch): a failure here fails the caller's whole batch.
    """
    if not items:
        return []
    with transaction.atomic(savepoint=False):
        return documents_write(documents_plan(organization=organization, items=items))


def documents_plan(
    *, organization: Organization, items: Sequence[DocumentItem]
) -> RegistrationPlan:
    """Decide each item, writing nothing: for a caller that must write the e-mails' own rows,
    with these decisions, before the documents that point at them. Call it and then
    `documents_write` in one transaction, so that no other batch registers a CUFE between them
    (the database's unique constraint stops it if one does)."""
    cufes = [item.parsed.facts.cufe for item in items if item.parsed.ok and item.parsed.facts]
    registered = dict(
        ReceivedDocument.objects.filter(organization=organization, cufe__in=cufes).values_list(
            "cufe", "number"
        )
    )
    registrations: list[Registration] = []
    documents: list[tuple[int, _NewDocument]] = []
    for position, item in enumerate(items):
        outcome, code, reason, document = _decide(item, organization, registered)
        if document is not None:
            registered[document.cufe] = document.number
            documents.append((position, document))
        registrations.append(Registration(outcome, code, reason))
    return RegistrationPlan(organization, registrations, documents)


def documents_write(
    plan: RegistrationPlan, *, source_message_ids: Sequence[int] | None = None
) -> list[Registration]:
    """Write the planned documents, their taxes and note links; the registrations, with their
    documents' keys. `source_message_ids` (one per item) when the e-mails' rows were written
    after the plan was made."""
    documents = plan.documents
    if not documents:
        return list(plan.registrations)
    if source_message_ids is not None:
        for position, document in documents:
            values = document.values  # the source's key is third, as in DOCUMENT_COLUMNS
            document.values = (*values[:2], source_message_ids[position], *values[3:])
    with transaction.atomic(savepoint=False):
        keys = values_insert(
            ReceivedDocument,
            DOCUMENT_COLUMNS,
            [document.values for _position, document in documents],
            key="cufe",
            scope={"organization": plan.organization},
        )
        for (_position, document), pk in zip(documents, keys or (), strict=True):
            document.pk = pk
        values_insert(
            DocumentTax,
            TAX_COLUMNS,
            [(document.pk, *tax) for _position, document in documents for tax in document.taxes],
        )
        _link_notes(plan.organization.pk, [document for _position, document in documents])
    registrations = list(plan.registrations)
    for position, document in documents:
        registrations[position] = dataclasses.replace(
            registrations[position], document_id=document.pk
        )
    return registrations


def _decide(
    item: DocumentItem, organization: Organization, registered: dict[str, str]
) -> tuple[RegistrationOutcome, str, str, _NewDocument | None]:
    result = item.parsed
    if not result.ok or result.facts is None:
        outcome = (
            RegistrationOutcome.NOT_DIAN
            if result.outcome == Outcome.NOT_DIAN
            else RegistrationOutcome.ERROR
        )
        return outcome, str(result.outcome), result.reason, None
    facts = result.facts
    wrong_buyer = check_buyer(facts, organization.nit)
    if wrong_buyer:
        return (
            RegistrationOutcome.REJECTED,
            "wrong_buyer",
            _("%(reason)s: el comprador es %(buyer)s y la organización %(nit)s")
            % {"reason": wrong_buyer, "buyer": facts.buyer.nit or "?", "nit": organization.nit},
            None,
        )
    errors = [check for check in result.checks if check.severity == Severity.ERROR]
    if errors:
        return (
            RegistrationOutcome.ERROR,
            errors[0].code,
            "; ".join(check.message for check in errors),
            None,
        )
    if facts.cufe in registered:
        return (
            RegistrationOutcome.DUPLICATE,
            "duplicate",
            _("Duplicado: el CUFE %(cufe)s ya está registrado (documento %(number)s)")
            % {"cufe": facts.cufe, "number": registered[facts.cufe]},
            None,
        )
    if facts.issue_date is None or facts.payable_amount is None:
        missing = _("fecha de emisión") if facts.issue_date is None else _("total a pagar")
        return (
            RegistrationOutcome.ERROR,
            "xml_incomplete",
            _("El documento no trae %(field)s") % {"field": missing},
            None,
        )
    return (
        RegistrationOutcome.DOCUMENT,
        "ok",
        _("Documento %(number)s registrado") % {"number": facts.number},
        _document(item, organization),
    )


#: The fields a registered document's row is given; the others take their defaults.
DOCUMENT_COLUMNS = (
    "organization_id",
    "mailbox_id",
    "source_message_id",
    "document_type",
    "type_code",
    "number",
    "cufe",
    "cufe_scheme",
    "issue_date",
    "issue_time",
    "supplier_nit",
    "supplier_check_digit",
    "supplier_name",
    "buyer_nit",
    "buyer_check_digit",
    "buyer_name",
    "currency",
    "line_extension_amount",
    "tax_exclusive_amount",
    "tax_inclusive_amount",
    "payable_amount",
    "tax_amount",
    "is_test_environment",
    "dian_validated",
    "dian_response_code",
    "referenced_number",
    "referenced_cufe",
    "warnings",
)
TAX_COLUMNS = (
    "document_id",
    "scheme_id",
    "name",
    "percent",
    "taxable_amount",
    "amount",
    "is_withholding",
)


def _document(item: DocumentItem, organization: Organization) -> _NewDocument:
    result = item.parsed
    facts = result.facts
    assert facts is not None
    reference = facts.referenced_invoice
    validation = facts.dian_validation
    document_type = DocumentType(facts.document_type.value)
    referenced_number = (reference.number or "") if reference else ""
    referenced_cufe = (reference.cufe or "") if reference else ""
    # In DOCUMENT_COLUMNS' order. No files here: the XML and the PDF are inside the stored
    # original e-mail, and document_file() writes them on first use. One file per e-mail on
    # the fetch's hot path.
    values = (
        organization.pk,
        item.mailbox_id,
        item.source_message_id,
        document_type,
        facts.type_code,
        facts.number,
        facts.cufe,
        facts.cufe_scheme or "",
        facts.issue_date,
        _bogota_time(facts),
        facts.supplier.nit or "",
        facts.supplier.check_digit or "",
        facts.supplier.name or "",
        facts.buyer.nit or "",
        facts.buyer.check_digit or "",
        facts.buyer.name or "",
        facts.currency or "COP",
        facts.line_extension_amount,
        facts.tax_exclusive_amount,
        facts.tax_inclusive_amount,
        facts.payable_amount,
        sum((t.tax_amount or Decimal(0) for t in facts.taxes), Decimal(0)),
        facts.is_test_environment,
        facts.is_dian_validated,
        (validation.response_code or "") if validation else "",
        referenced_number,
        referenced_cufe,
        [
            {"code": check.code, "severity": str(check.severity), "message": check.message}
            for check in result.checks
        ],
    )
    return _NewDocument(
        values,
        _taxes(result),
        document_type,
        facts.number,
        facts.cufe,
        referenced_number,
        referenced_cufe,
    )


def document_file(document: ReceivedDocument, kind: str) -> FieldFile | None:
    """The document's stored XML (`kind` "xml") or PDF ("pdf"), or None when it has none.

    Registration does not write them: on first use both are taken out of the original e-mail
    (the source message's stored raw bytes, kept by their hash) and stored by CUFE, so a fetch
    writes one file per e-mail instead of three.
    """
    stored = document.xml_file if kind == "xml" else document.pdf_file
    if stored and private_storage.exists(stored.name):
        return stored
    if not document.xml_file:
        _files_extract(document)
        stored = document.xml_file if kind == "xml" else document.pdf_file
    return stored if stored else None


def _files_extract(document: ReceivedDocument) -> None:
    """Store the XML and PDF found in the document's original e-mail and name them on the row."""
    message = document.source_message
    if message is None or not message.raw:
        return
    with private_storage.open(message.raw.name, "rb") as handle:  # leaves message.raw unopened
        raw = handle.read()
    result = parse_message(raw, limits=Limits(max_message_bytes=max(len(raw), 1)))
    if result.facts is None or result.facts.cufe != document.cufe or not result.xml:
        return  # not this document's e-mail (or no longer readable): serve nothing
    stem = _file_stem(document.organization_id, document.cufe)
    document.xml_file.name = content_save(f"{stem}.xml", result.xml)
    if result.pdf:
        document.pdf_file.name = content_save(f"{stem}.pdf", result.pdf)
    ReceivedDocument.objects.filter(pk=document.pk).update(
        xml_file=document.xml_file.name, pdf_file=document.pdf_file.name or ""
    )


def _bogota_time(facts: DocumentFacts) -> datetime.time | None:
    """The issue time on Bogotá's clock (the database keeps times without offsets)."""
    issued_at = facts.issued_at
    if issued_at is None or facts.issue_time is None:
        return None
    if timezone.is_naive(issued_at):
        return issued_at.time()
    return timezone.localtime(issued_at, BOGOTA).time()


def _file_stem(organization_id: int, cufe: str) -> str:
    """Content-addressed by CUFE, so a re-run writes the same name and never a second copy."""
    digest = hashlib.sha256(cufe.encode()).hexdigest()
    return f"documents/{organization_id}/{digest[:2]}/{digest}"


def _taxes(result: ParsedMail) -> list[tuple]:
    """The document's tax rows, in TAX_COLUMNS' order after the document's key."""
    facts = result.facts
    assert facts is not None
    return [
        (
            line.scheme_id,
            line.scheme_name or TAX_NAMES.get(line.scheme_id, ""),
            line.percent,
            line.taxable_amount,
            line.tax_amount or Decimal(0),
            withholding,
        )
        for withholding, lines in ((False, facts.taxes), (True, facts.withholdings))
        for line in lines
    ]


def _link_notes(organization_id: int, documents: list[_NewDocument]) -> None:
    """Point notes at their invoice, whichever of the two arrived first.

    A handful of queries per batch, not per note: a fetch of thousands registers notes by the
    hundred.
    """
    if not documents:
        return
    scope = ReceivedDocument.objects.filter(organization_id=organization_id)
    linked: dict[int, int] = {}  # note's key: its invoice's key
    notes = [
        note
        for note in documents
        if note.document_type != DocumentType.INVOICE
        and (note.referenced_cufe or note.referenced_number)
    ]
    if notes:
        cufes = {note.referenced_cufe for note in notes if note.referenced_cufe}
        numbers = {note.referenced_number for note in notes if note.referenced_number}
        # In the model's order, so each note takes the same invoice .first() would give it.
        candidates = list(
            scope.filter(
                Q(cufe__in=cufes) | Q(number__in=numbers, document_type=DocumentType.INVOICE)
            ).values_list("pk", "cufe", "number", "document_type")
        )
        for note in notes:
            invoice_id = next(
                (
                    pk
                    for pk, cufe, number, kind in candidates
                    if pk != note.pk
                    and (
                        (note.referenced_cufe and cufe == note.referenced_cufe)
                        or (
                            note.referenced_number
                            and number == note.referenced_number
                            and kind == DocumentType.INVOICE
                        )
                    )
                ),
                None,
            )
            if invoice_id:
                linked[note.pk] = invoice_id
    invoices = {d.cufe: d.pk for d in documents if d.document_type == DocumentType.INVOICE}
    numbers_ = {d.number: d.pk for d in documents if d.document_type == DocumentType.INVOICE}
    if invoices:
        waiting = (
            scope.filter(referenced_document__isnull=True)
            .exclude(document_type=DocumentType.INVOICE)
            .exclude(pk__in=list(linked))
            .order_by()
            .values_list("pk", "referenced_cufe", "referenced_number")
        )
        # Two lookups joined by UNION, not one with OR: OR'ed lists of this size made
        # PostgreSQL's planner test each of their values against the partial indexes' conditions
        # (~7 ms of planning a batch, for a query that runs in half a millisecond).
        by_cufe = waiting.filter(referenced_cufe__in=list(invoices))
        for note_id, cufe, number in by_cufe.union(
            waiting.filter(referenced_number__in=list(numbers_))
        ):
            invoice_id = invoices.get(cufe) or (numbers_.get(number) if not cufe else None)
            if invoice_id:
                linked[note_id] = invoice_id
    rows_update(
        ReceivedDocument,
        ("referenced_document",),
        [
            ReceivedDocument(pk=note, referenced_document_id=invoice)
            for note, invoice in linked.items()
        ],
    )


# --- Review: the buyer's RADIAN events ---------------------------------------------------------
#
# Events are recorded here and sent to DIAN later (ReviewEvent.sent_to_dian_at stays empty until
# then). An acceptance (033) or a claim (031) is final: DIAN does not let a buyer withdraw either
# once registered, so a reopen here would leave the trail saying something DIAN will never
# say. Every step on a final document is refused; the admin asks for confirmation before one.

EVENT_ACKNOWLEDGE = "030"
EVENT_CLAIM = "031"
EVENT_GOODS_RECEIVED = "032"
EVENT_ACCEPT = "033"

FINAL_STATUSES = frozenset({ReviewStatus.ACCEPTED, ReviewStatus.CLAIMED})


@dataclass(frozen=True)
class _Step:
    event_code: str
    to_status: ReviewStatus
    allowed_from: frozenset[ReviewStatus]


_ACKNOWLEDGE = _Step(
    EVENT_ACKNOWLEDGE, ReviewStatus.ACKNOWLEDGED, frozenset({ReviewStatus.PENDING})
)
# RADIAN: the goods or service receipt (032) requires the acknowledgement (030) first.
_RECEIVE_GOODS = _Step(
    EVENT_GOODS_RECEIVED, ReviewStatus.GOODS_RECEIVED, frozenset({ReviewStatus.ACKNOWLEDGED})
)
# An express acceptance says the goods arrived: it needs the receipt (032).
_ACCEPT = _Step(EVENT_ACCEPT, ReviewStatus.ACCEPTED, frozenset({ReviewStatus.GOODS_RECEIVED}))
# A claim needs the acknowledgement only: "goods not delivered" (02) cannot follow a 032.
_CLAIM = _Step(
    EVENT_CLAIM,
    ReviewStatus.CLAIMED,
    frozenset({ReviewStatus.ACKNOWLEDGED, ReviewStatus.GOODS_RECEIVED}),
)


def document_acknowledge(
    *, document: ReceivedDocument, actor: AbstractBaseUser, note: str = ""
) -> ReceivedDocument:
    """Record the acknowledgement of receipt of the invoice (030)."""
    return _record_step(document=document, actor=actor, step=_ACKNOWLEDGE, note=note)


def document_receive_goods(
    *, document: ReceivedDocument, actor: AbstractBaseUser, note: str = ""
) -> ReceivedDocument:
    """Record the receipt of the goods or service (032); the tacit-acceptance clock starts."""
    return _record_step(document=document, actor=actor, step=_RECEIVE_GOODS, note=note)


def document_accept(
    *, document: ReceivedDocument, actor: AbstractBaseUser, note: str = ""
) -> ReceivedDocument:
    """Record the express acceptance (033). Final: nothing can follow it."""
    return _record_step(document=document, actor=actor, step=_ACCEPT, note=note)


def document_claim(
    *, document: ReceivedDocument, actor: AbstractBaseUser, concept: str, reason: str
) -> ReceivedDocument:
    """Record a claim (031) with its DIAN concept (01–04) and the reason the supplier will read.

    Final, and refused once the tacit-acceptance deadline has passed: by then the invoice is
    accepted by law and a claim has no effect.
    """
    if concept not in ClaimConcept.values:
        raise ReviewRefused(_("Concepto de reclamo inválido: %(concept)s.") % {"concept": concept})
    reason = reason.strip()
    if not reason:
        raise ReviewRefused(_("Un reclamo necesita el motivo que leerá el proveedor."))
    return _record_step(
        document=document, actor=actor, step=_CLAIM, note=reason, claim_concept=concept
    )


def document_tacit_deadline(document: ReceivedDocument) -> datetime.date | None:
    """The last day to accept or claim, once the goods or service receipt (032) is recorded."""
    if document.goods_received_at is None or document.review_status in FINAL_STATUSES:
        return None
    return tacit_acceptance_deadline(timezone.localdate(document.goods_received_at))


_STEPS_BY_CODE = {
    EVENT_ACKNOWLEDGE: _ACKNOWLEDGE,
    EVENT_GOODS_RECEIVED: _RECEIVE_GOODS,
    EVENT_ACCEPT: _ACCEPT,
    EVENT_CLAIM: _CLAIM,
}


def review_step_check(document: ReceivedDocument, code: str) -> None:
    """Refuse (ReviewRefused) the event `code` where the review rules do not allow it."""
    if code not in _STEPS_BY_CODE:
        raise ReviewRefused(_("Evento desconocido: %(code)s.") % {"code": code})
    _check_step(document, _STEPS_BY_CODE[code])


def document_review_apply(
    *,
    document: ReceivedDocument,
    actor: AbstractBaseUser | None,
    code: str,
    note: str = "",
    concept: str = "",
    sent_at: datetime.datetime | None = None,
) -> ReviewEvent:
    """Apply the review step of an event DIAN registered; returns the trail's row."""
    step = _STEPS_BY_CODE[code]
    _record_step(document=document, actor=actor, step=step, note=note, claim_concept=concept)
    event = document.review_events.filter(event_code=code).latest("created_at", "id")
    if sent_at is not None:
        event.sent_to_dian_at = sent_at
        event.save(update_fields=["sent_to_dian_at"])
    return event


def _record_step(
    *,
    document: ReceivedDocument,
    actor: AbstractBaseUser,
    step: _Step,
    note: str,
    claim_concept: str = "",
) -> ReceivedDocument:
    with transaction.atomic():
        locked = ReceivedDocument.objects.select_for_update().get(pk=document.pk)
        _check_step(locked, step)
        from_status = locked.review_status
        locked.review_status = step.to_status
        if step is _RECEIVE_GOODS:
            locked.goods_received_at = timezone.now()
        if step is _CLAIM:
            locked.claim_concept = claim_concept
            locked.claim_reason = note
        locked.full_clean()
        locked.save(
            update_fields=["review_status", "goods_received_at", "claim_concept", "claim_reason"]
        )
        event = ReviewEvent(
            document=locked,
            from_status=from_status,
            to_status=step.to_status,
            event_code=step.event_code,
            claim_concept=claim_concept,
            note=note.strip(),
            actor=actor,
        )
        event.full_clean()
        event.save()
    return locked


def _check_step(document: ReceivedDocument, step: _Step) -> None:
    if document.document_type != DocumentType.INVOICE:
        raise ReviewRefused(
            _("Los eventos de la DIAN se registran sobre facturas; este documento es una %(type)s.")
            % {"type": document.get_document_type_display().lower()}
        )
    current = ReviewStatus(document.review_status)
    if current in FINAL_STATUSES:
        raise ReviewRefused(
            _(
                "El documento ya está «%(status)s»: una aceptación o un reclamo no se revierten "
                "ni admiten otro evento."
            )
            % {"status": current.label}
        )
    if current not in step.allowed_from:
        raise ReviewRefused(
            _("El evento %(event)s no procede desde «%(status)s»; antes debe registrarse %(need)s.")
            % {
                "event": step.event_code,
                "status": current.label,
                "need": _(" o ").join(str(status.label) for status in sorted(step.allowed_from)),
            }
        )
    if step is _CLAIM:
        deadline = document_tacit_deadline(document)
        if deadline is not None and timezone.localdate() > deadline:
            raise ReviewRefused(
                _(
                    "El plazo para reclamar venció el %(deadline)s: la factura quedó aceptada "
                    "tácitamente."
                )
                % {"deadline": deadline.strftime("%Y-%m-%d")}
            )
