"""Reception mailboxes in a given state, for tests that do not go through the form."""

from __future__ import annotations

import datetime
import uuid
from typing import Any

from organizations.models import Organization
from reception.models import (
    MailboxStatus,
    Protocol,
    ReceptionMailbox,
    Secret,
    Security,
    ServerType,
)


def make_mailbox(
    organization: Organization,
    *,
    protocol: str = Protocol.IMAP,
    status: str = MailboxStatus.ACTIVE,
    secret: str = "s3cr3t~Value.From_Entra-0123456789abcdef",
    expires_on: datetime.date | None = None,
    notification_email: str = "ti@example.test",
    **fields: Any,
) -> ReceptionMailbox:
    defaults = {
        "server_type": ServerType.OUTLOOK_MODERN,
        "protocol": protocol,
        "host": "outlook.office365.com",
        "port": 993 if protocol == Protocol.IMAP else 995,
        "security": Security.SSL,
        "username": f"recepcion@{organization.nit}.example.test",
        "tenant_id": uuid.uuid4(),
        "client_id": uuid.uuid4(),
        "status": status,
        "status_reason": "",
    }
    defaults.update(fields)
    mailbox = ReceptionMailbox.objects.create(organization=organization, **defaults)
    if defaults["server_type"] == ServerType.OUTLOOK_MODERN and secret:
        Secret.objects.create(
            mailbox=mailbox,
            value=secret,
            expires_on=expires_on,
            notification_email=notification_email,
            is_current=True,
        )
    return mailbox
