"""FolderState.renumbered: the fetch looks for renumbered messages' old rows only while needed.

A folder's state before this field may stand in the middle of a renumbering (a run stopped
part-way): every existing state starts marked, and its next complete run clears the mark.
"""

from django.db import migrations, models


def mark_existing_states(apps, schema_editor):
    apps.get_model("reception", "FolderState").objects.update(renumbered=True)


class Migration(migrations.Migration):
    dependencies = [("reception", "0005_ledger_mailbox_indexed_by_composites")]

    operations = [
        migrations.AddField(
            model_name="folderstate",
            name="renumbered",
            field=models.BooleanField(default=False),
        ),
        migrations.RunPython(mark_existing_states, migrations.RunPython.noop),
    ]
