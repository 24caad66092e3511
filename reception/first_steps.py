"""The admin index's "Primeros pasos": what a user with nothing configured does first.

Create the organization → configure its reception mailbox → check it ("Probar conexión").
Each step is shown with a link to whoever may take it, and otherwise says who takes it (the
organization's Back office, a superuser); the panel goes away once a mailbox is Activo.
"""

from __future__ import annotations

from dataclasses import dataclass

from django.contrib.auth.models import AbstractBaseUser
from django.urls import reverse
from django.utils.translation import gettext as _

from organizations.models import Organization
from organizations.roles import Action
from organizations.scoping import allows_anywhere, scope_queryset
from reception.admin.pages import DIAGNOSIS_ANCHOR, mailbox_change_url
from reception.models import MailboxStatus, ReceptionMailbox


@dataclass(frozen=True)
class FirstStep:
    title: str
    done: bool
    #: Where to take the step, when this user may; else `who` says who takes it.
    url: str = ""
    who: str = ""


def first_steps(user: AbstractBaseUser) -> list[FirstStep] | None:
    """The three steps for `user`, or None once a mailbox they see is Activo (nothing to show)."""
    mailboxes = scope_queryset(ReceptionMailbox.objects.all(), user, action=Action.MAILBOX_VIEW)
    if mailboxes.filter(status=MailboxStatus.ACTIVE).exists():
        return None
    organizations = scope_queryset(
        Organization.objects.all(), user, action=Action.ORGANIZATION_VIEW, field="pk"
    )
    has_organization = organizations.exists()
    has_mailbox = mailboxes.exists()
    may_manage = allows_anywhere(user, Action.ORGANIZATION_MANAGE)
    may_configure = allows_anywhere(user, Action.MAILBOX_CONFIGURE)
    may_check = allows_anywhere(user, Action.MAILBOX_CHECK)
    mailbox = mailboxes.order_by("pk").first()
    return [
        FirstStep(
            _("Crea la organización (su NIT y razón social)."),
            done=has_organization,
            url=reverse("admin:organizations_organization_add") if may_manage else "",
            who="" if may_manage else _("Lo hace un superusuario, que también te da tu rol."),
        ),
        FirstStep(
            _("Configura su correo de recepción, como indica la guía."),
            done=has_mailbox,
            url=reverse("admin:reception_receptionmailbox_add")
            if may_configure and has_organization
            else "",
            who="" if may_configure else _("Lo hace el Back office de la organización."),
        ),
        FirstStep(
            _("Prueba la conexión: el diagnóstico dice paso a paso qué corregir."),
            done=False,
            url=mailbox_change_url(mailbox) + DIAGNOSIS_ANCHOR
            if mailbox is not None and may_check
            else "",
            who="" if may_check else _("Lo hace el Back office o Soporte."),
        ),
    ]
