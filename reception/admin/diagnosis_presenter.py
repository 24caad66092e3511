"""The last connection check as the mailbox page shows it: the steps and the token's claims."""

from __future__ import annotations

import datetime
from typing import Any

from django.utils import timezone
from django.utils.formats import date_format
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from reception.models import ReceptionMailbox

#: Labels of the token claims shown with the diagnosis (the JWT's own names in parentheses).
CLAIM_LABELS = (
    ("aud", _("Audiencia (aud)")),
    ("tid", _("Tenant (tid)")),
    ("appid", _("Aplicación (appid)")),
    ("oid", _("Id. de objeto (oid)")),
    ("roles", _("Roles")),
    ("exp", _("Vence (exp)")),
)


def diagnosis_context(mailbox: ReceptionMailbox) -> dict[str, Any]:
    """The last check as the diagnosis template shows it (the stored JSON holds no secret)."""
    check = mailbox.last_check or None
    claims = (check or {}).get("token_claims") or None
    rows = []
    for key, label in CLAIM_LABELS if claims else ():
        value = claims.get(key)
        if key == "roles":
            value = ", ".join(value or ()) or gettext("ninguno")
        elif key == "exp" and value:
            value = date_format(
                timezone.localtime(datetime.datetime.fromtimestamp(value, tz=datetime.UTC)),
                "DATETIME_FORMAT",
            )
        rows.append((label, value or "—"))
    return {
        "diagnosis": check,
        "diagnosis_checked_at": mailbox.last_checked_at,
        "diagnosis_claims": rows,
    }
