"""`insert`: Django's `bulk_create` for hot inserts, without its SQL compiler.

`bulk_create` compiles SQL for every value of every row: on the sync's main thread,
inserting the artifacts of a first sync was 11 % of the whole sync's Python time (py-spy,
10,000 tags), about half of it the compiler's placeholders, while the fetch threads
waited for the same core. Measured in process, 100 artifacts per call as the sync does
(6 rounds each, CPU per artifact): `bulk_create` 94-192 µs (median 150), this 83-102 µs,
on SQLite and on PostgreSQL alike. The rows go out as multi-row `INSERT ... RETURNING`
statements (PostgreSQL, and SQLite since 3.35, as `bulk_create` does on both), through
Django's cursor, so errors come out as Django's (`IntegrityError` for a duplicate) and
query logging sees them. Used by the sync (artifacts, tags, blob rows), a retention run
(recycle-bin entries) and `audit.services.record_many`.

Values are prepared by the model's own fields (`pre_save` then `get_db_prep_save`:
defaults, `auto_now`, JSON and datetime adaptation, as `bulk_create` does), except where
that preparation returns the value unchanged: a `str` in a `CharField` or `TextField`
(`to_python` keeps any str), an `int` in an integer field or an integer key, a `bool` in a
`BooleanField`, None. Those go to the driver as they are, and an aware `datetime` in a
`DateTimeField` without `auto_now` only gets the backend's adaptation: preparing every
value was two thirds of the sync's inserts once the compiler was gone.

Like `bulk_create`, it sends no signals and sets the primary keys on the objects given,
in the order the database returns them (the order of the rows, as `bulk_create` relies
on too). Use it only where a profile shows `bulk_create` costs; a test checks that both
store the same rows, on both databases.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import datetime
from functools import cache
from typing import Any

from django.db import DEFAULT_DB_ALIAS, connection, connections, models
from django.db.backends.base.base import BaseDatabaseWrapper

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


Prepare = Callable[[Any, BaseDatabaseWrapper], Any]


def _value_preparer(field: models.Field[Any, Any]) -> Prepare | None:
    """A function preparing a value of `field` for the database (see the module's note);
    None when the field must see the object itself (`pre_save`: `auto_now` and the like)."""
    kind = type(field)
    if kind is models.DateTimeField and not (field.auto_now or field.auto_now_add):  # type: ignore[attr-defined]

        def moment(value: Any, db: BaseDatabaseWrapper) -> Any:
            if value is None:
                return None
            if type(value) is datetime and value.utcoffset() is not None:
                return db.ops.adapt_datetimefield_value(value)  # aware: `get_prep_value` keeps it
            return field.get_db_prep_save(value, db)

        return moment
    if kind.pre_save is not models.Field.pre_save:
        return None
    plain = _plain_type(field)
    if plain is None:
        return field.get_db_prep_save
    if plain is str:

        def text(value: Any, db: BaseDatabaseWrapper) -> Any:
            if value is None or isinstance(value, str):
                return value
            return field.get_db_prep_save(value, db)

        return text

    def exact(value: Any, db: BaseDatabaseWrapper) -> Any:
        if value is None or type(value) is plain:
            return value
        return field.get_db_prep_save(value, db)

    return exact


@cache
def _preparers(model: type[models.Model]) -> list[Callable[[models.Model, BaseDatabaseWrapper], Any]]:
    """Per field, a function giving the value to bind for one object."""

    def of(field: models.Field[Any, Any]) -> Callable[[models.Model, BaseDatabaseWrapper], Any]:
        prepare = _value_preparer(field)
        if prepare is None:
            return lambda obj, db: field.get_db_prep_save(field.pre_save(obj, True), db)
        attname = field.attname  # `Field.pre_save` returns this attribute
        return lambda obj, db: prepare(getattr(obj, attname), db)

    return [of(field) for field in _fields(model)]


@cache
def _value_preparers(model: type[models.Model], names: tuple[str, ...]) -> tuple[list[str], list[Prepare]]:
    """The columns named by `names` (attribute names) and a value preparer for each."""
    by_name = {field.attname: field for field in _fields(model)}
    if set(names) != by_name.keys():
        raise ValueError(f"name every column of {model.__name__} but its key: {sorted(by_name)}")
    prepares = [_value_preparer(by_name[name]) for name in names]
    if any(prepare is None for prepare in prepares):
        raise ValueError(f"{model.__name__} has a column that needs its object (auto_now): use insert()")
    return [by_name[name].column for name in names], prepares  # type: ignore[return-value]


def _statement(model: type[models.Model], columns: Sequence[str], rows: int, returning: bool) -> str:
    quote = connection.ops.quote_name
    one = "(" + ", ".join(["%s"] * len(columns)) + ")"
    return (
        f"INSERT INTO {quote(model._meta.db_table)} ({', '.join(quote(c) for c in columns)}) VALUES "  # noqa: S608  (quoted names)
        + ", ".join([one] * rows)
        + (f" RETURNING {quote(model._meta.pk.column)}" if returning else "")  # type: ignore[union-attr]
    )


def insert_values(model: type[models.Model], names: Sequence[str], rows: Sequence[Sequence[Any]]) -> None:
    """INSERT `rows` of values (in the order of `names`, every column but the key) without
    building model instances and without reading keys back: for rows written by the
    thousand that nothing reads back at once (an artifact's blob rows). Values are
    prepared as `insert` prepares an object's."""
    if not rows:
        return
    columns, prepares = _value_preparers(model, tuple(names))
    db = connections[DEFAULT_DB_ALIAS]
    per_statement = max(1, MAX_PARAMS // len(names))
    with connection.cursor() as cursor:
        for start in range(0, len(rows), per_statement):
            batch = rows[start : start + per_statement]
            params = [prepare(value, db) for row in batch for prepare, value in zip(prepares, row, strict=True)]
            cursor.execute(_statement(model, columns, len(batch), returning=False), params)


def insert(objs: Sequence[models.Model]) -> None:
    """INSERT `objs` (all of one model, none saved yet) and set their primary keys."""
    if not objs:
        return
    model = type(objs[0])
    fields = _fields(model)
    preparers = _preparers(model)
    db = connections[DEFAULT_DB_ALIAS]
    per_statement = max(1, MAX_PARAMS // len(fields))
    with connection.cursor() as cursor:
        for start in range(0, len(objs), per_statement):
            batch = objs[start : start + per_statement]
            params = [prepare(obj, db) for obj in batch for prepare in preparers]
            cursor.execute(_statement(model, [f.column for f in fields], len(batch), returning=True), params)
            for obj, (pk_value,) in zip(batch, cursor.fetchall(), strict=True):
                obj.pk = pk_value
                obj._state.adding = False
                obj._state.db = connection.alias
