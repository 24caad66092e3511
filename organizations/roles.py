"""The three roles, what each may do (README's role table), and their Django groups.

Back office and Contador are roles in an organization, given by a Membership; Soporte is a role
in every organization, given by the Soporte group. `ROLE_TABLE` says which roles allow each
action; `organizations.scoping.allows` reads it for every admin page, action, download and
export. The groups' Django permissions are derived from the same table, so that what the
auth admin shows cannot drift from what is decided; a data migration syncs them.
"""

from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from django.apps import apps as global_apps
from django.contrib.auth.management import create_permissions
from django.db import models
from django.utils.translation import gettext_lazy as _

BACK_OFFICE_GROUP = "Back office"
CONTADOR_GROUP = "Contador"
SOPORTE_GROUP = "Soporte"


class Role(models.TextChoices):
    BACK_OFFICE = "back_office", _("Back office")
    CONTADOR = "contador", _("Contador")


#: Soporte's role: held in every organization by the members of the Soporte group.
SOPORTE = "soporte"

ROLE_GROUPS = {Role.BACK_OFFICE: BACK_OFFICE_GROUP, Role.CONTADOR: CONTADOR_GROUP}


class Action(StrEnum):
    """Everything the admin lets a person do to an organization's objects."""

    ORGANIZATION_VIEW = "organization.view"
    #: Create organizations, rename them, give memberships, delete.
    ORGANIZATION_MANAGE = "organization.manage"
    #: The mailbox's status, its last diagnosis and its status history.
    MAILBOX_VIEW = "mailbox.view"
    #: Add or change the mailbox (server type included), resend the backup link.
    MAILBOX_CONFIGURE = "mailbox.configure"
    MAILBOX_DELETE = "mailbox.delete"
    #: "Probar conexión".
    MAILBOX_CHECK = "mailbox.check"
    #: "Reactivar".
    MAILBOX_REACTIVATE = "mailbox.reactivate"
    #: Confirm a POP3 backup address by hand.
    MAILBOX_CONFIRM_BACKUP = "mailbox.confirm_backup"
    #: Whether a secret is configured, its dates and its history; never its value.
    SECRET_VIEW = "secret.view"  # noqa: S105 (a name, not a secret)
    #: "Actualizar secreto".
    SECRET_ROTATE = "secret.rotate"  # noqa: S105 (a name, not a secret)
    #: The fetch runs: counts, errors by reason, connection errors.
    FETCH_RUN_VIEW = "fetch_run.view"
    #: The recorded mail: triage list, senders, subjects, the original .eml.
    MESSAGE_VIEW = "message.view"
    #: "Reprocesar".
    MESSAGE_REPROCESS = "message.reprocess"
    #: The documents: list, page, PDF, XML, the e-mail that brought them.
    DOCUMENT_VIEW = "document.view"
    #: RADIAN events 030/032/033/031.
    DOCUMENT_REVIEW = "document.review"
    #: CSV and XLSX.
    DOCUMENT_EXPORT = "document.export"
    #: The RADIAN events sent to DIAN: list, state, DIAN's rules, the signed XML.
    RADIAN_EVENT_VIEW = "radian_event.view"
    #: The DIAN credentials' page (certificate dates, software, numbering; never a secret).
    DIAN_VIEW = "dian.view"
    #: Add or change the DIAN credentials (certificate, PIN, environment, numbering).
    DIAN_CONFIGURE = "dian.configure"


@dataclass(frozen=True)
class Rule:
    """The roles that allow an action, and the Django permissions their groups carry for it."""

    roles: frozenset[str]
    permissions: tuple[str, ...] = ()


_BO, _CO, _SO = Role.BACK_OFFICE.value, Role.CONTADOR.value, SOPORTE

