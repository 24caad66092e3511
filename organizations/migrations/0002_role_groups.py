"""Create the Back office, Contador and Soporte groups with their permissions."""

from django.db import migrations

from organizations.roles import role_groups_sync


def create_groups(apps, schema_editor):
    role_groups_sync(apps)


class Migration(migrations.Migration):
    dependencies = [
        ("auth", "0012_alter_user_first_name_max_length"),
        ("contenttypes", "0002_remove_content_type_name"),
        ("organizations", "0001_initial"),
        ("reception", "0001_initial"),
        ("invoices", "0001_initial"),
    ]

    operations = [migrations.RunPython(create_groups, migrations.RunPython.noop)]
