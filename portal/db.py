"""Query forms that mean the same on SQLite and PostgreSQL.

Wharf runs on the embedded SQLite default and on PostgreSQL, and every page must
give the same rows on both. The ORM features that only PostgreSQL has
(`.distinct(<field>)`, i.e. `DISTINCT ON`, and the JSON `contains` /
`has_any_keys` lookups on arrays) are not used anywhere; what they did lives here
in a portable form. `tests/core/test_portable_queries.py` makes reaching one of them
on SQLite an error the crawl and the suite see.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TypeVar

from django.db.models import F, Model, OrderBy, QuerySet, Window
from django.db.models.functions import RowNumber

M = TypeVar("M", bound=Model)


def latest_per(queryset: QuerySet[M], group: str, order: Sequence[str]) -> QuerySet[M]:
    """The first row of each `group` value in `queryset`, by `order` (e.g. the newest
    report of each artifact: `latest_per(reports, "artifact_id", ["-created_at", "-id"])`).

    A `ROW_NUMBER() OVER (PARTITION BY group ORDER BY ...)` window, filtered to 1:
    what `DISTINCT ON (group) ... ORDER BY group, ...` does on PostgreSQL, in SQL that
    SQLite (3.25+) runs too. Both use the same index on (group, order...). Put the
    last `order` field on a unique column so the pick is deterministic.
    """
    ordering = [
        OrderBy(F(name[1:]), descending=True) if name.startswith("-") else OrderBy(F(name)) for name in order
    ]
    ranked = queryset.annotate(_rank_in_group=Window(RowNumber(), partition_by=[F(group)], order_by=ordering))
    return ranked.filter(_rank_in_group=1)
