"""The read side of the accountants' workspace: which documents a user sees, search, badges.

Scoping itself is decided by organizations.scoping; these are the queries built on it, shared
by the admin, the exports and anything else that reads documents.
"""

from __future__ import annotations

import re
from typing import Any

from django.db.models import Q, QuerySet
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from invoices.models import ReceivedDocument
from organizations.nit import search_nit
from organizations.roles import Action
from organizations.scoping import scope_queryset

_CUFE_TERM = re.compile(r"[0-9a-fA-F]{40,200}")


def visible_documents(user: Any) -> QuerySet[ReceivedDocument]:
    """The documents `user` may read, by the role in each organization.

    The scope carries the organization ids as constants: PostgreSQL then walks the
    (organization, -issue_date, -id) index in order and stops after one page, where a
    sub-select made it sort every document of the organization.
    """
    return scope_queryset(ReceivedDocument.objects.all(), user, action=Action.DOCUMENT_VIEW)


def visible_mailboxes(user: Any) -> QuerySet:
    """The mailboxes whose documents `user` may read (the list's mailbox filter).

    The model comes through the document's foreign key: invoices never imports reception.
    """
    mailbox_model = ReceivedDocument._meta.get_field("mailbox").related_model
    return (
        scope_queryset(mailbox_model.objects.all(), user, action=Action.DOCUMENT_VIEW)
        .select_related("organization")
        .only("username", "organization__name")
        .order_by("username")
    )


def search_documents(queryset: QuerySet, term: str) -> QuerySet:
    """Search that stays on an index for the common cases.

    A CUFE (hex) is an exact match on the indexed cufe; a NIT-looking term is an exact match on
    the indexed supplier_nit or on the document number; anything else also looks inside the
    supplier's name, which scans the organization's documents (see benchmarks/README.md).
    """
    term = " ".join(term.split())
    if not term:
        return queryset
    if _CUFE_TERM.fullmatch(term):
        return queryset.filter(cufe__in={term, term.lower()})
    match = Q(number=term) | Q(number=term.upper())
    nit = search_nit(term)
    if nit is not None:
        return queryset.filter(match | Q(supplier_nit=nit))
    return queryset.filter(match | Q(supplier_name__icontains=term))


def document_badges(document: ReceivedDocument) -> list[tuple[str, str, str]]:
    """(kind, explanation, label) of each alert worth a glance in the list."""
    findings = [w for w in document.warnings if isinstance(w, dict)]
    badges = []
    if getattr(document, "has_twin", False):
        badges.append(
            (
                "duplicate",
                _("Otro documento de este proveedor tiene el mismo número"),
                _("Duplicado"),
            )
        )
    rejected = document.dian_response_code not in ("", "02")
    if rejected or any(w.get("severity") == "error" for w in findings):
        badges.append(("error", _("La DIAN no lo validó o tiene errores"), _("Error")))
    if document.is_test_environment:
        badges.append(("test", _("Ambiente de habilitación, sin validez fiscal"), _("Pruebas")))
    warnings = [w for w in findings if w.get("severity") != "error"]
    if warnings:
        badges.append(
            (
                "warning",
                "; ".join(str(w.get("message", "")) for w in warnings),
                ngettext("%(n)d advertencia", "%(n)d advertencias", len(warnings))
                % {"n": len(warnings)},
            )
        )
    return badges
