"""Create the Back office, Contador and Soporte groups with their permissions.

Permissions normally appear after `migrate` ends (post_migrate); they are created here first so
the groups can be granted them in the same run, on a fresh database as on an existing one.
"""

from django.contrib.auth.management import create_permissions
from django.db import migrations

GROUP_PERMISSIONS = {
    "Back office": [
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
    "Contador": [
        "organizations.view_organization",
        "reception.view_receptionmailbox",
        "reception.view_statuschange",
        "reception.view_incomingmessage",
        "reception.reprocess_incomingmessage",
        "invoices.view_receiveddocument",
        "invoices.review_receiveddocument",
        "invoices.export_receiveddocument",
    ],
    "Soporte": [
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


def create_groups(apps, schema_editor):
    for app_config in apps.get_app_configs():
        app_config.models_module = True
        create_permissions(app_config, apps=apps, verbosity=0)
        app_config.models_module = None
    Group = apps.get_model("auth", "Group")
    Permission = apps.get_model("auth", "Permission")
    for name, codes in GROUP_PERMISSIONS.items():
        group, _ = Group.objects.get_or_create(name=name)
        permissions = []
        for code in codes:
            app_label, codename = code.split(".")
            permissions.append(
                Permission.objects.get(content_type__app_label=app_label, codename=codename)
            )
        group.permissions.set(permissions)


class Migration(migrations.Migration):
    dependencies = [
        ("auth", "0012_alter_user_first_name_max_length"),
        ("contenttypes", "0002_remove_content_type_name"),
        ("organizations", "0001_initial"),
        ("reception", "0001_initial"),
        ("invoices", "0001_initial"),
    ]

    operations = [migrations.RunPython(create_groups, migrations.RunPython.noop)]
