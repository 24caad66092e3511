"""`/health/`: what a load balancer or a monitor asks before sending work here.

Four checks, each answered "ok" or "error" and nothing more (no versions, hosts, paths or
exception text, which could name a server or a credential): the database answers, the private
storage takes a file, the django-q2 broker answers, and a worker finished a task recently (its
heartbeat: the scheduled fan-out runs every RECEPTION_FETCH_INTERVAL_MINUTES, so a cluster that
is alive leaves a finished task at least that often). 200 when all pass, 503 otherwise. No login;
exempt from the HTTPS redirect (SECURE_REDIRECT_EXEMPT) so a probe over plain HTTP on the
private network gets the answer, not a redirect.
"""

from __future__ import annotations

import logging
import os
import tempfile
from collections.abc import Callable
from datetime import timedelta

from django.conf import settings
from django.db import connection
from django.http import HttpRequest, JsonResponse
from django.utils import timezone
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_safe

logger = logging.getLogger(__name__)

#: How many fetch intervals a worker may stay without finishing a task before it counts as down.
HEARTBEAT_INTERVALS = 2


def check_database() -> None:
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1")
        cursor.fetchone()


def check_storage() -> None:
    """A file written and removed where stored mail and documents go."""
    from config.storage import private_storage

    root = private_storage.path("")
    os.makedirs(root, exist_ok=True)  # a fresh installation has stored nothing yet
    with tempfile.NamedTemporaryFile(dir=root, prefix=".health-") as probe:
        probe.write(b"ok")
        probe.flush()


def check_broker() -> None:
    from django_q.brokers import get_broker

    if get_broker().ping() is False:
        raise ConnectionError("broker did not answer")


def worker_heartbeat_max_age() -> timedelta:
    return timedelta(minutes=settings.RECEPTION_FETCH_INTERVAL_MINUTES * HEARTBEAT_INTERVALS)


def check_worker() -> None:
    """A task finished (successfully or not) within the heartbeat's age."""
    from django_q.models import Task

    last = Task.objects.order_by("-stopped").values_list("stopped", flat=True).first()
    if last is None or timezone.now() - last > worker_heartbeat_max_age():
        raise TimeoutError("no task finished recently")


CHECKS: dict[str, Callable[[], None]] = {
    "database": check_database,
    "storage": check_storage,
    "broker": check_broker,
    "worker": check_worker,
}


def health_report() -> dict[str, str]:
    """Each check's name and "ok" or "error"; why is logged here, never answered."""
    report = {}
    for name, check in CHECKS.items():
        try:
            check()
        except Exception:
            logger.warning("health check %s failed", name, exc_info=True)
            report[name] = "error"
        else:
            report[name] = "ok"
    return report


@never_cache
@require_safe
def health_view(request: HttpRequest) -> JsonResponse:
    checks = health_report()
    healthy = all(value == "ok" for value in checks.values())
    return JsonResponse(
        {"status": "ok" if healthy else "error", "checks": checks},
        status=200 if healthy else 503,
    )