#: README's role table. Superusers may do everything; an action no role allows is theirs only.
ROLE_TABLE: dict[Action, Rule] = {
    Action.ORGANIZATION_VIEW: Rule(
        frozenset({_BO, _CO, _SO}), ("organizations.view_organization",)
    ),
    Action.ORGANIZATION_MANAGE: Rule(frozenset()),
    Action.MAILBOX_VIEW: Rule(
        frozenset({_BO, _CO, _SO}),
        ("reception.view_receptionmailbox", "reception.view_statuschange"),
    ),
    Action.MAILBOX_CONFIGURE: Rule(
        frozenset({_BO}),
        ("reception.add_receptionmailbox", "reception.change_receptionmailbox"),
    ),
    Action.MAILBOX_DELETE: Rule(frozenset()),
    Action.MAILBOX_CHECK: Rule(frozenset({_BO, _SO}), ("reception.check_receptionmailbox",)),
    Action.MAILBOX_REACTIVATE: Rule(frozenset({_SO}), ("reception.reactivate_receptionmailbox",)),
    Action.MAILBOX_CONFIRM_BACKUP: Rule(
        frozenset({_SO}), ("reception.confirm_backup_receptionmailbox",)
    ),
    Action.SECRET_VIEW: Rule(frozenset({_BO}), ("reception.view_secret",)),
    Action.SECRET_ROTATE: Rule(frozenset({_BO}), ("reception.rotate_secret_receptionmailbox",)),
    Action.FETCH_RUN_VIEW: Rule(frozenset({_BO, _SO}), ("reception.view_fetchrun",)),
    Action.MESSAGE_VIEW: Rule(frozenset({_BO, _CO}), ("reception.view_incomingmessage",)),
    Action.MESSAGE_REPROCESS: Rule(frozenset({_CO}), ("reception.reprocess_incomingmessage",)),
    Action.DOCUMENT_VIEW: Rule(frozenset({_BO, _CO}), ("invoices.view_receiveddocument",)),
    Action.DOCUMENT_REVIEW: Rule(frozenset({_CO}), ("invoices.review_receiveddocument",)),
    Action.DOCUMENT_EXPORT: Rule(frozenset({_BO, _CO}), ("invoices.export_receiveddocument",)),
    # No Django permissions mirror these yet: 0002_role_groups syncs the live table on a fresh
    # database, before the RADIAN models exist; the decision is the table's either way.
    Action.RADIAN_EVENT_VIEW: Rule(frozenset({_BO, _CO})),
    Action.DIAN_VIEW: Rule(frozenset({_BO})),
    Action.DIAN_CONFIGURE: Rule(frozenset({_BO})),
}

_GROUP_ROLES = {BACK_OFFICE_GROUP: _BO, CONTADOR_GROUP: _CO, SOPORTE_GROUP: _SO}

#: What each group holds in Django's permissions: the table's, never more.
GROUP_PERMISSIONS = {
    group: sorted(
        {code for rule in ROLE_TABLE.values() if role in rule.roles for code in rule.permissions}
    )
    for group, role in _GROUP_ROLES.items()
}


def role_groups_sync(
    apps: Any = global_apps, permissions: dict[str, list[str]] | None = None
) -> None:
    """Create the role groups with exactly `permissions` (GROUP_PERMISSIONS by default).

    Permissions normally appear after `migrate` ends (post_migrate); they are created here
    first, so a data migration can grant them on a fresh database as on an existing one. Each
    data migration passes the permissions of its time, so that it keeps meaning what it did.
    """
    for app_config in apps.get_app_configs():
        had_models = getattr(app_config, "models_module", None)
        app_config.models_module = had_models or True
        create_permissions(app_config, apps=apps, verbosity=0)
        app_config.models_module = had_models
    group_model = apps.get_model("auth", "Group")
    permission_model = apps.get_model("auth", "Permission")
    for name, codes in (GROUP_PERMISSIONS if permissions is None else permissions).items():
        group, _created = group_model.objects.get_or_create(name=name)
        permissions = []
        for code in codes:
            app_label, codename = code.split(".")
            permissions.append(
                permission_model.objects.get(content_type__app_label=app_label, codename=codename)
            )
        group.permissions.set(permissions)
