"""A repository's tag list, as the page and the API read it: its orders, its rows, its filter.

Both page through it with `portal.keyset`. Every order has an index that serves it
with the tie-breaker (the name) in both directions: the tag's own columns through
(repository, column, name) indexes; size and pulls, which belong to the artifact,
through (repository, column) indexes on the artifact, walked in order and joined to
their tags (a few tags per artifact, sorted by name as they come).
`tests/pages/test_tag_list_plan.py` checks on PostgreSQL that no order reads the
whole tag table.
"""

from __future__ import annotations

from typing import Any

from django.db import connections
from django.db.models import QuerySet

from portal.keyset import Ordering, Position, encode, position_of
from portal.search import contains, uses_trigrams

from .globs import GLOB_CHARACTERS, PatternKind, compile_filter
from .models import Repository, Tag

# The API's `ordering` values (each also with a leading `-`); the page's sorts map onto them.
API_ORDERINGS: dict[str, tuple[tuple[str, ...], bool]] = {
    "name": (("name",), False),
    "pushed_at": (("pushed_at", "name"), False),
    "last_pull_at": (("last_pull_at", "name"), True),
    "size": (("artifact__size", "name"), False),
    "pull_count": (("artifact__pull_count", "name"), False),
}
TAG_ORDERINGS: dict[str, Ordering] = {
    f"{sign}{field}": Ordering(f"{sign}{field}", keys, descending=sign == "-", nullable=nullable)
    for field, (keys, nullable) in API_ORDERINGS.items()
    for sign in ("", "-")
}
PAGE_SORT_FIELDS = {"name": "name", "pushed": "pushed_at", "size": "size", "pulled": "last_pull_at", "pulls": "pull_count"}


def ordering_for_sort(sort: str) -> Ordering:
    """The ordering of a page sort key (`-size`)."""
    sign = "-" if sort.startswith("-") else ""
    return TAG_ORDERINGS[sign + PAGE_SORT_FIELDS[sort.lstrip("-")]]


def ordered_tags(repository: Repository, tags: QuerySet[Tag], ordering: Ordering) -> QuerySet[Tag]:
    """`tags` (of `repository`) ready to be paged in `ordering`: an order on the artifact's
    columns also names the artifact's repository, so PostgreSQL walks the artifact index.

    For such an order `tags` may leave out the tag's own repository (a tag's artifact is in
    the tag's repository), and the page's whole list does: with both, PostgreSQL takes a
    tag's artifact to be in the repository as rarely as any artifact is (an estimate 20x
    too low), and once the accessory filter no longer looked costly it sorted all of a
    10,000-tag repository's tags (33 ms) rather than walk the index (0.6 ms)."""
    if orders_by_artifact(ordering):
        tags = tags.filter(artifact__repository=repository)
    return tags


def orders_by_artifact(ordering: Ordering) -> bool:
    """Whether `ordering` is on the artifact's columns (size, pulls)."""
    return any(key.startswith("artifact__") for key in ordering.keys)


def filter_tags(tags: QuerySet[Tag], text: str) -> QuerySet[Tag]:
    """Tags matching the filter `text` (`repositories.globs.compile_filter`: plain text is a
    substring, anything with a glob character a whole-name glob). A glob's literal prefix is
    an index range where the database orders names bytewise. A substring is, on PostgreSQL,
    a case-sensitive LIKE the trigram index `tag_name_trgm` serves (`portal.search`); on
    SQLite the glob's regex (SQLite's LIKE ignores case, tag names do not)."""
    glob = compile_filter(text, PatternKind.TAG)
    if glob is None:
        return tags
    if not GLOB_CHARACTERS.intersection(text.strip()) and uses_trigrams(tags.db):
        return tags.filter(contains("name", text.strip(), alias=tags.db, case_sensitive=True))
    return tags.filter(**glob.lookups("name", bytewise=orders_bytewise(tags.db)))


_BYTEWISE: dict[str, bool] = {}


def orders_bytewise(alias: str) -> bool:
    """Whether text columns of database `alias` compare bytewise (SQLite; PostgreSQL with the
    C or C.UTF-8 collation), so `prefix <= name < next(prefix)` is exactly `startswith`."""
    connection = connections[alias]
    if connection.vendor == "sqlite":
        return True
    if connection.vendor != "postgresql":
        return False
    key = f"{alias}:{connection.settings_dict['NAME']}"
    if key not in _BYTEWISE:
        with connection.cursor() as cursor:
            cursor.execute("SELECT datcollate FROM pg_database WHERE datname = current_database()")
            (collation,) = cursor.fetchone()
        _BYTEWISE[key] = collation.split(".")[0] in ("C", "POSIX")
    return _BYTEWISE[key]


def benchmark_positions(kind: str, repository: Repository, params: dict[str, str]) -> dict[str, dict[str, str]]:
    """For `benchmarks/list_bench.py`: the query parameters of the first, a middle and the last
    page of a tag list (`kind` "page" or "api" with its `params`), the middle by the cursor a
    client paging forward would reach there."""
    from django.http import QueryDict

    from .views.repositories import tag_queryset

    query = QueryDict(mutable=True)
    for name, value in params.items():
        query[name if kind == "page" or name != "pattern" else "tag"] = value
    if kind == "api":
        query.setdefault("accessories", "include")
        query["sort"] = _page_sort(params.get("ordering", "name"))
    tags, ordering = tag_queryset(repository, query)
    total = tags.count()
    middle_row: Any = tags.order_by(*ordering.order_by())[max(0, total // 2 - 1) : total // 2].first()
    middle = {} if middle_row is None else {"cursor": encode(ordering, position_of(ordering, middle_row, before=False))}
    return {"first": {}, "middle": middle, "last": {"cursor": encode(ordering, Position(before=True))}}


def _page_sort(ordering: str) -> str:
    sign, field = ("-", ordering[1:]) if ordering.startswith("-") else ("", ordering)
    return sign + {v: k for k, v in PAGE_SORT_FIELDS.items()}[field]

