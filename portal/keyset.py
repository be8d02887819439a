"""Keyset (cursor) pagination: one mechanism for the long lists, pages and API alike.

A page is "the `size` rows after (or before) this row in this order", never "skip N
rows", so the database reads one index range per page at any depth: the first, a
middle and the last page of 100,000 rows cost the same. A list declares its orders as
`Ordering`s: the key columns, the last one unique within the list (the tie-breaker),
all in one direction, so one index on those columns serves the order forwards and
backwards.

NULLs: a nullable first key (a tag never pulled) splits the list into two segments,
the rows with a value and the rows without (NULLs count as smallest: first when
ascending, last when descending, on both databases). Each segment is read with the
same ORDER BY over the whole key, so the same index serves both (PostgreSQL's
`IS NULL` is an index condition); a page that crosses from one segment to the
other costs one more query.

A cursor is opaque to clients (URL-safe base64 of JSON): the ordering's name, the
direction (after / before a row), the segment and that row's key values. A cursor
that does not decode, or names another ordering, raises `InvalidCursor`: the API
answers 400, a page starts again at the first page.

The total shown beside the pages is exact up to `EXACT_COUNT_LIMIT` rows (a count
that stops there) and otherwise, on PostgreSQL, the planner's estimate, labelled
"about" (`Total.exact`); SQLite counts exactly.
"""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Generic, TypeVar

from django.core.exceptions import FieldDoesNotExist, ValidationError
from django.db import connections
from django.db.models import F, Model, Q, QuerySet
from django.utils.translation import gettext as _

M = TypeVar("M", bound=Model)

EXACT_COUNT_LIMIT = 10_000
"""Lists up to this many rows show an exact total; longer ones PostgreSQL's estimate."""


class InvalidCursor(ValueError):
    """A cursor that does not decode, or belongs to another ordering."""


@dataclass(frozen=True)
class Ordering:
    """An order of a list: `keys` are ORM paths (`name`, `artifact__size`), the last
    one unique within the list; `nullable` says the first key may be NULL."""

    name: str
    keys: tuple[str, ...]
    descending: bool = False
    nullable: bool = False
    nulls_last: bool = False
    """With `nullable`: NULLs last in both directions (the API's `StableOrderingFilter`)."""

    def segments(self) -> list[Q | None]:
        """The parts of the list in order, as filters (None: the whole list)."""
        if not self.nullable:
            return [None]
        first = _path(self.keys[0])
        values, nulls = Q(**{f"{first}__isnull": False}), Q(**{f"{first}__isnull": True})
        return [values, nulls] if self._null_segment() == 1 else [nulls, values]

    def compared_keys(self, segment: int) -> tuple[str, ...]:
        """The keys a cursor carries in `segment` (a NULL segment's rows differ only after the first)."""
        return self.keys[1:] if self._is_null_segment(segment) else self.keys

    def _null_segment(self) -> int:
        return 1 if self.descending or self.nulls_last else 0

    def _is_null_segment(self, segment: int) -> bool:
        return self.nullable and segment == self._null_segment()

    def order_by(self, reverse: bool = False) -> list[Any]:
        """The ORDER BY of a read; a key written `-key` runs against the others (an order
        no single-direction index serves: for computed keys, such as a count)."""
        found = []
        for key in self.keys:
            descending = (self.descending != reverse) != key.startswith("-")
            found.append(F(_path(key)).desc() if descending else F(_path(key)).asc())
        return found


def orderings(
    spec: dict[str, tuple[str, ...]], *, nullable: tuple[str, ...] = (), nulls_last: bool = False
) -> dict[str, Ordering]:
    """Both directions of each order in `spec` (name: keys), named `name` and `-name`;
    the first key of those named in `nullable` may be NULL."""
    return {
        f"{sign}{name}": Ordering(
            f"{sign}{name}", keys, descending=sign == "-", nullable=name in nullable, nulls_last=nulls_last
        )
        for name, keys in spec.items()
        for sign in ("", "-")
    }


def _path(key: str) -> str:
    return key.lstrip("-")


@dataclass(frozen=True)
class Position:
    """Where a page starts: `after` (or, when `before`, ends before) the row with
    `values` in `segment`; no values: the first page (or, `before`, the last)."""

    before: bool = False
    segment: int = 0
    values: tuple[Any, ...] | None = None


@dataclass(frozen=True)
class Total:
    count: int
    exact: bool


@dataclass
class KeysetPage(Generic[M]):
    """One page: its rows and the cursors of the pages around it (None where there is none)."""

    rows: list[M]
    ordering: Ordering
    first: str | None
    previous: str | None
    next: str | None
    last: str | None

    @property
    def object_list(self) -> list[M]:
        """The rows, under the name Django's page has (for templates)."""
        return self.rows


