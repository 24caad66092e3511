"""The django-q2 schedules, created or updated by name: rows, never import-time side effects."""

from __future__ import annotations

import datetime

from django.conf import settings
from django.utils import timezone
from django_q.models import Schedule

FETCH_ALL = "fetch-all-mailboxes"
NOTIFY_EXPIRING = "notify-expiring-secrets"
ALERT_STALE = "alert-stale-mailboxes"
#: Bogotá time of the daily secret-expiry job: early, before people start work.
EXPIRY_JOB_TIME = datetime.time(6, 0)


def schedules_ensure() -> list[tuple[str, bool]]:
    """Create or update the schedules; safe to run on every start. Returns (name, created)."""
    fetch, fetch_created = Schedule.objects.update_or_create(
        name=FETCH_ALL,
        defaults={
            "func": "reception.tasks.fetch_all_mailboxes",
            "schedule_type": Schedule.MINUTES,
            "minutes": settings.RECEPTION_FETCH_INTERVAL_MINUTES,
            "repeats": -1,
        },
    )
    if fetch.next_run is None:
        fetch.next_run = timezone.now()
        fetch.save(update_fields=["next_run"])
    now = timezone.localtime()
    first = now.replace(
        hour=EXPIRY_JOB_TIME.hour, minute=EXPIRY_JOB_TIME.minute, second=0, microsecond=0
    )
    if first <= now:
        first += datetime.timedelta(days=1)
    _notify, notify_created = Schedule.objects.get_or_create(
        name=NOTIFY_EXPIRING,
        defaults={
            "func": "reception.tasks.notify_expiring_secrets",
            "schedule_type": Schedule.DAILY,
            "repeats": -1,
            "next_run": first,
        },
    )
    # Late mailboxes are looked for once per fetch interval, beside the fetch itself.
    _alert, alert_created = Schedule.objects.update_or_create(
        name=ALERT_STALE,
        defaults={
            "func": "reception.tasks.alert_stale_mailboxes",
            "schedule_type": Schedule.MINUTES,
            "minutes": settings.RECEPTION_FETCH_INTERVAL_MINUTES,
            "repeats": -1,
        },
    )
    return [
        (FETCH_ALL, fetch_created),
        (NOTIFY_EXPIRING, notify_created),
        (ALERT_STALE, alert_created),
    ]
