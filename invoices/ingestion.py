"""From recorded e-mails to ReceivedDocuments: parse, check, register once, explain the rest.

The fetch hands over a batch of ledger rows already committed with their raw bytes. One
transaction per batch writes the documents, their taxes and every row's outcome, so a crash
leaves either the whole batch decided or the whole batch pending (and a re-run decides it).
The same CUFE twice never makes a second document: the database's unique constraint backs the
check made here.
"""

from __future__ import annotations

import ctypes
import datetime
import hashlib
import os
import signal
import sys
import threading
import time
from collections.abc import Callable, Sequence
from concurrent.futures import Executor, ProcessPoolExecutor
from dataclasses import dataclass
from decimal import Decimal
from zoneinfo import ZoneInfo

from django.conf import settings
from django.db import connection, transaction
from django.db.models import Model, Q
from django.utils import timezone
from django.utils.translation import gettext as _

from invoices.dian import (
    DEFAULT_LIMITS,
    DocumentFacts,
    Limits,
    Outcome,
    ParsedMail,
    Severity,
    parse_message,
)
from invoices.dian.checks import check_buyer
from invoices.models import DocumentTax, DocumentType, ReceivedDocument
from reception.models import IncomingMessage, MessageOutcome, ReceptionMailbox
from reception.storage import content_save

BOGOTA = ZoneInfo("America/Bogota")
_PR_SET_PDEATHSIG = 1
TAX_NAMES = {"01": "IVA", "02": "IC", "03": "ICA", "04": "INC", "05": "ReteIVA", "06": "ReteRenta"}


@dataclass(frozen=True)
class RecordedMessage:
    """A ledger row and the bytes it was recorded with (kept in memory to parse once)."""

    message: IncomingMessage
    raw: bytes


#: Below this many messages a process pool costs more than it saves.
POOL_MIN_MESSAGES = 8


def parse_many(raws: Sequence[bytes], *, executor: Executor | None, limits: Limits) -> list:
    """Parse on the executor's processes when given; parsing, not the network, is the cost."""
    return parse_start(raws, executor=executor, limits=limits)()


