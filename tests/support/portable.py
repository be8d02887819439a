"""Make PostgreSQL-only ORM features fail on PostgreSQL too, as they do on SQLite.

Wharf's pages must give the same rows on the embedded SQLite default and on
PostgreSQL. SQLite refuses `DISTINCT ON` (`.distinct(<field>)`) and the JSON
`contains` / `contained_by` lookups with `NotSupportedError`, but PostgreSQL runs
them, so a suite run on PostgreSQL alone never notices a page that only it can
serve. `install()` makes them raise on every database while the tests run, so the
PostgreSQL run, the SQLite run and the crawl all fail the same way. The portable
forms live in `portal/db.py`.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from django.db import NotSupportedError
from django.db.models.fields.json import ContainedBy, DataContains
from django.db.models.sql.compiler import SQLCompiler

MESSAGE = "{what} is PostgreSQL-only and breaks the embedded SQLite default: use portal.db ({hint})"


def _refuse_distinct_on(original: Any) -> Any:
    def get_distinct(self: SQLCompiler) -> Any:
        if self.query.distinct_fields:
            raise NotSupportedError(
                MESSAGE.format(what=".distinct(<field>) (DISTINCT ON)", hint="latest_per")
            )
        return original(self)

    return get_distinct


def _refuse(what: str, hint: str) -> Any:
    def as_postgresql(self: Any, compiler: Any, connection: Any) -> Any:
        raise NotSupportedError(MESSAGE.format(what=what, hint=hint))

    return as_postgresql


@contextmanager
def portable_queries_only() -> Iterator[None]:
    """While active, the PostgreSQL-only features raise `NotSupportedError` on any database."""
    saved = (SQLCompiler.get_distinct, DataContains.as_postgresql, ContainedBy.as_postgresql)
    SQLCompiler.get_distinct = _refuse_distinct_on(saved[0])  # type: ignore[method-assign]
    DataContains.as_postgresql = _refuse("the JSON `contains` lookup", "a related table or portable lookup")  # type: ignore[method-assign]
    ContainedBy.as_postgresql = _refuse("the JSON `contained_by` lookup", "a related table or portable lookup")  # type: ignore[method-assign]
    try:
        yield
    finally:
        SQLCompiler.get_distinct, DataContains.as_postgresql, ContainedBy.as_postgresql = saved  # type: ignore[method-assign]
