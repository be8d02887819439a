"""Substring search on names that stays fast at scale: one function chooses the path.

On PostgreSQL a search is `column LIKE '%text%'` (or `ILIKE`), which the pg_trgm GIN
indexes (`repositories` migration `lists_trigram_search`: tag and repository names,
repository descriptions) serve at any table size: the trigrams of the text pick the
candidate rows, the LIKE decides. Django's own `icontains` writes `UPPER(col::text) LIKE
UPPER(...)`, an expression no such index serves, so the search spells LIKE itself.

SQLite has no trigram index: there it is the portable `contains` / `icontains`
(`LIKE`, read row by row within whatever other index narrows the rows first).
Text of fewer than three characters has no trigram; PostgreSQL then reads the index
fully or the rows, which is still right.
"""

from __future__ import annotations

from typing import Any, TypeVar

from django.db import connections
from django.db.models import CharField, Lookup, Model, Q, QuerySet, TextField

M = TypeVar("M", bound=Model)


def like_pattern(text: str) -> str:
    """`%text%` with LIKE's wildcards in `text` escaped (PostgreSQL's default escape `\\`)."""
    escaped = text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"


class _Like(Lookup):  # type: ignore[type-arg]
    """`column LIKE %s` on the bare column (no cast, no UPPER), so a trigram index serves it."""

    lookup_name = "wharf_like"
    operator = "LIKE"

    def as_sql(self, compiler: Any, connection: Any) -> tuple[str, list[Any]]:
        lhs, lhs_params = self.process_lhs(compiler, connection)
        rhs, rhs_params = self.process_rhs(compiler, connection)
        return f"{lhs} {self.operator} {rhs}", [*lhs_params, *rhs_params]


class _ILike(_Like):
    lookup_name = "wharf_ilike"
    operator = "ILIKE"


for _field in (CharField, TextField):
    _field.register_lookup(_Like)
    _field.register_lookup(_ILike)


def uses_trigrams(alias: str) -> bool:
    """Whether database `alias` searches through trigram indexes (PostgreSQL)."""
    return connections[alias].vendor == "postgresql"


def contains(field: str, text: str, *, alias: str, case_sensitive: bool = False) -> Q:
    """Rows whose `field` contains `text`, as a filter for database `alias`: on PostgreSQL
    a LIKE / ILIKE the trigram index of `field` serves, elsewhere Django's portable lookups."""
    if uses_trigrams(alias):
        return Q(**{f"{field}__{'wharf_like' if case_sensitive else 'wharf_ilike'}": like_pattern(text)})
    return Q(**{f"{field}__{'contains' if case_sensitive else 'icontains'}": text})


def search(
    queryset: QuerySet[M], fields: tuple[str, ...], text: str, *, case_sensitive: bool = False
) -> QuerySet[M]:
    """`queryset`'s rows where any of `fields` contains `text` (see `contains`)."""
    condition = Q()
    for field in fields:
        condition |= contains(field, text, alias=queryset.db, case_sensitive=case_sensitive)
    return queryset.filter(condition)
