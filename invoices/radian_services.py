"""RADIAN events from a review to DIAN and the supplier: the only writers of DIAN credentials
and RadianEvent rows.

Path of one event: a review action → `radian_event_request` (step checked, number taken, event
built and signed, row "por enviar", a task queued after commit) → `radian_event_send` (DIAN's
answer recorded; registered → the review step is applied and the supplier e-mailed; rejected →
the review state does not move and DIAN's rules are kept to show; transient → retried with
backoff, reconciled with GetStatusEvent before any resend).
"""

from __future__ import annotations

import base64
import datetime as dt
import logging
from email.utils import parseaddr
from typing import Any

from django.conf import settings
from django.core.mail import EmailMessage
from django.db import transaction
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext as _
from django_q.models import Schedule
from django_q.tasks import async_task

from invoices import services
from invoices.dian.certificates import CertificateProblem, SigningIdentity, load_pkcs12
from invoices.dian.radian import (
    CLAIM,
    EVENTS_WITH_PERSON,
    PRODUCTION,
    TESTING,
    EventParty,
    EventRequest,
    RadianError,
    ReceiverPerson,
    Software,
    build_event,
    parse_event_xml,
    read_event,
)
from invoices.dian.xades import sign_event
from invoices.exceptions import ReviewRefused
from invoices.models import (
    DianCredentials,
    DianEnvironment,
    RadianEvent,
    RadianEventState,
    ReceivedDocument,
)
from invoices.radian.client import (
    HABILITACION_URL,
    PRODUCCION_URL,
    DianClient,
    DianError,
    DianTransient,
    zip_event,
)

logger = logging.getLogger(__name__)

#: Seconds before each retry of a transient failure; the last one repeats.
RETRY_DELAYS = (60, 300, 900, 3600, 6 * 3600)
#: States in which an event is still on its way: no second event of the document meanwhile.
IN_FLIGHT = (RadianEventState.TO_SEND, RadianEventState.SENT, RadianEventState.TRANSIENT)
RADIAN_CODES = ("030", "031", "032", "033")


class RadianRefused(ReviewRefused):
    """The event cannot be made (no credentials, a certificate that no longer opens...)."""


# --- Credentials -------------------------------------------------------------------------------


def dian_credentials_configure(
    *, organization: Any, data: dict[str, Any], certificate: bytes | None
) -> DianCredentials:
    """Save what `DianCredentialsForm` validated; blank secrets keep the stored ones."""
    with transaction.atomic():
        credentials = (
            DianCredentials.objects.select_for_update().filter(organization=organization).first()
        )
        if credentials is None:
            credentials = DianCredentials(organization=organization)
        if certificate is not None:
            identity = load_pkcs12(certificate, data.get("certificate_password") or "")
            credentials.certificate = base64.b64encode(certificate).decode("ascii")
            credentials.certificate_password = data.get("certificate_password") or ""
            credentials.certificate_subject = identity.certificate.subject.rfc4514_string()[:500]
            credentials.certificate_not_before = identity.certificate.not_valid_before_utc
            credentials.certificate_not_after = identity.certificate.not_valid_after_utc
            credentials.certificate_warning_sent_at = None
            credentials.certificate_expired_notice_sent_at = None
        if data.get("software_pin"):
            credentials.software_pin = data["software_pin"]
        for name in DianCredentials.PLAIN_FIELDS:
            setattr(credentials, name, data.get(name) or "")
        credentials.full_clean(exclude=["organization"])
        credentials.save()
        radian_schedules_ensure()
    return credentials


RETRY_DUE = "radian-retry-due"
NOTIFY_CERTIFICATES = "notify-expiring-dian-certificates"


def radian_schedules_ensure() -> None:
    """The RADIAN jobs as rows, created by name once an organization configures DIAN: the
    retry sweep (a safety net behind each event's own retry) and the daily certificate check."""
    Schedule.objects.get_or_create(
        name=RETRY_DUE,
        defaults={
            "func": "invoices.tasks.radian_retry_due",
            "schedule_type": Schedule.MINUTES,
            "minutes": 5,
            "repeats": -1,
            "next_run": timezone.now(),
        },
    )
    Schedule.objects.get_or_create(
        name=NOTIFY_CERTIFICATES,
        defaults={
            "func": "invoices.tasks.notify_expiring_certificates",
            "schedule_type": Schedule.DAILY,
            "repeats": -1,
            "next_run": timezone.now(),
        },
    )


