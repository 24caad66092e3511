"""Forget the PowerShell lines of diagnoses stored before every value was single-quoted.

Those lines put the mailbox user inside double quotes, where PowerShell runs `$(...)`; a user
saved before the form refused such characters would keep its line on the mailbox page. The
causes stay; the next check writes the lines again, quoted.
"""

from django.db import migrations


def forget_unquoted_powershell(apps, schema_editor):
    ReceptionMailbox = apps.get_model("reception", "ReceptionMailbox")
    stored = ReceptionMailbox.objects.filter(last_check__isnull=False)
    for mailbox in stored.only("pk", "last_check"):
        check = mailbox.last_check
        if not isinstance(check, dict):
            continue
        for step in check.get("steps") or ():
            for cause in step.get("causes") or ():
                cause["commands"] = []
        ReceptionMailbox.objects.filter(pk=mailbox.pk).update(last_check=check)


class Migration(migrations.Migration):
    dependencies = [("reception", "0003_fetch_lock_holder")]

    operations = [migrations.RunPython(forget_unquoted_powershell, migrations.RunPython.noop)]
