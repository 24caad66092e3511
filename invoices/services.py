"""Operations on received documents: the only writers of their state.

The admin, the commands and the tasks call these functions; nothing else saves a document.
Each concern keeps its own section below: the review (the buyer's RADIAN events) is one;
registering documents from recorded e-mails gets another.
"""

from __future__ import annotations

import datetime
from dataclasses import dataclass

from django.contrib.auth.models import AbstractBaseUser
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from invoices.business_days import tacit_acceptance_deadline
from invoices.exceptions import ReviewRefused
from invoices.models import (
    ClaimConcept,
    DocumentType,
    ReceivedDocument,
    ReviewEvent,
    ReviewStatus,
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
