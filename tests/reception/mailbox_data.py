"""Configurations of the reception mailbox as a person types them, for the admin and the CLI.

Values look like Entra ID's: the GUIDs of the app registration and a secret "Valor".
"""

from __future__ import annotations

import datetime
from typing import Any

from django.utils import timezone

TENANT = "8f3c2a71-5b9e-4d0a-9c4e-2b7f1a6d3e90"
CLIENT = "f6574713-3af8-43d6-89da-c3769e620b12"
OBJECT = "2b1e7c4d-9a8f-4e3b-b6d5-1c0f9e8a7b63"
OTHER_GUID = "19352f9c-379e-4102-8c01-ccdcaab57c29"
SECRET = "Qx8~kLp2.Vd7_Rm4-Ws9Tz1Ny6Hb3Gc5Fa0Je"
NEW_SECRET = "Zr3~Hn8.Pq1_Lk6-Tw2Ys7Vb9Mc4Xd0Gf5Ja"
PASSWORD = "Basic-Pa55word!"
USERNAME = "recepcion@andina.example.test"

#: Inline formsets of the mailbox change form, as the browser posts them.
INLINE_MANAGEMENT = {
    f"{prefix}-{name}": value
    for prefix in ("secrets", "status_changes")
    for name, value in (
        ("TOTAL_FORMS", "0"),
        ("INITIAL_FORMS", "0"),
        ("MIN_NUM_FORMS", "0"),
        ("MAX_NUM_FORMS", "1000"),
    )
}


def in_days(days: int) -> str:
    return (timezone.localdate() + datetime.timedelta(days=days)).isoformat()


def modern(**overrides: Any) -> dict[str, Any]:
    """An Outlook modern-auth configuration in the command's JSON words."""
    values = {
        "server_type": "outlook_modern",
        "protocol": "imap",
        "host": "outlook.office365.com",
        "port": 993,
        "security": "ssl",
        "username": USERNAME,
        "tenant_id": TENANT,
        "client_id": CLIENT,
        "secret": SECRET,
        "secret_expires_on": in_days(180),
        "notification_email": "ti@andina.example.test",
        "object_id": OBJECT,
    }
    values.update(overrides)
    return values


def basic(**overrides: Any) -> dict[str, Any]:
    """An Outlook basic-auth configuration in the command's JSON words."""
    values = {
        "server_type": "outlook_basic",
        "protocol": "imap",
        "host": "outlook.office365.com",
        "port": 993,
        "security": "ssl",
        "username": USERNAME,
        "password": PASSWORD,
    }
    values.update(overrides)
    return values


def typed_twice(values: dict[str, Any]) -> dict[str, Any]:
    """The form's data: each confirmation typed like its value unless given."""
    data = {key: "" if value is None else value for key, value in values.items()}
    for confirm, key in (
        ("tenant_id_confirm", "tenant_id"),
        ("client_id_confirm", "client_id"),
        ("secret_confirm", "secret"),
    ):
        data.setdefault(confirm, data.get(key, ""))
    return data


def admin_post(values: dict[str, Any], **extra: Any) -> dict[str, Any]:
    """What the admin's change form posts for `values` (plus e.g. organization=pk)."""
    return {**typed_twice(values), **INLINE_MANAGEMENT, **extra}


#: Every validation of the guide: (id, values, field with the error, words of the message).
INVALID_CASES = [
    (
        "tenant_confirm_differs",
        modern(tenant_id_confirm=OTHER_GUID),
        "tenant_id_confirm",
        "no coincide",
    ),
    (
        "client_confirm_differs",
        modern(client_id_confirm=OTHER_GUID),
        "client_id_confirm",
        "no coincide",
    ),
    ("secret_confirm_differs", modern(secret_confirm=NEW_SECRET), "secret_confirm", "no coincide"),
    ("tenant_not_guid", modern(tenant_id="contoso.onmicrosoft.com"), "tenant_id", "GUID"),
    ("client_not_guid", modern(client_id="f6574713-3af8-43d6-89da"), "client_id", "GUID"),
    ("object_not_guid", modern(object_id="Loggro"), "object_id", "GUID"),
    ("tenant_is_client", modern(client_id=TENANT), "client_id", "mismo valor dos veces"),
    ("object_is_client", modern(object_id=CLIENT), "object_id", "Aplicaciones empresariales"),
    ("object_is_tenant", modern(object_id=TENANT), "object_id", "Aplicaciones empresariales"),
    ("tenant_confirm_empty", modern(tenant_id_confirm=""), "tenant_id_confirm", "no coincide"),
    ("client_confirm_empty", modern(client_id_confirm=""), "client_id_confirm", "no coincide"),
    (
        "space_in_tenant",
        modern(tenant_id="8f3c2a71-5b9e-4d0a 9c4e-2b7f1a6d3e90"),
        "tenant_id",
        "Revisa que no se tengan espacios en los datos copiados",
    ),
    (
        "space_in_client",
        modern(client_id="f6574713-3af8-43d6-89da-\nc3769e620b12"),
        "client_id",
        "Revisa que no se tengan espacios en los datos copiados",
    ),
    (
        "space_in_secret",
        modern(secret="Qx8~kLp2.Vd7 Rm4-Ws9Tz1Ny6Hb3Gc5Fa0Je"),
        "secret",
        "Revisa que no se tengan espacios en los datos copiados",
    ),
    (
        "space_in_username",
        modern(username="recepcion @andina.example.test"),
        "username",
        "Revisa que no se tengan espacios en los datos copiados",
    ),
    ("secret_is_secret_id", modern(secret=OTHER_GUID), "secret", "Id. de secreto"),
    ("secret_missing", modern(secret=""), "secret", "obligatorio"),
    ("pop3_without_backup", modern(protocol="pop3", port=995), "backup_email", "respaldo"),
    (
        "pop3_backup_is_username",
        modern(protocol="pop3", port=995, backup_email=USERNAME.upper()),
        "backup_email",
        "distinto del Usuario",
    ),
    ("expiry_today", modern(secret_expires_on=in_days(0)), "secret_expires_on", "posterior a hoy"),
    ("expiry_past", modern(secret_expires_on=in_days(-3)), "secret_expires_on", "posterior a hoy"),
    (
        "expiry_without_notification",
        modern(notification_email=""),
        "notification_email",
        "Correo Notificación",
    ),
    ("basic_without_password", basic(password=""), "password", "obligatorio"),
    ("other_without_host", basic(server_type="other", host=""), "host", "servidor"),
    (
        "host_with_scheme",
        basic(host="imaps://outlook.office365.com"),
        "host",
        "nombre del servidor",
    ),
    ("username_not_email", basic(username="recepcion"), "username", "correo electrónico"),
]