def dian_certificates_notify_expiring(*, today: dt.date | None = None) -> dict[str, int]:
    """Warn the organization's Back office N days before its signing certificate expires, and
    once more when it has expired (events signed with it are rejected by DIAN), once each.

    Each notice is claimed with a conditional UPDATE before mailing, so two runs send one; a
    failed send releases the claim for the next run.
    """
    today = today or timezone.localdate()
    warn_days = settings.DIAN_CERTIFICATE_WARNING_DAYS
    counts = {"warned": 0, "expired": 0}
    start_of_today = timezone.make_aware(dt.datetime.combine(today, dt.time.min))
    expired = DianCredentials.objects.filter(
        certificate_expired_notice_sent_at__isnull=True, certificate_not_after__lt=start_of_today
    )
    for credentials in expired.select_related("organization"):
        if _claim_notice(credentials, "certificate_expired_notice_sent_at"):
            subject = _("El certificado de firma DIAN de %(org)s venció")
            body = _(
                "El certificado digital con el que %(org)s firma sus eventos RADIAN venció el "
                "%(date)s. La DIAN rechaza los eventos firmados con él: súbelo de nuevo en "
                "«Credenciales DIAN»."
            )
            counts["expired"] += _notify_back_office(
                credentials, "certificate_expired_notice_sent_at", subject, body
            )
    soon = DianCredentials.objects.filter(
        certificate_warning_sent_at__isnull=True,
        certificate_expired_notice_sent_at__isnull=True,
        certificate_not_after__gte=start_of_today,
        certificate_not_after__lt=start_of_today + dt.timedelta(days=warn_days + 1),
    )
    for credentials in soon.select_related("organization"):
        if _claim_notice(credentials, "certificate_warning_sent_at"):
            subject = _("El certificado de firma DIAN de %(org)s vence pronto")
            body = _(
                "El certificado digital con el que %(org)s firma sus eventos RADIAN vence el "
                "%(date)s. Renuévalo con tu entidad de certificación y súbelo en "
                "«Credenciales DIAN» antes de esa fecha."
            )
            counts["warned"] += _notify_back_office(
                credentials, "certificate_warning_sent_at", subject, body
            )
    return counts


def _claim_notice(credentials: DianCredentials, field: str) -> bool:
    return bool(
        DianCredentials.objects.filter(pk=credentials.pk, **{f"{field}__isnull": True}).update(
            **{field: timezone.now()}
        )
    )


def _notify_back_office(credentials: DianCredentials, field: str, subject: str, body: str) -> int:
    from organizations.roles import Role

    organization = credentials.organization
    recipients = sorted(
        {
            email
            for email in organization.memberships.filter(
                role=Role.BACK_OFFICE, user__is_active=True
            ).values_list("user__email", flat=True)
            if email
        }
    )
    values = {
        "org": organization.name,
        "date": credentials.certificate_not_after.date().isoformat(),
    }
    try:
        sent = EmailMessage(subject=subject % values, body=body % values, to=recipients).send()
    except OSError as error:
        logger.warning("Aviso de certificado DIAN no enviado (%s): %s", organization.pk, error)
        sent = 0
    if not sent:
        DianCredentials.objects.filter(pk=credentials.pk).update(**{field: None})
        return 0
    return 1


def radian_enabled(organization_id: int) -> bool:
    """Events are sent to DIAN once the organization has its DIAN credentials."""
    return DianCredentials.objects.filter(organization_id=organization_id).exists()


def signing_identity(credentials: DianCredentials) -> SigningIdentity:
    try:
        return load_pkcs12(
            base64.b64decode(credentials.certificate), credentials.certificate_password
        )
    except (CertificateProblem, ValueError) as error:
        raise RadianRefused(
            _("El certificado guardado no se pudo abrir; vuelve a configurarlo.")
        ) from error


def dian_url(credentials: DianCredentials) -> str:
    """DIAN_WS_URL when set, else DIAN's habilitación or producción endpoint."""
    configured = getattr(settings, "DIAN_WS_URL", "")
    if configured:
        return configured
    if credentials.environment == DianEnvironment.PRODUCCION:
        return PRODUCCION_URL
    return HABILITACION_URL


def dian_client(credentials: DianCredentials) -> DianClient:
    return DianClient(
        url=dian_url(credentials),
        identity=signing_identity(credentials),
        ca_bundle=settings.RECEPTION_CA_BUNDLE,
        timeout=getattr(settings, "DIAN_WS_TIMEOUT", 30.0),
    )


# --- Creating an event -------------------------------------------------------------------------


