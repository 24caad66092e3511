"""The DIAN e-mail subject: `NIT;Nombre;Número;Código tipo;Nombre comercial[;Línea]`."""

from __future__ import annotations

import re

from invoices.dian.types import SubjectFields
from organizations.nit import normalize_nit

# Forwarding and reply prefixes that mail clients put in front of the supplier's subject.
_PREFIX = re.compile(r"^\s*((re|rv|fw|fwd|tr|enc|reenv)\s*:\s*)+", re.IGNORECASE)


def parse_subject(subject: str | None) -> SubjectFields | None:
    """Split a DIAN subject into its fields, or None when it does not follow the annex."""
    if not subject:
        return None
    parts = [part.strip() for part in _PREFIX.sub("", subject).split(";")]
    if len(parts) < 4:
        return None
    nit = normalize_nit(parts[0])
    code = parts[3]
    if not nit or not code.isdigit() or not parts[2]:
        return None
    return SubjectFields(
        supplier_nit=nit,
        supplier_name=parts[1],
        document_number=parts[2],
        document_type_code=code.zfill(2),
        commercial_name=(parts[4] or None) if len(parts) > 4 else None,
        business_line=(parts[5] or None) if len(parts) > 5 else None,
    )
