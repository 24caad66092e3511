"""Writing rows by the batch (new rows as values, some fields of many rows), for the writers
that decide rows by the thousand."""

from __future__ import annotations

import datetime
import json
from collections.abc import Callable, Sequence
from decimal import Decimal
from operator import attrgetter
from typing import Any
from uuid import UUID

from django.db import connection, connections
from django.db.backends.utils import CursorWrapper
from django.db.models import (
    BigIntegerField,
    BooleanField,
    CharField,
    Field,
    ForeignKey,
    IntegerField,
    Model,
    PositiveIntegerField,
    PositiveSmallIntegerField,
    SmallIntegerField,
    TextField,
)

#: Exactly these field classes send a row's Python value unchanged (subclasses may not).
_PLAIN = {
    BigIntegerField,
    BooleanField,
    CharField,
    ForeignKey,
    IntegerField,
    PositiveIntegerField,
    PositiveSmallIntegerField,
    SmallIntegerField,
    TextField,
}


def _preparers(fields: Sequence[Field], *, add: bool) -> list[Callable[[Model], Any]]:
    """One function per field from an object to its database value, chosen once per statement.

    The per-value path through get_db_prep_save() and the connection proxy cost as much as
    bulk_create's compilation; plain columns skip it, the others keep their field's preparation.
    """
    real = connections[connection.alias]  # the connection itself, not the per-call proxy
    preparers = []
    for field in fields:
        plain_read = type(field).pre_save is Field.pre_save or not add
        if type(field) in _PLAIN and plain_read:
            preparers.append(attrgetter(field.attname))
        elif plain_read:
            get, prep = attrgetter(field.attname), field.get_db_prep_save
            preparers.append(lambda obj, get=get, prep=prep: prep(get(obj), real))
        else:
            pre, prep = field.pre_save, field.get_db_prep_save
            preparers.append(lambda obj, pre=pre, prep=prep: prep(pre(obj, True), real))
    return preparers


def _json_scalar(value: Any) -> Any:
    """A prepared value JSON has no type for, as the text its column's type reads back."""
    if isinstance(value, datetime.date | datetime.time):  # datetimes are dates
        return value.isoformat()
    if isinstance(value, Decimal | UUID):
        return str(value)  # exact: never through a float
    from psycopg.types.json import Json, Jsonb  # only PostgreSQL's batches get here

    if isinstance(value, Json | Jsonb):  # a JSONField's value, as Django's preparation wraps it
        return value.obj
    raise TypeError(f"{type(value).__name__} cannot be sent in a batch update")


def _batch_cursor() -> CursorWrapper:
    """A cursor for the statements below; on PostgreSQL, one that binds values on the server.

    Django's psycopg cursors bind on the client: each row's values are quoted into new SQL text
    in Python, which the server parses and plans again. Bound on the server, the statement is
    prepared once per connection and the values go as they are. That is safe for these fixed
    statements of plain columns; the ORM's own SQL stays on Django's cursors (ticket #20516).
    """
    if connection.vendor != "postgresql":
        return connection.cursor()
    import psycopg  # the PostgreSQL driver; SQLite setups never get here

    connection.ensure_connection()
    connection.validate_thread_sharing()  # as Django's own cursor() does
    raw = psycopg.Cursor(connection.connection)
    if connection.queries_logged:
        return connection.make_debug_cursor(raw)
    return connection.make_cursor(raw)


