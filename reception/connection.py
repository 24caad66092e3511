"""The bridge from a ReceptionMailbox row to the plain settings the transports are handed."""

from __future__ import annotations

from django.conf import settings

from reception.destinations import allowed_mail_hosts
from reception.models import ReceptionMailbox, ServerType
from reception.transports.base import AuthMethod, MailboxSettings, MailProtocol, Security
from reception.transports.tokens import EntraTokenProvider

#: The fetch keeps msal's cache (and its throttling of failures) for the process's life.
fetch_tokens = EntraTokenProvider()
#: An explicit check after a failure asks Entra again, so a fix made a minute ago shows.
check_tokens = EntraTokenProvider(fresh_after_failure=True)


def mailbox_settings(mailbox: ReceptionMailbox) -> MailboxSettings:
    modern = mailbox.server_type == ServerType.OUTLOOK_MODERN
    secret = mailbox.current_secret if modern else None
    return MailboxSettings(
        protocol=MailProtocol(mailbox.protocol),
        auth=AuthMethod.OAUTH2 if modern else AuthMethod.BASIC,
        host=mailbox.host,
        port=mailbox.port,
        security=Security(mailbox.security),
        username=mailbox.username,
        password="" if modern else mailbox.password,
        tenant_id=str(mailbox.tenant_id or ""),
        client_id=str(mailbox.client_id or ""),
        client_secret=(secret.value or "") if secret else "",
        object_id=str(mailbox.object_id or ""),
        authority_host=settings.MICROSOFT_AUTHORITY_HOST,
        ca_bundle=settings.RECEPTION_CA_BUNDLE,
        timeout=settings.RECEPTION_NETWORK_TIMEOUT,
        allowed_hosts=allowed_mail_hosts(),
    )