def radian_event_request(
    *,
    document: ReceivedDocument,
    actor: Any,
    code: str,
    concept: str = "",
    note: str = "",
    queue: bool = True,
) -> RadianEvent:
    """Build, sign and queue the event of a review step; the review state moves only once DIAN
    registers it. `queue=False` leaves the sending to the caller (the command sends at once)."""
    note = note.strip()
    if code == CLAIM and not note:
        raise ReviewRefused(_("Un reclamo necesita el motivo que leerá el proveedor."))
    with transaction.atomic():
        locked = ReceivedDocument.objects.select_for_update().get(pk=document.pk)
        services.review_step_check(locked, code)
        if locked.radian_events.filter(state__in=IN_FLIGHT).exists():
            raise ReviewRefused(
                _("Ya hay un evento de esta factura en camino a la DIAN; espera su respuesta.")
            )
        try:
            credentials = DianCredentials.objects.select_for_update().get(
                organization_id=locked.organization_id
            )
        except DianCredentials.DoesNotExist as error:
            raise RadianRefused(
                _("La organización no tiene configuradas sus credenciales DIAN.")
            ) from error
        number = f"{credentials.event_prefix}{credentials.next_event_number}"
        credentials.next_event_number += 1
        credentials.save(update_fields=["next_event_number"])
        issued_at = timezone.now().replace(microsecond=0)
        request = _event_request(
            locked,
            credentials,
            code=code,
            concept=concept,
            note=note,
            number=number,
            issued_at=issued_at,
        )
        try:
            root = build_event(request)
        except RadianError as error:
            raise ReviewRefused(str(error)) from error
        identity = signing_identity(credentials)
        signed = sign_event(
            root,
            key=identity.key,
            certificate=identity.certificate,
            chain=identity.chain,
            signing_time=issued_at.astimezone(dt.timezone(dt.timedelta(hours=-5))),
        )
        event = RadianEvent(
            organization_id=locked.organization_id,
            document=locked,
            code=code,
            concept=concept if code == CLAIM else "",
            note=note,
            number=number,
            cude=read_event(parse_event_xml(signed)).cude,
            issued_at=issued_at,
            signed_xml=signed.decode("utf-8"),
            actor=actor,
        )
        event.full_clean()
        event.save()
        if queue:
            transaction.on_commit(
                lambda: async_task(
                    "invoices.tasks.radian_send_event",
                    event.pk,
                    task_name=f"radian-event-{event.pk}",
                    group="radian",
                )
            )
    return event


def _event_request(
    document: ReceivedDocument,
    credentials: DianCredentials,
    *,
    code: str,
    concept: str,
    note: str,
    number: str,
    issued_at: dt.datetime,
) -> EventRequest:
    organization = document.organization
    person = None
    if code in EVENTS_WITH_PERSON:
        person = ReceiverPerson(
            name=credentials.receiver_name,
            identification=credentials.receiver_id,
            job_title=credentials.receiver_job_title,
            department=credentials.receiver_department,
        )
    return EventRequest(
        number=number,
        code=code,
        issued_at=issued_at,
        sender=EventParty(
            nit=organization.nit,
            name=organization.name,
            check_digit=str(organization.check_digit or ""),
        ),
        receiver=EventParty(
            nit=document.supplier_nit,
            name=document.supplier_name,
            check_digit=document.supplier_check_digit,
        ),
        invoice_number=document.number,
        invoice_cufe=document.cufe,
        invoice_type_code=document.type_code or "01",
        software=Software(
            provider_nit=organization.nit,
            provider_check_digit=str(organization.check_digit or ""),
            software_id=credentials.software_id,
            pin=credentials.software_pin,
        ),
        environment=(
            PRODUCTION if credentials.environment == DianEnvironment.PRODUCCION else TESTING
        ),
        concept=concept if code == CLAIM else "",
        note=note,
        person=person,
    )


# --- Sending -----------------------------------------------------------------------------------


def radian_event_send(*, event_id: int) -> RadianEvent:
    """Send one event (or learn it was registered); idempotent by CUDE, safe to run twice."""
    event = RadianEvent.objects.select_related("document", "organization").get(pk=event_id)
    if event.state in (RadianEventState.REGISTERED, RadianEventState.REJECTED):
        return event
    credentials = DianCredentials.objects.get(organization_id=event.organization_id)
    try:
        client = dian_client(credentials)
    except RadianRefused as refused:
        return _rejected(event, status_code="", description=str(refused), errors=[str(refused)])
    if event.attempts:
        # An earlier attempt may have reached DIAN with its answer lost: ask before resending.
        try:
            status = client.get_status_event(cufe=event.document.cufe)
            if event.cude in status.registered_cudes():
                return _registered(event, status_code="00", description=status.status_description)
        except DianError:
            pass  # the resend below is still safe: DIAN answers Regla 90 for a registered one
    RadianEvent.objects.filter(pk=event.pk).update(
        state=RadianEventState.SENT, attempts=event.attempts + 1, sent_at=timezone.now()
    )
    event.refresh_from_db()
    try:
        answer = client.send_event(
            file_name=f"ar{event.number}", signed_xml=event.signed_xml.encode()
        )
    except DianTransient as error:
        return _transient(event, str(error))
    except DianError as error:
        return _rejected(event, status_code="", description=str(error), errors=[str(error)])
    if answer.registered:
        return _registered(
            event, status_code=answer.status_code, description=answer.status_description
        )
    return _rejected(
        event,
        status_code=answer.status_code,
        description=answer.status_description,
        errors=list(answer.errors),
    )


