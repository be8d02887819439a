"""`insert`: Django's `bulk_create` for the sync's hot inserts, without its SQL compiler.

`bulk_create` compiles SQL for every value of every row: on the sync's main thread,
inserting the artifacts of a first sync was 11 % of the whole sync's Python time (py-spy,
10,000 tags), about half of it the compiler's placeholders, while the fetch threads
waited for the same core. Measured in process, 100 artifacts per call as the sync does
(6 rounds each, CPU per artifact): `bulk_create` 94-192 µs (median 150), this 83-102 µs,
on SQLite and on PostgreSQL alike. Here the values are prepared by the model's own fields
(`pre_save` then `get_db_prep_save`: defaults, `auto_now`, JSON and datetime adaptation,
as `bulk_create` does) and sent as multi-row `INSERT ... RETURNING` statements (PostgreSQL,
and SQLite since 3.35, as `bulk_create` does on both), through Django's cursor, so errors
come out as Django's (`IntegrityError` for a duplicate) and query logging sees them.

Like `bulk_create`, it sends no signals and sets the primary keys on the objects given,
in the order the database returns them (the order of the rows, as `bulk_create` relies
on too). Use it only where a profile shows `bulk_create` costs; a test checks that both
store the same rows, on both databases.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from django.db import connection, models

# Bound parameters per statement: SQLite's default limit is 32766; stay well below it.
MAX_PARAMS = 10_000


def _fields(model: type[models.Model]) -> list[models.Field[Any, Any]]:
    return [f for f in model._meta.local_concrete_fields if not isinstance(f, models.AutoField)]


def insert(objs: Sequence[models.Model]) -> None:
    """INSERT `objs` (all of one model, none saved yet) and set their primary keys."""
    if not objs:
        return
    model = type(objs[0])
    fields = _fields(model)
    pk = model._meta.pk
    assert pk is not None
    quote = connection.ops.quote_name
    head = f"INSERT INTO {quote(model._meta.db_table)} ({', '.join(quote(f.column) for f in fields)}) VALUES "  # noqa: S608  (quoted names)
    tail = f" RETURNING {quote(pk.column)}"
    one = "(" + ", ".join(["%s"] * len(fields)) + ")"
    per_statement = max(1, MAX_PARAMS // len(fields))
    with connection.cursor() as cursor:
        for start in range(0, len(objs), per_statement):
            batch = objs[start : start + per_statement]
            params = [f.get_db_prep_save(f.pre_save(obj, True), connection) for obj in batch for f in fields]
            cursor.execute(head + ", ".join([one] * len(batch)) + tail, params)
            for obj, (pk_value,) in zip(batch, cursor.fetchall(), strict=True):
                obj.pk = pk_value
                obj._state.adding = False
                obj._state.db = connection.alias
