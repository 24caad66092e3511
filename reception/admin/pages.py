"""Small pieces the mailbox pages share: the heading, paragraphs, the way back."""

from __future__ import annotations

from typing import Any

from django.urls import reverse
from django.utils.html import format_html_join

from reception.models import ReceptionMailbox

#: The diagnosis panel of the mailbox page: where a save or an operation leaves the user.
DIAGNOSIS_ANCHOR = "#mailbox-diagnosis"


def page_title(mailbox: ReceptionMailbox) -> str:
    """The guide's heading: "Correo Recepción de Documentos Electrónicos - Activo"."""
    return f"{ReceptionMailbox._meta.verbose_name} - {mailbox.get_status_display()}"


def paragraphs(texts: Any) -> str:
    """The guide's paragraphs as HTML, each text escaped."""
    return format_html_join("", "<p>{}</p>", ((text,) for text in texts))


def mailbox_change_url(mailbox: ReceptionMailbox) -> str:
    """Where every operation returns: the mailbox's page."""
    return reverse("admin:reception_receptionmailbox_change", args=[mailbox.pk])
