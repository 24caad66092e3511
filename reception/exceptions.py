"""Domain errors of the reception app; library errors are wrapped with their cause kept."""


class ReceptionError(Exception):
    """Base of every error this app raises on purpose. Its text never contains a secret."""


class ServerTypeChangeNotConfirmed(ReceptionError):
    """Changing the server type wipes the earlier parameters: it needs an explicit yes."""


class MailboxBusy(ReceptionError):
    """Another fetch of the same mailbox holds its lock."""