def _registered(event: RadianEvent, *, status_code: str, description: str) -> RadianEvent:
    with transaction.atomic():
        locked = RadianEvent.objects.select_for_update().get(pk=event.pk)
        if locked.state == RadianEventState.REGISTERED:
            return locked
        locked.state = RadianEventState.REGISTERED
        locked.registered_at = timezone.now()
        locked.next_retry_at = None
        locked.dian_status_code = status_code
        locked.dian_description = description
        locked.dian_errors = []
        try:
            locked.review_event = services.document_review_apply(
                document=locked.document,
                actor=locked.actor,
                code=locked.code,
                note=locked.note,
                concept=locked.concept,
                sent_at=locked.registered_at,
            )
        except ReviewRefused as refused:
            locked.last_error = str(refused)
        locked.save()
        Schedule.objects.filter(name=_retry_name(locked.pk)).delete()
    transaction.on_commit(lambda: radian_event_notify_supplier(event_id=locked.pk))
    return locked


def _rejected(
    event: RadianEvent, *, status_code: str, description: str, errors: list[str]
) -> RadianEvent:
    RadianEvent.objects.filter(pk=event.pk).update(
        state=RadianEventState.REJECTED,
        dian_status_code=status_code,
        dian_description=description,
        dian_errors=errors,
        next_retry_at=None,
    )
    Schedule.objects.filter(name=_retry_name(event.pk)).delete()
    event.refresh_from_db()
    return event


def _transient(event: RadianEvent, reason: str) -> RadianEvent:
    delay = RETRY_DELAYS[min(event.attempts, len(RETRY_DELAYS)) - 1]
    next_retry = timezone.now() + dt.timedelta(seconds=delay)
    RadianEvent.objects.filter(pk=event.pk).update(
        state=RadianEventState.TRANSIENT, next_retry_at=next_retry, last_error=reason
    )
    Schedule.objects.update_or_create(
        name=_retry_name(event.pk),
        defaults={
            "func": "invoices.tasks.radian_send_event",
            "args": str(event.pk),
            "schedule_type": Schedule.ONCE,
            "repeats": 1,
            "next_run": next_retry,
        },
    )
    event.refresh_from_db()
    return event


def _retry_name(event_id: int) -> str:
    return f"radian-retry-{event_id}"


def radian_events_due() -> list[int]:
    """Events whose retry time has come (a sweep for retries whose schedule was lost)."""
    return list(
        RadianEvent.objects.filter(
            Q(state=RadianEventState.TRANSIENT, next_retry_at__lte=timezone.now())
        ).values_list("pk", flat=True)
    )


# --- The supplier ------------------------------------------------------------------------------


def supplier_address(document: ReceivedDocument) -> str:
    """Where the supplier reads events: the sender of the e-mail that brought the invoice.

    DIAN's rules prefer the address the supplier gives for confirmations; documents do not
    carry one here yet, so the invoice e-mail's sender is used.
    """
    message = document.source_message
    if message is None:
        return ""
    return parseaddr(message.sender or "")[1]


def radian_event_notify_supplier(*, event_id: int) -> bool:
    """E-mail the signed event to the supplier once, after DIAN registered it."""
    event = RadianEvent.objects.select_related("document", "organization").get(pk=event_id)
    if event.state != RadianEventState.REGISTERED or event.supplier_notified_at is not None:
        return False
    address = supplier_address(event.document)
    if not address:
        return False
    organization = event.organization
    subject = (
        f"Evento;{event.number};{organization.nit};{organization.name};"
        f"{event.document.number};{event.code}"
    )
    body = _(
        "%(buyer)s registró ante la DIAN el evento %(code)s (%(number)s) sobre tu factura "
        "%(invoice)s. Adjuntamos el evento firmado.\n\nCUDE: %(cude)s"
    ) % {
        "buyer": organization.name,
        "code": event.code,
        "number": event.number,
        "invoice": event.document.number,
        "cude": event.cude,
    }
    message = EmailMessage(subject=subject, body=body, to=[address])
    message.attach(
        f"ar{event.number}.zip",
        zip_event(f"ar{event.number}", event.signed_xml.encode()),
        "application/zip",
    )
    try:
        message.send()
    except OSError as error:
        logger.warning("Aviso al proveedor del evento %s no enviado: %s", event.pk, error)
        return False
    RadianEvent.objects.filter(pk=event.pk).update(
        supplier_notified_at=timezone.now(), supplier_email=address
    )
    return True
