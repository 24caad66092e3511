"""Pure parsing of DIAN electronic documents received by e-mail (no Django, no network).

Entry point: `parse_message(raw)`; the service then calls `check_buyer(facts, organization_nit)`.
"""

from invoices.dian.checks import BUYER_MISMATCH_REASON, check_buyer
from invoices.dian.parse import OK_REASON, parse_message
from invoices.dian.subject import parse_subject
from invoices.dian.types import (
    DEFAULT_LIMITS,
    Check,
    DianError,
    DianValidation,
    DocumentFacts,
    DocumentReference,
    DocumentType,
    Envelope,
    Limits,
    Outcome,
    ParsedMail,
    Party,
    Severity,
    SubjectFields,
    TaxLine,
)

__all__ = [
    "BUYER_MISMATCH_REASON",
    "DEFAULT_LIMITS",
    "OK_REASON",
    "Check",
    "DianError",
    "DianValidation",
    "DocumentFacts",
    "DocumentReference",
    "DocumentType",
    "Envelope",
    "Limits",
    "Outcome",
    "ParsedMail",
    "Party",
    "Severity",
    "SubjectFields",
    "TaxLine",
    "check_buyer",
    "parse_message",
    "parse_subject",
]
