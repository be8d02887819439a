"""Queries of a fixed shape, built and compiled once per process instead of per request.

Building a queryset (`filter`, `annotate`, `select_related`, ...) and compiling it to SQL
costs the ORM 0.3-3 ms a query: on a page that runs a dozen short statements that is most
of its time, and the statements themselves take a fraction of it. A `Prepared` statement
builds its queryset once per database with stand-in values, compiles it, and from then on
only puts the real values into the parameters. Rows come back through the ORM's own
iterables (model instances with `select_related` objects and annotations, `values_list`
tuples), from the compiler of that first build.

It is only used when it is exact: the queryset is built a second time with other values,
and that build must compile to the same SQL with exactly those values in the stand-ins'
places (and nowhere else). A value the ORM transforms on the way (a list SQLite spreads into
`IN (?, ?, ...)`, a pattern made into a range) leaves no stand-in in the parameters, and
such a statement runs through the ORM every time, as if it were not prepared.
"""

from __future__ import annotations

import copy
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, get_args, get_origin

from django.core.exceptions import EmptyResultSet, FullResultSet
from django.db import connections
from django.db.models import Field, ForeignObject, QuerySet
from django.db.models.lookups import In
from django.db.models.sql.compiler import SQLCompiler


@dataclass(frozen=True)
class _Compiled:
    queryset: QuerySet[Any]  # as built with the stand-ins; never run
    compiler: SQLCompiler  # after compiling it: its select and row layout
    sql: str
    params: tuple[Any, ...]
    slots: tuple[tuple[int, ...], ...]  # for each value, the positions of the parameters it fills

    def fill(self, values: Sequence[Any]) -> tuple[Any, ...]:
        params = list(self.params)
        for positions, value in zip(self.slots, values, strict=True):
            for i in positions:
                params[i] = value
        return tuple(params)


class _Run:
    """The stand-in build's query as one run's queryset reads it: the same attributes (what
    the ORM's iterables look up), a compiler that runs the compiled SQL with this run's
    parameters, and no way to derive another query from it."""

    def __init__(self, compiled: _Compiled, params: tuple[Any, ...]) -> None:
        self._compiled = compiled
        self._params = params

    def __getattr__(self, name: str) -> Any:
        return getattr(self._compiled.queryset.query, name)

    def get_compiler(self, using: str | None = None, connection: Any = None, elide_empty: bool = True) -> SQLCompiler:
        compiler = copy.copy(self._compiled.compiler)
        compiler.connection = connection if connection is not None else connections[using or "default"]
        compiler.using = compiler.connection.alias
        sql, params = self._compiled.sql, self._params
        compiler.as_sql = lambda *args, **kwargs: (sql, params)  # type: ignore[method-assign]
        return compiler

    def chain(self, klass: Any = None) -> Any:
        raise TypeError("A prepared statement's rows cannot be filtered further: change what it builds.")

    clone = chain


def stand_ins(kinds: Sequence[Any], *, check: bool = False) -> tuple[Any, ...]:
    """Values of `kinds` (`int`, `str`, `list[int]`, `list[str]`), one per position, unlike
    each other, any real value and any constant of a query: negative ids, text no name holds
    (a NUL). `check` gives a second such set, unlike the first."""

    def one(kind: Any, position: int) -> Any:
        if kind is int:
            return (-424_242 if check else -7_319_004_211) - position
        if kind is str:
            return f"\x00wharf:{'check' if check else 'stand-in'}-{position}\x00"
        if get_origin(kind) is list:
            (element,) = get_args(kind)
            return [one(element, position)]
        raise TypeError(f"no stand-in for {kind!r}")

    return tuple(one(kind, position) for position, kind in enumerate(kinds))


class Prepared:
    """`build(*values)` (a queryset, ready to run: ordered and sliced as wanted) compiled once
    per database, `kinds` being the types of its values (`stand_ins`). `rows(*values,
    using=alias)` gives what `list(build(*values))` would, `first` its first row or None."""

    def __init__(self, build: Callable[..., QuerySet[Any, Any]], *kinds: Any) -> None:
        self._build = build
        self._stand_ins = stand_ins(kinds)
        self._checks = stand_ins(kinds, check=True)
        self._compiled: dict[str, _Compiled | None] = {}
        self._lock = threading.Lock()

    def first(self, *values: Any, using: str = "default") -> Any:
        found = self.rows(*values, using=using)
        return found[0] if found else None

    def rows(self, *values: Any, using: str = "default") -> list[Any]:
        compiled = self.compiled(using)
        if compiled is None:
            return list(self._build(*values).using(using))
        # A list parameter goes to the driver as is: a tuple or set would not be an array.
        values = tuple(list(v) if isinstance(s, list) else v for v, s in zip(values, self._stand_ins, strict=True))
        stand_in = compiled.queryset
        queryset: QuerySet[Any] = QuerySet(
            model=stand_in.model, query=_Run(compiled, compiled.fill(values)), using=using  # type: ignore[arg-type]
        )
        # What the ORM's iterables read of a queryset besides its query (private: Django 5.2's).
        queryset._iterable_class = stand_in._iterable_class
        queryset._fields = stand_in._fields  # type: ignore[attr-defined]
        queryset._prefetch_related_lookups = stand_in._prefetch_related_lookups  # type: ignore[attr-defined]
        return list(queryset)

    def compiled(self, alias: str) -> _Compiled | None:
        """The statement for `alias`, or None where the check says it is not exact."""
        if alias not in self._compiled:
            with self._lock:
                if alias not in self._compiled:
                    self._compiled[alias] = self._compile(alias)
        return self._compiled[alias]

    def _compile(self, alias: str) -> _Compiled | None:
        queryset = self._build(*self._stand_ins).using(alias)
        compiler = queryset.query.get_compiler(using=alias)
        try:
            sql, params = compiler.as_sql()
        except (EmptyResultSet, FullResultSet):
            return None
        slots = tuple(tuple(i for i, p in enumerate(params) if _same(p, v)) for v in self._stand_ins)
        if not all(slots) or len({i for positions in slots for i in positions}) != sum(map(len, slots)):
            return None
        compiled = _Compiled(queryset, compiler, sql, tuple(params), slots)
        check = self._build(*self._checks).using(alias)
        check_sql, check_params = check.query.get_compiler(using=alias).as_sql()
        if check_sql != sql or tuple(check_params) != compiled.fill(self._checks):
            return None
        return compiled


def _same(param: Any, value: Any) -> bool:
    return type(param) is type(value) and param == value


class InList(In):
    """`field__in_list=[...]`: `IN` for a list of values, which on PostgreSQL is one array
    parameter (`field = ANY(%s)`, planned as `IN` is), so the statement is the same whatever
    the number of values and can be `Prepared`. Elsewhere it is `IN (...)`."""

    lookup_name = "in_list"

    def as_sql(self, compiler: Any, connection: Any) -> tuple[str, Any]:
        if connection.vendor != "postgresql" or not isinstance(self.rhs, list | tuple | set):
            return super().as_sql(compiler, connection)
        values = [value for value in self.rhs if value is not None]
        if not values:
            raise EmptyResultSet
        lhs, lhs_params = self.process_lhs(compiler, connection)
        return f"{lhs} = ANY(%s)", [*lhs_params, values]


Field.register_lookup(InList)
ForeignObject.register_lookup(InList)  # a foreign key's lookups are its own class's
