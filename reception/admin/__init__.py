"""The reception app in the admin, one module per subject.

- mailbox: the mailbox's configuration (thin over the form and the services), the switch page;
- operations: the mailbox's own pages (check, reactivate, secret rotation, backup address);
- sealing: the switch form sealed for its intermediate page;
- diagnosis_presenter: the last check as the page shows it;
- inlines: the mailbox's history rows;
- ledger: the fetch runs and the triage of recorded mail;
- schedules: django-q2's scheduled tasks, fitted to the screen.
Importing the package registers the ModelAdmins.
"""

from reception.admin import ledger, mailbox, schedules

__all__ = ["ledger", "mailbox", "schedules"]
