"""A trigram index for the workspace's search by supplier name, on PostgreSQL only.

Django's `supplier_name__icontains` is `UPPER(supplier_name::text) LIKE UPPER('%term%')`, which
no b-tree can serve; a GIN index of trigrams over the same expression can. SQLite (the embedded
development set-up) keeps scanning, which is fine at its sizes.
"""

from django.db import migrations

INDEX = "doc_supplier_name_trgm_idx"


def create_index(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    schema_editor.execute("CREATE EXTENSION IF NOT EXISTS pg_trgm")
    schema_editor.execute(
        f"CREATE INDEX IF NOT EXISTS {INDEX} ON invoices_receiveddocument "
        "USING gin ((UPPER(supplier_name::text)) gin_trgm_ops)"
    )


def drop_index(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(f"DROP INDEX IF EXISTS {INDEX}")


class Migration(migrations.Migration):
    dependencies = [("invoices", "0002_cufe_search_index")]

    operations = [migrations.RunPython(create_index, drop_index)]
