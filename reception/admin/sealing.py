"""Sealing of the server-type switch form: the intermediate page carries the submitted data
encrypted, bound to the mailbox and the user and valid for a while, so it never shows a
password or secret and a "Sí" cannot be replayed elsewhere."""

from __future__ import annotations

import base64
import json

from cryptography.fernet import Fernet, InvalidToken
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from django.conf import settings
from django.http import HttpRequest, QueryDict

from reception.models import ReceptionMailbox

#: POST key of the intermediate page's "Sí": the sealed form data to save.
SWITCH_PAYLOAD = "_switch_payload"
#: How long the "Sí" of the intermediate page stays valid.
SWITCH_CONFIRMATION_SECONDS = 30 * 60


def _fernet() -> Fernet:
    """A key of its own for the switch page, derived from the secrets' encryption key."""
    key = HKDF(
        algorithm=hashes.SHA256(), length=32, salt=None, info=b"reception.switch-confirmation"
    ).derive(settings.RECEPTION_ENCRYPTION_KEY.encode())
    return Fernet(base64.urlsafe_b64encode(key))


def seal(request: HttpRequest, mailbox: ReceptionMailbox, post: QueryDict) -> str:
    """The submitted data, encrypted: the intermediate page must not show a secret or password."""
    fields = [
        [name, value]
        for name, values in post.lists()
        if name not in ("csrfmiddlewaretoken", SWITCH_PAYLOAD)
        for value in values
    ]
    payload = {"mailbox": mailbox.pk, "user": request.user.pk, "fields": fields}
    return _fernet().encrypt(json.dumps(payload).encode()).decode()


def unseal(request: HttpRequest, mailbox: ReceptionMailbox, token: str) -> QueryDict | None:
    """The data sealed for this mailbox and this user, unless expired or tampered with."""
    try:
        payload = json.loads(_fernet().decrypt(token.encode(), ttl=SWITCH_CONFIRMATION_SECONDS))
    except (InvalidToken, ValueError):
        return None
    if payload.get("mailbox") != mailbox.pk or payload.get("user") != request.user.pk:
        return None
    data = QueryDict(mutable=True)
    for name, value in payload["fields"]:
        data.appendlist(name, value)
    return data
