"""Saving some fields of many rows at once, for the writers that decide rows by the thousand."""

from __future__ import annotations

from collections.abc import Sequence

from django.db import connection
from django.db.models import Model


def rows_update(model: type[Model], names: Sequence[str], objects: Sequence[Model]) -> None:
    """Save some fields of many rows: one UPDATE per row, sent as a single executemany
    (pipelined on PostgreSQL).

    bulk_update() builds a CASE per field and row, whose construction in Python cost more than
    the rest of a batch's decision.
    """
    if not objects:
        return
    meta = model._meta
    fields = [meta.get_field(name) for name in names]
    quote = connection.ops.quote_name
    assignments = ", ".join(f"{quote(field.column)} = %s" for field in fields)
    table, key = quote(meta.db_table), quote(meta.pk.column)
    # Only the model's own quoted names are interpolated; every value is a parameter.
    sql = f"UPDATE {table} SET {assignments} WHERE {key} = %s"  # noqa: S608
    rows = [
        [field.get_db_prep_save(getattr(obj, field.attname), connection) for field in fields]
        + [obj.pk]
        for obj in objects
    ]
    with connection.cursor() as cursor:
        cursor.executemany(sql, rows)
