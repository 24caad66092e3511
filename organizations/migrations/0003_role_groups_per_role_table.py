"""Sync the role groups with the role table: Soporte no longer holds the permissions to read or
reprocess recorded mail, nor Back office the one to reprocess it (Contador's)."""

from django.db import migrations

from organizations.roles import role_groups_sync

#: organizations.roles.GROUP_PERMISSIONS from this migration on; a change there needs a new one.
GROUP_PERMISSIONS = {
    "Back office": [
        "invoices.export_receiveddocument",
        "invoices.view_receiveddocument",
        "organizations.view_organization",
        "reception.add_receptionmailbox",
        "reception.change_receptionmailbox",
        "reception.check_receptionmailbox",
        "reception.rotate_secret_receptionmailbox",
        "reception.view_fetchrun",
        "reception.view_incomingmessage",
        "reception.view_receptionmailbox",
        "reception.view_secret",
        "reception.view_statuschange",
    ],
    "Contador": [
        "invoices.export_receiveddocument",
        "invoices.review_receiveddocument",
        "invoices.view_receiveddocument",
        "organizations.view_organization",
        "reception.reprocess_incomingmessage",
        "reception.view_incomingmessage",
        "reception.view_receptionmailbox",
        "reception.view_statuschange",
    ],
    "Soporte": [
        "organizations.view_organization",
        "reception.check_receptionmailbox",
        "reception.confirm_backup_receptionmailbox",
        "reception.reactivate_receptionmailbox",
        "reception.view_fetchrun",
        "reception.view_receptionmailbox",
        "reception.view_statuschange",
    ],
}


def sync_groups(apps, schema_editor):
    role_groups_sync(apps, GROUP_PERMISSIONS)


class Migration(migrations.Migration):
    dependencies = [("organizations", "0002_role_groups")]

    operations = [migrations.RunPython(sync_groups, migrations.RunPython.noop)]