def parse_start(
    raws: Sequence[bytes], *, executor: Executor | None, limits: Limits
) -> Callable[[], list[ParsedMail]]:
    """Start parsing a batch; the returned callable waits for the results, in order.

    With an executor the batch goes to its processes at once, so the caller can record it (and
    finish the previous batch) meanwhile; without one it is parsed when the results are asked for.
    """
    if executor is None or len(raws) < POOL_MIN_MESSAGES:
        return lambda: [parse_message(raw, limits=limits) for raw in raws]
    # About four chunks per process: balanced, with few round trips through the pool's pipes.
    chunk = max(1, len(raws) // 8)
    results = executor.map(_parse_with_limits, raws, [limits] * len(raws), chunksize=chunk)
    return lambda: list(results)


def _parse_with_limits(raw: bytes, limits: Limits) -> ParsedMail:
    return parse_message(raw, limits=limits)


def parse_pool(processes: int) -> ProcessPoolExecutor:
    """A pool of parse processes that end with the fetch that started them.

    A fetch killed outright (SIGKILL, the OOM killer) would otherwise leave its idle workers
    behind for good, holding the killed command's output pipes open.
    """
    return ProcessPoolExecutor(
        max_workers=processes, initializer=_end_with_parent, initargs=(os.getpid(),)
    )


def _end_with_parent(parent_pid: int) -> None:
    if sys.platform == "linux":
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(_PR_SET_PDEATHSIG, signal.SIGKILL)
    else:  # no parent-death signal: watch for being re-parented
        threading.Thread(target=_watch_parent, args=(parent_pid,), daemon=True).start()
    if os.getppid() != parent_pid:  # the parent died before the signal was armed
        os._exit(1)


def _watch_parent(parent_pid: int) -> None:
    while os.getppid() == parent_pid:
        time.sleep(1)
    os._exit(1)


def messages_process(
    mailbox: ReceptionMailbox,
    recorded: Sequence[RecordedMessage],
    *,
    executor: Executor | None = None,
    limits: Limits = DEFAULT_LIMITS,
    parsed: Sequence[ParsedMail] | None = None,
) -> list[IncomingMessage]:
    """Decide every recorded message of the batch and register its document, exactly once.

    `parsed` are the batch's results when the caller started the parse earlier (parse_start).
    """
    if not recorded:
        return []
    if parsed is None:
        parsed = parse_many([item.raw for item in recorded], executor=executor, limits=limits)
    organization = mailbox.organization
    with transaction.atomic():
        ids = [item.message.pk for item in recorded]
        # Lock the rows: a concurrent re-process of the same message waits, then sees it decided.
        fresh = {
            row.pk: row for row in IncomingMessage.objects.select_for_update().filter(pk__in=ids)
        }
        cufes = [p.facts.cufe for p in parsed if p.ok and p.facts]
        registered = dict(
            ReceivedDocument.objects.filter(organization=organization, cufe__in=cufes).values_list(
                "cufe", "number"
            )
        )
        documents: list[ReceivedDocument] = []
        taxes: list[list[DocumentTax]] = []
        decided: list[IncomingMessage] = []
        now = timezone.now()
        for item, result in zip(recorded, parsed, strict=True):
            message = fresh.get(item.message.pk)
            if message is None or message.outcome != MessageOutcome.PENDING:
                continue
            _copy_envelope(message, result)
            outcome, code, reason, document = _decide(message, result, organization, registered)
            message.outcome, message.reason_code, message.reason = outcome, code, reason
            message.processed_at = now
            message.attempts += 1
            if document is not None:
                registered[document.cufe] = document.number
                documents.append(document)
                taxes.append(_taxes(result))
            decided.append(message)
        ReceivedDocument.objects.bulk_create(documents)
        DocumentTax.objects.bulk_create(
            [
                tax
                for document, document_taxes in zip(documents, taxes, strict=True)
                for tax in _attach(document_taxes, document)
            ]
        )
        _link_notes(organization.pk, documents)
        _save_decisions(decided)
    return decided


def configured_limits() -> Limits:
    """The parser's limits with the configured maximum message size (fetch and reprocess)."""
    return Limits(max_message_bytes=settings.RECEPTION_MAX_MESSAGE_BYTES)


def message_reprocess(message: IncomingMessage) -> IncomingMessage:
    """Decide a recorded message again from its stored original (after a fix or a new NIT).

    A message whose document still exists keeps it; anything else (including a message whose
    document was deleted) is decided anew.
    """
    with transaction.atomic():
        message = IncomingMessage.objects.select_for_update().get(pk=message.pk)
        keeps_document = message.outcome == MessageOutcome.DOCUMENT and message.documents.exists()
        if keeps_document or not message.raw:
            return message
        message.outcome = MessageOutcome.PENDING
        message.save(update_fields=["outcome"])
    with message.raw.open("rb") as handle:
        raw = handle.read()
    mailbox = ReceptionMailbox.objects.select_related("organization").get(pk=message.mailbox_id)
    messages_process(mailbox, [RecordedMessage(message, raw)], limits=configured_limits())
    message.refresh_from_db()
    return message


def _copy_envelope(message: IncomingMessage, result: ParsedMail) -> None:
    envelope = result.envelope
    message.message_id = (envelope.message_id or "")[:998]
    message.sender = (envelope.from_header or "")[:998]
    message.subject = envelope.subject or ""
    message.sent_at = envelope.date


def _decide(
    message: IncomingMessage,
    result: ParsedMail,
    organization,
    registered: dict[str, str],
) -> tuple[str, str, str, ReceivedDocument | None]:
    if not result.ok or result.facts is None:
        outcome = (
            MessageOutcome.NOT_DIAN if result.outcome == Outcome.NOT_DIAN else MessageOutcome.ERROR
        )
        return outcome, str(result.outcome), result.reason, None
    facts = result.facts
    wrong_buyer = check_buyer(facts, organization.nit)
    if wrong_buyer:
        return (
            MessageOutcome.REJECTED,
            "wrong_buyer",
            _("%(reason)s: el comprador es %(buyer)s y la organización %(nit)s")
            % {"reason": wrong_buyer, "buyer": facts.buyer.nit or "?", "nit": organization.nit},
            None,
        )
    errors = [check for check in result.checks if check.severity == Severity.ERROR]
    if errors:
        return (
            MessageOutcome.ERROR,
            errors[0].code,
            "; ".join(check.message for check in errors),
            None,
        )
    if facts.cufe in registered:
        return (
            MessageOutcome.DUPLICATE,
            "duplicate",
            _("Duplicado: el CUFE %(cufe)s ya está registrado (documento %(number)s)")
            % {"cufe": facts.cufe, "number": registered[facts.cufe]},
            None,
        )
    if facts.issue_date is None or facts.payable_amount is None:
        missing = _("fecha de emisión") if facts.issue_date is None else _("total a pagar")
        return (
            MessageOutcome.ERROR,
            "xml_incomplete",
            _("El documento no trae %(field)s") % {"field": missing},
            None,
        )
    document = _document(message, result, organization)
    return (
        MessageOutcome.DOCUMENT,
        "ok",
        _("Documento %(number)s registrado") % {"number": facts.number},
        document,
    )


def _document(message: IncomingMessage, result: ParsedMail, organization) -> ReceivedDocument:
    facts = result.facts
    assert facts is not None
    reference = facts.referenced_invoice
    validation = facts.dian_validation
    document = ReceivedDocument(
        organization=organization,
        mailbox_id=message.mailbox_id,
        source_message=message,
        document_type=DocumentType(facts.document_type.value),
        type_code=facts.type_code,
        number=facts.number,
        cufe=facts.cufe,
        cufe_scheme=facts.cufe_scheme or "",
        issue_date=facts.issue_date,
        issue_time=_bogota_time(facts),
        supplier_nit=facts.supplier.nit or "",
        supplier_check_digit=facts.supplier.check_digit or "",
        supplier_name=facts.supplier.name or "",
        buyer_nit=facts.buyer.nit or "",
        buyer_check_digit=facts.buyer.check_digit or "",
        buyer_name=facts.buyer.name or "",
        currency=facts.currency or "COP",
        line_extension_amount=facts.line_extension_amount,
        tax_exclusive_amount=facts.tax_exclusive_amount,
        tax_inclusive_amount=facts.tax_inclusive_amount,
        payable_amount=facts.payable_amount,
        tax_amount=sum((t.tax_amount or Decimal(0) for t in facts.taxes), Decimal(0)),
        is_test_environment=facts.is_test_environment,
        dian_validated=facts.is_dian_validated,
        dian_response_code=(validation.response_code or "") if validation else "",
        referenced_number=(reference.number or "") if reference else "",
        referenced_cufe=(reference.cufe or "") if reference else "",
        warnings=[
            {"code": check.code, "severity": str(check.severity), "message": check.message}
            for check in result.checks
        ],
    )
    stem = _file_stem(organization.pk, facts.cufe)
    document.xml_file.name = _store(f"{stem}.xml", result.xml or b"")
    if result.pdf:
        document.pdf_file.name = _store(f"{stem}.pdf", result.pdf)
    return document


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


def _store(name: str, data: bytes) -> str:
    return content_save(name, data)


_DECISION_FIELDS = (
    "outcome",
    "reason_code",
    "reason",
    "processed_at",
    "attempts",
    "message_id",
    "sender",
    "subject",
    "sent_at",
)


def _save_decisions(messages: Sequence[IncomingMessage]) -> None:
    _update_rows(IncomingMessage, _DECISION_FIELDS, messages)


def _update_rows(model: type[Model], names: Sequence[str], objects: Sequence[Model]) -> None:
    """Save some fields of many rows: one UPDATE per row, sent as a single executemany
    (pipelined on PostgreSQL).

    bulk_update() builds a CASE per field and row, whose construction in Python cost more than
    the rest of a batch's decision.
    """
    if not objects:
        return
    meta = model._meta
    fields = [meta.get_field(name) for name in names]
    quote = connection.ops.quote_name
    assignments = ", ".join(f"{quote(field.column)} = %s" for field in fields)
    table, key = quote(meta.db_table), quote(meta.pk.column)
    # Only the model's own quoted names are interpolated; every value is a parameter.
    sql = f"UPDATE {table} SET {assignments} WHERE {key} = %s"  # noqa: S608
    rows = [
        [field.get_db_prep_save(getattr(obj, field.attname), connection) for field in fields]
        + [obj.pk]
        for obj in objects
    ]
    with connection.cursor() as cursor:
        cursor.executemany(sql, rows)


def _taxes(result: ParsedMail) -> list[DocumentTax]:
    facts = result.facts
    assert facts is not None
    return [
        DocumentTax(
            scheme_id=line.scheme_id,
            name=line.scheme_name or TAX_NAMES.get(line.scheme_id, ""),
            percent=line.percent,
            taxable_amount=line.taxable_amount,
            amount=line.tax_amount or Decimal(0),
            is_withholding=withholding,
        )
        for withholding, lines in ((False, facts.taxes), (True, facts.withholdings))
        for line in lines
    ]


def _attach(taxes: list[DocumentTax], document: ReceivedDocument) -> list[DocumentTax]:
    for tax in taxes:
        tax.document = document
    return taxes


def _link_notes(organization_id: int, documents: list[ReceivedDocument]) -> None:
    """Point notes at their invoice, whichever of the two arrived first.

    A handful of queries per batch, not per note: a fetch of thousands registers notes by the
    hundred.
    """
    if not documents:
        return
    scope = ReceivedDocument.objects.filter(organization_id=organization_id)
    linked: list[ReceivedDocument] = []
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
                note.referenced_document_id = invoice_id
                linked.append(note)
    invoices = {d.cufe: d.pk for d in documents if d.document_type == DocumentType.INVOICE}
    numbers_ = {d.number: d.pk for d in documents if d.document_type == DocumentType.INVOICE}
    if invoices:
        waiting = (
            scope.filter(referenced_document__isnull=True)
            .exclude(document_type=DocumentType.INVOICE)
            .exclude(pk__in=[note.pk for note in linked])
            .filter(Q(referenced_cufe__in=list(invoices)) | Q(referenced_number__in=list(numbers_)))
            .values_list("pk", "referenced_cufe", "referenced_number")
        )
        for note_id, cufe, number in waiting:
            invoice_id = invoices.get(cufe) or (numbers_.get(number) if not cufe else None)
            if invoice_id:
                linked.append(ReceivedDocument(pk=note_id, referenced_document_id=invoice_id))
    _update_rows(ReceivedDocument, ("referenced_document",), linked)