def read_page(queryset: QuerySet[M], ordering: Ordering, cursor: str | None, size: int) -> KeysetPage[M]:
    """The page of a page view: at `cursor` (a query parameter), or the first page when
    there is none or it is not one of this list's (an old link, a changed sort)."""
    try:
        position = decode(queryset.model, ordering, cursor) if cursor else Position()
    except InvalidCursor:
        position = Position()
    return paginate(queryset, ordering, position, size)


def page_context(queryset: QuerySet[M], ordering: Ordering, data: Any, size: int) -> dict[str, Any]:
    """What a page view's template needs for one keyset page of `queryset` as the query
    string `data` asks (`cursor`): `page`, `total`, `query` (the query string without
    the cursor, for sort and filter links) and `page_links` (`includes/keyset_pagination.html`)."""
    page = read_page(queryset, ordering, data.get("cursor"), size)
    query = data.copy()
    query.pop("cursor", None)
    query.pop("page", None)
    text = query.urlencode()
    return {"page": page, "total": count(queryset), "query": text, "page_links": page_links(page, text)}


def page_links(page: KeysetPage[Any], query: str) -> list[tuple[str, str | None]]:
    """First / Previous / Next / Last of a page's template (`includes/keyset_pagination.html`):
    label and href (the query string `query`, which has no cursor, plus the page's cursor),
    None where there is no such page."""
    prefix = f"?{query}&" if query else "?"
    return [
        ("First", (f"?{query}" if query else "?") if page.first else None),
        ("Previous", f"{prefix}cursor={page.previous}" if page.previous else None),
        ("Next", f"{prefix}cursor={page.next}" if page.next else None),
        ("Last", f"{prefix}cursor={page.last}" if page.last else None),
    ]


def encode(ordering: Ordering, position: Position) -> str:
    values = None if position.values is None else [_plain(v) for v in position.values]
    body = {"o": ordering.name, "b": int(position.before), "s": position.segment, "v": values}
    return base64.urlsafe_b64encode(json.dumps(body, separators=(",", ":")).encode()).decode().rstrip("=")


def decode(model: type[Model], ordering: Ordering, cursor: str) -> Position:
    """The position `cursor` names in `ordering`; raise InvalidCursor if it names none."""
    try:
        body = json.loads(base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)))
        if not isinstance(body, dict) or body.get("o") != ordering.name:
            raise InvalidCursor(
                _("This cursor belongs to another ordering or list; start again from the first page.")
            )
        segment, values = body["s"], body["v"]
        if not isinstance(segment, int) or not 0 <= segment < len(ordering.segments()):
            raise InvalidCursor(_("Not a cursor of this list."))
        if values is None:
            return Position(before=bool(body["b"]), segment=segment)
        keys = ordering.compared_keys(segment)
        if not isinstance(values, list) or len(values) != len(keys):
            raise InvalidCursor(_("Not a cursor of this list."))
        typed = tuple(_typed(model, key, value) for key, value in zip(keys, values, strict=True))
        if any(value is None for value in typed):
            raise InvalidCursor(_("Not a cursor of this list."))
        return Position(before=bool(body["b"]), segment=segment, values=typed)
    except InvalidCursor:
        raise
    except (ValueError, TypeError, KeyError, binascii.Error, ValidationError, UnicodeDecodeError) as exc:
        raise InvalidCursor(
            _("Not a cursor of this list: follow the links of a page to page through it.")
        ) from exc


def paginate(queryset: QuerySet[M], ordering: Ordering, position: Position, size: int) -> KeysetPage[M]:
    """The page of `queryset` at `position` in `ordering`, `size` rows at most: one query
    per segment it reads (one, unless the page crosses from values to NULLs)."""
    if position.before:
        # Near the start this page may be short: it ends where the page after it begins, so
        # a client walking backwards sees every row once.
        rows, more = _read(queryset, ordering, position, size, reverse=True)
        rows.reverse()
        has_previous, has_next = more, position.values is not None
    else:
        rows, more = _read(queryset, ordering, position, size, reverse=False)
        has_previous, has_next = position.values is not None, more
    first_row, last_row = (rows[0], rows[-1]) if rows else (None, None)
    return KeysetPage(
        rows=rows,
        ordering=ordering,
        first=encode(ordering, Position()) if has_previous else None,
        previous=encode(ordering, position_of(ordering, first_row, before=True)) if has_previous else None,
        next=encode(ordering, position_of(ordering, last_row, before=False)) if has_next else None,
        last=encode(ordering, Position(before=True)) if has_next else None,
    )


