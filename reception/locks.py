"""The per-mailbox fetch lock: two fetches of one mailbox never run at once, on any machine.

On PostgreSQL it is a session advisory lock held by a connection of its own: when the process
holding it dies, the server closes that connection and the lock is free at once. Elsewhere
(SQLite, the single-machine set-up) it is a lease on the mailbox row, renewed while the fetch
runs and taken over when its holder on this machine is no longer alive.
"""

from __future__ import annotations

import os
import socket
import time
import uuid
from datetime import timedelta

from django.db import DEFAULT_DB_ALIAS, connections
from django.db.models import Q
from django.utils import timezone

from reception.exceptions import LockLost
from reception.models import ReceptionMailbox

#: First key of the advisory lock pair, so ours never collide with another application's.
ADVISORY_NAMESPACE = 0x52464531  # "RFE1"
LEASE = timedelta(minutes=15)
#: A lease is renewed at most this often: a fetch calls renew() after every batch, and on SQLite
#: each renewal is a commit (a disk sync). The lease stays at least 14 minutes ahead.
RENEW_EVERY = timedelta(minutes=1)


class MailboxLock:
    """acquire() → True if this process now owns the mailbox; release() gives it back."""

    def __init__(self, mailbox: ReceptionMailbox) -> None:
        self.mailbox_id = mailbox.pk
        self._connection = None
        self._token: uuid.UUID | None = None
        self._renewed_at = 0.0

    def acquire(self) -> bool:
        if connections[DEFAULT_DB_ALIAS].vendor == "postgresql":
            return self._acquire_advisory()
        return self._acquire_lease()

    def renew(self) -> None:
        """Called between batches; a lease that another process took over is an error."""
        if self._token is None or time.monotonic() - self._renewed_at < RENEW_EVERY.seconds:
            return
        self._renewed_at = time.monotonic()
        renewed = ReceptionMailbox.objects.filter(
            pk=self.mailbox_id, fetch_lock_token=self._token
        ).update(fetch_locked_until=timezone.now() + LEASE)
        if not renewed:
            raise LockLost(self.mailbox_id)

    def release(self) -> None:
        if self._connection is not None:
            self._connection.close()  # ends the session, and with it the advisory lock
            self._connection = None
        if self._token is not None:
            ReceptionMailbox.objects.filter(
                pk=self.mailbox_id, fetch_lock_token=self._token
            ).update(fetch_lock_token=None, fetch_locked_until=None, fetch_locked_by="")
            self._token = None

    def _acquire_advisory(self) -> bool:
        connection = connections.create_connection(DEFAULT_DB_ALIAS)
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT pg_try_advisory_lock(%s, %s)", [ADVISORY_NAMESPACE, self.mailbox_id]
            )
            taken = bool(cursor.fetchone()[0])
        if taken:
            self._connection = connection
        else:
            connection.close()
        return taken

    def _acquire_lease(self) -> bool:
        token = uuid.uuid4()
        now = timezone.now()
        free = Q(fetch_locked_until__isnull=True) | Q(fetch_locked_until__lt=now)
        holder = (
            ReceptionMailbox.objects.filter(pk=self.mailbox_id)
            .values_list("fetch_lock_token", "fetch_locked_by")
            .first()
        )
        if holder and holder[0] and _dead_here(holder[1]):
            free |= Q(fetch_lock_token=holder[0])
        taken = (
            ReceptionMailbox.objects.filter(pk=self.mailbox_id)
            .filter(free)
            .update(fetch_lock_token=token, fetch_locked_until=now + LEASE, fetch_locked_by=_me())
        )
        if taken:
            self._token = token
            self._renewed_at = time.monotonic()
        return bool(taken)


def _me() -> str:
    return f"{socket.gethostname()}:{os.getpid()}"


def _dead_here(holder: str) -> bool:
    """True when `holder` ran on this machine and its process is gone (a crash)."""
    host, _sep, pid = holder.rpartition(":")
    if host != socket.gethostname() or not pid.isdigit():
        return False
    try:
        os.kill(int(pid), 0)
    except ProcessLookupError:
        return True
    except PermissionError:
        return False
    return False
