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

Most columns are plain: a `CharField` holding a `str`, an integer field an `int`, a
`BooleanField` a `bool`, a foreign key an `int` id, or None. For those the fields' own
preparation returns the value unchanged (`to_python` of a str is the str, `int()` of an int
the int, the backends adapt neither), so it is skipped: calling it for every value was
two thirds of the sync's inserts once the compiler was gone. Any other value, and every
other kind of field (dates, JSON, binary, `auto_now`), goes through `pre_save` and
`get_db_prep_save` as before.

Like `bulk_create`, it sends no signals and sets the primary keys on the objects given,
in the order the database returns them (the order of the rows, as `bulk_create` relies
on too). Use it only where a profile shows `bulk_create` costs; a test checks that both
store the same rows, on both databases.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from functools import cache
from typing import Any

from django.db import connection, models

# Bound parameters per statement: SQLite's default limit is 32766; stay well below it.
MAX_PARAMS = 10_000


def _fields(model: type[models.Model]) -> list[models.Field[Any, Any]]:
    return [f for f in model._meta.local_concrete_fields if not isinstance(f, models.AutoField)]


# Field classes (exactly these, not subclasses, which may prepare values their own way)
# whose preparation of a value of the paired type returns it unchanged.
_TEXT = (models.CharField, models.TextField)
_INTEGER = (
    models.IntegerField,
    models.BigIntegerField,
    models.SmallIntegerField,
    models.PositiveIntegerField,
    models.PositiveBigIntegerField,
    models.PositiveSmallIntegerField,
)
_KEYS = (models.AutoField, models.BigAutoField, models.SmallAutoField)


def _plain_type(field: models.Field[Any, Any]) -> type | None:
    """The type whose values `field` stores unchanged (checked with `type(v) is`, or
    `isinstance` for text, as `CharField.to_python` does); None: always prepare."""
    kind = type(field)
    if kind in _TEXT:
        return str
    if kind in _INTEGER:
        return int
    if kind is models.BooleanField:
        return bool
    if kind is models.ForeignKey and type(field.target_field) in _KEYS:  # type: ignore[attr-defined]
        return int
    return None


@cache
def _preparers(model: type[models.Model]) -> list[Callable[[models.Model], Any]]:
    """Per field, a function giving the value to bind for one object (see the module's note)."""

    def prepared(field: models.Field[Any, Any]) -> Callable[[models.Model], Any]:
        plain = _plain_type(field)
        attname = field.attname
        if plain is None:
            return lambda obj: field.get_db_prep_save(field.pre_save(obj, True), connection)
        if plain is str:

            def text(obj: models.Model) -> Any:
                value = getattr(obj, attname)  # what `Field.pre_save` returns for these fields
                if value is None or isinstance(value, str):
                    return value
                return field.get_db_prep_save(value, connection)

            return text

        def exact(obj: models.Model) -> Any:
            value = getattr(obj, attname)
            if value is None or type(value) is plain:
                return value
            return field.get_db_prep_save(value, connection)

        return exact

    return [prepared(field) for field in _fields(model)]


def insert(objs: Sequence[models.Model]) -> None:
    """INSERT `objs` (all of one model, none saved yet) and set their primary keys."""
    if not objs:
        return
    model = type(objs[0])
    fields = _fields(model)
    preparers = _preparers(model)
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
            params = [prepare(obj) for obj in batch for prepare in preparers]
            cursor.execute(head + ", ".join([one] * len(batch)) + tail, params)
            for obj, (pk_value,) in zip(batch, cursor.fetchall(), strict=True):
                obj.pk = pk_value
                obj._state.adding = False
                obj._state.db = connection.alias