def rows_update(model: type[Model], names: Sequence[str], objects: Sequence[Model]) -> None:
    """Save some fields of many rows: on PostgreSQL one UPDATE joined to the rows sent as one
    JSON array, elsewhere one UPDATE per row sent as a single executemany.

    bulk_update() builds a CASE per field and row, whose construction in Python cost more than
    the rest of a batch's decision.
    """
    if not objects:
        return
    meta = model._meta
    fields = [meta.get_field(name) for name in names]
    quote = connection.ops.quote_name
    table, key = quote(meta.db_table), quote(meta.pk.column)
    preparers = _preparers(fields, add=False)
    # Only the model's own quoted names are interpolated; values are parameters.
    if connection.vendor == "postgresql":
        # PostgreSQL reads the JSON array as records of the table's own row type, each column
        # converted by its type's input. One array per field (UPDATE ... FROM unnest) cost the
        # client ~60 µs a row to prepare and dump, against ~20 µs as JSON.
        assignments = ", ".join(
            f"{quote(field.column)} = v.{quote(field.column)}" for field in fields
        )
        sql = (
            f"UPDATE {table} AS t SET {assignments} "  # noqa: S608
            f"FROM json_populate_recordset(NULL::{table}, %s::json) AS v WHERE t.{key} = v.{key}"
        )
        columns = [meta.pk.column, *(field.column for field in fields)]
        rows = [
            dict(zip(columns, [obj.pk, *(prepare(obj) for prepare in preparers)], strict=True))
            for obj in objects
        ]
        with _batch_cursor() as cursor:
            cursor.execute(sql, [json.dumps(rows, default=_json_scalar, separators=(",", ":"))])
        return
    assignments = ", ".join(f"{quote(field.column)} = %s" for field in fields)
    sql = f"UPDATE {table} SET {assignments} WHERE {key} = %s"  # noqa: S608
    rows = [[prepare(obj) for prepare in preparers] + [obj.pk] for obj in objects]
    with _batch_cursor() as cursor:
        cursor.executemany(sql, rows)


def values_insert(
    model: type[Model],
    names: Sequence[str],
    rows: Sequence[Sequence[Any]],
    *,
    key: str | None = None,
    scope: dict | None = None,
) -> list[int] | None:
    """Insert many new rows given as values, without a model object per row.

    Each row holds the values of the fields `names` (attribute names: `organization_id`), in
    that order; every other field takes its default, worked out once for the statement as a
    new object would have it (an `auto_now_add` stamp is then the same for the whole call).
    Building ~40 field values into a model object and reading them out again cost a fetch more
    than its SQL. With `key`, returns the new primary keys in the rows' order.
    """
    if not rows:
        return [] if key is not None else None
    _values_write(model, names, rows)
    if key is None:
        return None
    return _keys_in_order(model, names, rows, key, scope)


def values_insert_loaded(
    model: type[Model],
    names: Sequence[str],
    rows: Sequence[Sequence[Any]],
    *,
    key: str,
    scope: dict | None = None,
) -> list[Model]:
    """values_insert() of whole rows (`names`: every field but the primary key), answering with
    them as model objects for the caller to go on with, built as the ORM builds the rows it
    loads (Model.from_db): a third of the cost of constructing each object field by field.

    Whole rows, so that no object shares a default (a list, a file) with another.
    """
    fields = [field for field in model._meta.concrete_fields if not field.primary_key]
    if {model._meta.get_field(name).attname for name in names} != {f.attname for f in fields}:
        raise ValueError(f"{model.__name__}: a loaded row needs a value for every field")
    if not rows:
        return []
    _values_write(model, names, rows)
    keys = _keys_in_order(model, names, rows, key, scope)
    # from_db() takes a whole row's values in the model's field order.
    position = {model._meta.get_field(name).attname: index for index, name in enumerate(names)}
    order = [position.get(field.attname) for field in model._meta.concrete_fields]
    return [
        model.from_db(
            connection.alias, None, [pk if index is None else row[index] for index in order]
        )
        for pk, row in zip(keys, rows, strict=True)
    ]


def _values_write(model: type[Model], names: Sequence[str], rows: Sequence[Sequence[Any]]) -> None:
    """Prepare the given values, add the other fields' defaults and write the rows."""
    meta = model._meta
    given = [meta.get_field(name) for name in names]
    if len({field.attname for field in given}) != len(given) or any(
        field.primary_key or not field.concrete for field in given
    ):
        raise ValueError(f"{model.__name__}: each value must be a distinct non-key column")
    rest = [field for field in meta.concrete_fields if not field.primary_key]
    rest = [field for field in rest if field not in given]
    template = model()  # the defaults, prepared once
    defaults = [prepare(template) for prepare in _preparers(rest, add=True)]
    real = connections[connection.alias]
    preparations = [None if type(field) in _PLAIN else field.get_db_prep_save for field in given]
    if all(prepare is None for prepare in preparations):
        prepared = [[*row, *defaults] for row in rows]
    else:
        prepared = [
            [
                *(
                    value if prepare is None else prepare(value, real)
                    for value, prepare in zip(row, preparations, strict=True)
                ),
                *defaults,
            ]
            for row in rows
        ]
    _rows_write(model, [*given, *rest], prepared)


