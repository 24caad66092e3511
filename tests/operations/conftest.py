"""The reception fixtures (a live mailbox on the real Dovecot, a child process's environment)
serve the operations tests too: production processes, backups and restores."""

from tests.reception.conftest import child_env, configure_live_mailbox  # noqa: F401