def count(
    queryset: QuerySet[Any],
    limit: int = EXACT_COUNT_LIMIT,
    *,
    coarse: QuerySet[Any] | None = None,
    left_out: QuerySet[Any] | Callable[[], QuerySet[Any]] | None = None,
    known: int | None = None,
) -> Total:
    """How many rows `queryset` has: exact up to `limit` (a count that stops there),
    beyond it PostgreSQL's estimate; SQLite always counts exactly.

    `coarse`, if given, is a superset of `queryset` that is cheaper to count (without a
    filter that costs a subquery per row, which rarely removes many): it decides whether
    the list is past `limit`, and gives the estimate (its statistics are the better ones).
    `left_out`, with it, are the rows of `coarse` that `queryset` leaves out, found without
    reading the others: the exact total is then the one count minus the other (a callable
    makes it only when the total is exact: its queryset can cost more to build than to run).

    `known`, if given, is how many rows `coarse` (or `queryset`) had when it was last counted
    and kept (a denormalised count, such as a repository's `tag_count`): past `limit` it is
    the estimate, on either database, and no query is run; otherwise the rows are counted."""
    if known is not None and known > limit:
        return Total(known, False)
    queryset = queryset.order_by()
    connection = connections[queryset.db]
    if connection.vendor != "postgresql":
        return Total(queryset.count(), True)
    probe = queryset if coarse is None else coarse.order_by()
    bounded = probe[: limit + 1].count()
    if bounded <= limit:
        if coarse is None:
            return Total(bounded, True)
        if left_out is None:
            return Total(queryset.count(), True)
        return Total(bounded - (left_out() if callable(left_out) else left_out).count(), True)
    sql, params = probe.values("pk").query.sql_with_params()
    with connection.cursor() as cursor:
        cursor.execute(f"EXPLAIN (FORMAT JSON) {sql}", params)
        (plan,) = cursor.fetchone()
    if isinstance(plan, str):
        plan = json.loads(plan)
    return Total(max(int(plan[0]["Plan"]["Plan Rows"]), limit + 1), False)


# --- internals -----------------------------------------------------------------


def _read(
    queryset: QuerySet[M], ordering: Ordering, position: Position, size: int, *, reverse: bool
) -> tuple[list[M], bool]:
    """Up to `size` rows from `position` onwards (backwards when `reverse`), and whether
    there are more."""
    segments = list(enumerate(ordering.segments()))
    if reverse:
        segments.reverse()
    if position.values is not None:
        at = [i for i, _ in segments].index(position.segment)
        segments = segments[at:]
    rows: list[M] = []
    for index, condition in segments:
        part = queryset if condition is None else queryset.filter(condition)
        if position.values is not None and index == position.segment:
            keys = ordering.compared_keys(index)
            part = part.filter(_beyond(keys, position.values, ordering.descending != reverse))
        rows.extend(part.order_by(*ordering.order_by(reverse))[: size + 1 - len(rows)])
        if len(rows) > size:
            return rows[:size], True
    return rows, False


def _beyond(keys: Sequence[str], values: Sequence[Any], descending: bool) -> Q:
    """Rows after `values` in the order of `keys`: `k1 >= v1 AND (k1 > v1 OR (k1 = v1 AND
    ...))`, the first conjunct being a plain range an index serves. A key written `-key`
    runs the other way."""

    def op(key: str) -> str:
        return "lt" if descending != key.startswith("-") else "gt"

    either = Q()
    for i in range(len(keys)):
        equal = {_path(key): value for key, value in zip(keys[:i], values[:i], strict=True)}
        either |= Q(**equal, **{f"{_path(keys[i])}__{op(keys[i])}": values[i]})
    return Q(**{f"{_path(keys[0])}__{op(keys[0])}e": values[0]}) & either


def position_of(ordering: Ordering, row: Any, *, before: bool) -> Position:
    """The position just after (or, `before`, just before) `row` in `ordering`."""
    if row is None:
        return Position(before=before)
    values = tuple(_value(row, _path(key)) for key in ordering.keys)
    segment = 0
    if ordering.nullable:
        null_segment = ordering._null_segment()
        segment = null_segment if values[0] is None else 1 - null_segment
    keys = ordering.compared_keys(segment)
    return Position(before=before, segment=segment, values=values[len(ordering.keys) - len(keys) :])


def _value(row: Any, key: str) -> Any:
    for part in key.split("__"):
        row = getattr(row, part)
    return row


def _typed(model: type[Model], key: str, value: Any) -> Any:
    """A cursor's value of `key` as the database compares it: a model field's Python type;
    a computed key (an annotation) keeps its JSON type, a number or a string."""
    field = _field(model, _path(key))
    if field is not None:
        return field.to_python(value)
    if isinstance(value, bool) or not isinstance(value, int | float | str):
        raise InvalidCursor(_("Not a cursor of this list."))
    return value


def _field(model: type[Model], key: str) -> Any:
    """The model field `key` names, None for an annotation."""
    parts = key.split("__")
    try:
        for part in parts[:-1]:
            model = model._meta.get_field(part).related_model  # type: ignore[assignment]
        return model._meta.get_field(parts[-1])
    except FieldDoesNotExist:
        return None


def _plain(value: Any) -> Any:
    return value.isoformat() if isinstance(value, datetime) else value
