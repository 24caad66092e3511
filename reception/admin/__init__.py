"""The reception app in the admin, one module per subject.

- mailbox: the mailbox's configuration (thin over the form and the services), the switch page;
- operations: the mailbox's own pages (check, reactivate, secret rotation, backup address);
- sealing: the switch form sealed for its intermediate page;
- diagnosis_presenter: the last check as the page shows it;
- inlines: the mailbox's history rows;
- ledger: the fetch runs and the triage of recorded mail.
Importing the package registers the ModelAdmins.
"""

from reception.admin import ledger, mailbox

__all__ = ["ledger", "mailbox"]
