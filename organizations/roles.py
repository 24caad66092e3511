"""The three roles, as Django groups (created by a data migration) and membership roles.

Back office and Contador are granted per organization through a Membership; Soporte is global:
a member of the Soporte group sees every organization but never a secret value.
"""

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


ROLE_GROUPS = {Role.BACK_OFFICE: BACK_OFFICE_GROUP, Role.CONTADOR: CONTADOR_GROUP}

#: What each group may do; Soporte never gets a permission that shows or changes a secret.
GROUP_PERMISSIONS = {
    BACK_OFFICE_GROUP: [
        "organizations.view_organization",
        "reception.add_receptionmailbox",
        "reception.change_receptionmailbox",
        "reception.view_receptionmailbox",
        "reception.check_receptionmailbox",
        "reception.rotate_secret_receptionmailbox",
        "reception.view_secret",
        "reception.view_statuschange",
        "reception.view_fetchrun",
        "reception.view_incomingmessage",
        "reception.reprocess_incomingmessage",
        "invoices.view_receiveddocument",
        "invoices.export_receiveddocument",
    ],
    CONTADOR_GROUP: [
        "organizations.view_organization",
        "reception.view_receptionmailbox",
        "reception.view_statuschange",
        "reception.view_incomingmessage",
        "reception.reprocess_incomingmessage",
        "invoices.view_receiveddocument",
        "invoices.review_receiveddocument",
        "invoices.export_receiveddocument",
    ],
    SOPORTE_GROUP: [
        "organizations.view_organization",
        "reception.view_receptionmailbox",
        "reception.check_receptionmailbox",
        "reception.reactivate_receptionmailbox",
        "reception.confirm_backup_receptionmailbox",
        "reception.view_statuschange",
        "reception.view_fetchrun",
        "reception.view_incomingmessage",
        "reception.reprocess_incomingmessage",
    ],
}


def role_groups_sync(apps: Any = global_apps) -> None:
    """Create the role groups with exactly their permissions (idempotent).

    Permissions normally appear after `migrate` ends (post_migrate); they are created here
    first, so a data migration can grant them on a fresh database as on an existing one.
    """
    for app_config in apps.get_app_configs():
        had_models = getattr(app_config, "models_module", None)
        app_config.models_module = had_models or True
        create_permissions(app_config, apps=apps, verbosity=0)
        app_config.models_module = had_models
    group_model = apps.get_model("auth", "Group")
    permission_model = apps.get_model("auth", "Permission")
    for name, codes in GROUP_PERMISSIONS.items():
        group, _created = group_model.objects.get_or_create(name=name)
        permissions = []
        for code in codes:
            app_label, codename = code.split(".")
            permissions.append(
                permission_model.objects.get(content_type__app_label=app_label, codename=codename)
            )
        group.permissions.set(permissions)