def _keys_in_order(
    model: type[Model],
    names: Sequence[str],
    rows: Sequence[Sequence[Any]],
    key: str,
    scope: dict | None,
) -> list[int]:
    attname = model._meta.get_field(key).attname
    position = [model._meta.get_field(name).attname for name in names].index(attname)
    values = [row[position] for row in rows]
    found = _keys_read(model, key, values, scope or {})
    return [found[value] for value in values]


def _rows_write(model: type[Model], fields: Sequence[Field], rows: list[list[Any]]) -> None:
    """Send rows of prepared values for `fields`: COPY on PostgreSQL, executemany elsewhere."""
    quote = connection.ops.quote_name
    table = quote(model._meta.db_table)
    columns = ", ".join(quote(field.column) for field in fields)
    # Only the model's own quoted names are interpolated; every value is a parameter or data.
    with _batch_cursor() as cursor:
        if connection.vendor == "postgresql":
            # COPY streams the rows in one command: no statement per row to execute, on either
            # side (an executemany costs the client ~0.1 ms a row in psycopg's pipeline).
            with (
                connection.wrap_database_errors,
                cursor.copy(f"COPY {table} ({columns}) FROM STDIN") as copy,
            ):
                for row in rows:
                    copy.write_row(row)
        else:
            marks = ", ".join(["%s"] * len(fields))
            cursor.executemany(f"INSERT INTO {table} ({columns}) VALUES ({marks})", rows)  # noqa: S608


def _keys_read(model: type[Model], key: str, values: list, scope: dict) -> dict:
    """{key value: primary key} of the rows just inserted, read with one plain SELECT per 500
    (the queryset's `__in` lookup prepared each value through the field, as bulk_create did)."""
    meta = model._meta
    quote = connection.ops.quote_name
    key_field = meta.get_field(key)
    if type(key_field) not in _PLAIN:
        raise TypeError(f"{model.__name__}.{key}: a plain column is needed to read keys back")
    conditions, parameters = [], []
    for name, value in scope.items():
        field = meta.get_field(name)
        conditions.append(f"{quote(field.column)} = %s")
        parameters.append(value.pk if isinstance(value, Model) else value)
    found: dict = {}
    with _batch_cursor() as cursor:
        for start in range(0, len(values), 500):
            chunk = values[start : start + 500]
            marks = ", ".join(["%s"] * len(chunk))
            where = " AND ".join([*conditions, f"{quote(key_field.column)} IN ({marks})"])
            # Only the model's own quoted names are interpolated; every value is a parameter.
            cursor.execute(
                f"SELECT {quote(key_field.column)}, {quote(meta.pk.column)} "  # noqa: S608
                f"FROM {quote(meta.db_table)} WHERE {where}",
                [*parameters, *chunk],
            )
            fetched = cursor.fetchall()
            if len(fetched) != len(set(chunk)):
                # Another row with the same key in scope: its key must not be taken for ours.
                raise ValueError(
                    f"{model.__name__}.{key}: {len(fetched)} rows for {len(set(chunk))} keys; "
                    "the key must be unique within its scope"
                )
            found.update(fetched)
    return found


def tables_analyze(*models: type[Model]) -> None:
    """Refresh PostgreSQL's statistics of tables a run has just grown by the thousand.

    Autovacuum gets there a minute later at the soonest. Until then, on tables new to the
    planner (a new client's first fetch), `organization = X AND cufe IN (...)` looks like five
    rows by the organization alone: each query of a batch read every document of the
    organization, ~3 ms apiece at 10,000. Elsewhere this does nothing.
    """
    if connection.vendor != "postgresql":
        return
    tables = ", ".join(connection.ops.quote_name(model._meta.db_table) for model in models)
    with connection.cursor() as cursor:
        cursor.execute(f"ANALYZE {tables}")  # only the models' own quoted table names
