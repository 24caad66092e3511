"""Watching the fetches: every fetch's log lines name its organization and mailbox, and an Activo
mailbox whose last successful fetch is older than RECEPTION_STALE_FETCH_INTERVALS intervals is
late — the worker is down, the schedule stopped, or the mailbox keeps failing without yet
turning Inactivo. The admin shows it per mailbox; a scheduled job logs it and e-mails the
people responsible once, when a mailbox becomes late.
"""

from __future__ import annotations

import functools
import logging
from collections.abc import Callable
from datetime import datetime, timedelta

from django.conf import settings
from django.contrib import admin
from django.db.models import F, QuerySet
from django.db.models.functions import Coalesce
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from config.observability import log_context
from reception.exceptions import MailboxBusy, ReceptionError
from reception.models import MailboxStatus, ReceptionMailbox

logger = logging.getLogger("reception.fetch")
STALE_ALERT_TASK = "reception.tasks.alert_stale_mailboxes"


def logged_fetch(fetch: Callable) -> Callable:
    """Wraps mailbox_fetch: every line logged during the fetch (here, in the transports, in the
    ingestion) carries the organization's NIT and the mailbox address; start and end are
    logged with the counts."""

    @functools.wraps(fetch)
    def wrapper(mailbox: ReceptionMailbox, **kwargs):
        with log_context(organization=mailbox.organization.nit, mailbox=mailbox.username):
            logger.info("fetch started (%s)", kwargs.get("trigger", ""))
            try:
                summary = fetch(mailbox, **kwargs)
            except MailboxBusy:
                logger.info("fetch skipped: another fetch holds this mailbox")
                raise
            except ReceptionError as error:
                # MailboxUnreachable: the transports' detail, already scrubbed of secrets.
                logger.warning("fetch failed: %s", error)
                raise
            except Exception:
                logger.exception("fetch failed")
                raise
            logger.info("fetch finished: %s", summary.as_dict())
            return summary

    return wrapper


def stale_after() -> timedelta:
    return timedelta(
        minutes=settings.RECEPTION_FETCH_INTERVAL_MINUTES * settings.RECEPTION_STALE_FETCH_INTERVALS
    )


def with_last_read(queryset: QuerySet[ReceptionMailbox]) -> QuerySet[ReceptionMailbox]:
    """`last_read`: the last successful fetch, or when the mailbox became what it is now for
    one never read (a mailbox activated a minute ago is not late)."""
    return queryset.annotate(
        last_read=Coalesce(F("last_fetch_at"), F("status_changed_at"), F("created_at"))
    )


def stale_mailboxes(
    queryset: QuerySet[ReceptionMailbox] | None = None, now: datetime | None = None
) -> QuerySet[ReceptionMailbox]:
    """Activo mailboxes not read successfully for more than the allowed intervals."""
    if queryset is None:
        queryset = ReceptionMailbox.objects.all()
    limit = (now or timezone.now()) - stale_after()
    return with_last_read(queryset.filter(status=MailboxStatus.ACTIVE)).filter(last_read__lt=limit)


def is_stale(mailbox: ReceptionMailbox, now: datetime | None = None) -> bool:
    if mailbox.status != MailboxStatus.ACTIVE:
        return False
    last = mailbox.last_fetch_at or mailbox.status_changed_at or mailbox.created_at
    return last < (now or timezone.now()) - stale_after()


@admin.display(description=_("última lectura correcta"), ordering="last_fetch_at")
def last_read_column(mailbox: ReceptionMailbox) -> str:
    """The mailbox list's column: when it was last read, and "atrasado" when late."""
    when = (
        timezone.localtime(mailbox.last_fetch_at).strftime("%Y-%m-%d %H:%M")
        if mailbox.last_fetch_at
        else str(_("nunca"))
    )
    if is_stale(mailbox):
        return f"{when} — {_('atrasado')}"
    return when


class StaleFetchFilter(admin.SimpleListFilter):
    """ "Lectura: al día / atrasada" on the mailbox list (already scoped to what the user sees)."""

    title = _("lectura")
    parameter_name = "lectura"

    def lookups(self, request, model_admin):
        return [("late", _("Atrasada")), ("ok", _("Al día"))]

    def queryset(self, request, queryset):
        stale = stale_mailboxes(queryset)
        if self.value() == "late":
            return queryset.filter(pk__in=stale.values("pk"))
        if self.value() == "ok":
            return queryset.exclude(pk__in=stale.values("pk"))
        return queryset


def stale_fetch_alert(now: datetime | None = None) -> dict:
    """Log every late mailbox; e-mail the people responsible for those that became late since
    this job last ran (django-q2's record of its previous run), so each lateness is mailed once
    even when the worker was down for a while."""
    from django_q.models import Success

    from reception.notifications import notify_mailbox_stale

    now = now or timezone.now()
    previous = (
        Success.objects.filter(func=STALE_ALERT_TASK)
        .order_by("-started")
        .values_list("started", flat=True)
        .first()
    )
    late = list(stale_mailboxes(now=now).select_related("organization"))
    mailed = 0
    for mailbox in late:
        became_late = mailbox.last_read + stale_after()
        with log_context(organization=mailbox.organization.nit, mailbox=mailbox.username):
            logger.warning(
                "mailbox not read since %s (more than %s fetch intervals)",
                mailbox.last_read.isoformat(),
                settings.RECEPTION_STALE_FETCH_INTERVALS,
            )
        if previous is None or became_late > previous:
            mailed += notify_mailbox_stale(mailbox, last_read=mailbox.last_read)
    return {"late": len(late), "mailed": mailed}
