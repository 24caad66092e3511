"""The invoices app's domain errors."""


class InvoicesError(Exception):
    """Base of every error the invoices app raises on purpose."""


class ReviewRefused(InvoicesError):
    """A review step the RADIAN rules or the document's current state do not allow.

    The message is Spanish and meant for the accountant who asked for the step.
    """
