"""django-q2 entry points for RADIAN events: ids in, one service call, a short summary out."""

from __future__ import annotations

from invoices.radian_services import (
    dian_certificates_notify_expiring,
    radian_event_send,
    radian_events_due,
)


def radian_send_event(event_id: int) -> dict:
    event = radian_event_send(event_id=event_id)
    return {"event": event.pk, "state": event.state, "attempts": event.attempts}


def radian_retry_due() -> dict:
    """Resend events whose retry time has come (a safety net for lost one-off schedules)."""
    done = [radian_event_send(event_id=event_id).state for event_id in radian_events_due()]
    return {"retried": len(done)}


def notify_expiring_certificates() -> dict:
    return dian_certificates_notify_expiring()
