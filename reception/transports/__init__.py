"""The network slice: Entra ID tokens, IMAP and POP3 sessions, on plain settings only."""

from reception.transports.base import (
    DEFAULT_AUTHORITY_HOST,
    AccessToken,
    AuthMethod,
    ConnectionInfo,
    ErrorKind,
    MailboxSettings,
    MailProtocol,
    Security,
    Stage,
    TokenClaims,
    TokenProvider,
    TransportError,
)
from reception.transports.imap import (
    FOLDER_ERRORS,
    FOLDER_NOT_ELECTRONIC,
    FOLDER_PROCESSED,
    FOLDER_ROOT,
    RECEPTION_FOLDERS,
    FetchedMessage,
    FolderState,
    ImapSession,
)
from reception.transports.mailbox import MailboxSession, open_mailbox
from reception.transports.pop3 import MaildropState, Pop3Session, PopMessage
from reception.transports.tokens import EntraTokenProvider

__all__ = [
    "DEFAULT_AUTHORITY_HOST",
    "FOLDER_ERRORS",
    "FOLDER_NOT_ELECTRONIC",
    "FOLDER_PROCESSED",
    "FOLDER_ROOT",
    "RECEPTION_FOLDERS",
    "AccessToken",
    "AuthMethod",
    "ConnectionInfo",
    "EntraTokenProvider",
    "ErrorKind",
    "FetchedMessage",
    "FolderState",
    "ImapSession",
    "MailProtocol",
    "MailboxSession",
    "MailboxSettings",
    "MaildropState",
    "Pop3Session",
    "PopMessage",
    "Security",
    "Stage",
    "TokenClaims",
    "TokenProvider",
    "TransportError",
    "open_mailbox",
]
