"""API pagination: page numbers with a client-chosen size up to a cap, and cursors
(`KeysetPagination`) for the long lists."""

from __future__ import annotations

from typing import Any

from django.utils.translation import gettext as _
from rest_framework.exceptions import ValidationError
from rest_framework.pagination import BasePagination, PageNumberPagination
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.utils.urls import remove_query_param, replace_query_param

from portal import keyset


def positive_int(request: Request, name: str, *, cap: int | None = None) -> int | None:
    """The query parameter `name` as a whole number from 1 (at most `cap`), None if
    absent; a 400 naming it if it is something else, rather than a silent default."""
    raw = request.query_params.get(name)
    if raw is None or raw == "":
        return None
    try:
        number = int(raw)
    except ValueError:
        number = 0
    if number < 1:
        raise ValidationError({name: [_("Give a whole number from 1.")]})
    return min(number, cap) if cap else number


class StandardPagination(PageNumberPagination):
    page_size = 50
    page_size_query_param = "page_size"
    max_page_size = 500

    def get_page_size(self, request: Request) -> int:
        return positive_int(request, self.page_size_query_param, cap=self.max_page_size) or self.page_size

    def paginate_queryset(self, queryset: Any, request: Request, view: Any = None) -> list[Any] | None:
        # A page that is not a number is a bad request (400); a number past the end stays a 404.
        if request.query_params.get(self.page_query_param) not in self.last_page_strings:
            positive_int(request, self.page_query_param)
        return super().paginate_queryset(queryset, request, view)


class KeysetPagination(BasePagination):
    """Cursor pagination (`portal.keyset`) for long lists: `{count, count_exact, next,
    previous, first, last, results}`, where `count` is exact when `count_exact` and
    PostgreSQL's estimate otherwise. The view names the order (`keyset_ordering(request)`);
    `cursor` comes from a previous answer's links; `page` numbers are refused (400) so a
    client counting pages stops rather than reading the first page forever."""

    page_size = 50
    max_page_size = 500
    cursor_query_param = "cursor"
    page_size_query_param = "page_size"

    def paginate_queryset(self, queryset: Any, request: Request, view: Any = None) -> list[Any] | None:
        if request.query_params.get("page") not in (None, ""):
            raise ValidationError(
                {"page": [_("This list pages by cursor: follow `next`, `previous`, `first` and `last`.")]}
            )
        ordering: keyset.Ordering = view.keyset_ordering(request)
        size = positive_int(request, self.page_size_query_param, cap=self.max_page_size) or self.page_size
        raw = request.query_params.get(self.cursor_query_param)
        try:
            position = keyset.decode(queryset.model, ordering, raw) if raw else keyset.Position()
        except keyset.InvalidCursor as exc:
            raise ValidationError({self.cursor_query_param: [str(exc)]}) from exc
        self.request = request
        self.page = keyset.paginate(queryset, ordering, position, size)
        count = getattr(view, "keyset_count", None)  # a view that knows a cheaper exact count
        self.total = count(queryset) if count is not None else keyset.count(queryset)
        return self.page.rows

    def _link(self, cursor: str | None, *, first: bool = False) -> str | None:
        url = self.request.build_absolute_uri()
        if first:
            return remove_query_param(url, self.cursor_query_param) if cursor else None
        return replace_query_param(url, self.cursor_query_param, cursor) if cursor else None

    def get_paginated_response(self, data: Any) -> Response:
        return Response(
            {
                "count": self.total.count,
                "count_exact": self.total.exact,
                "next": self._link(self.page.next),
                "previous": self._link(self.page.previous),
                "first": self._link(self.page.first, first=True),
                "last": self._link(self.page.last),
                "results": data,
            }
        )

    def get_paginated_response_schema(self, schema: dict[str, Any]) -> dict[str, Any]:
        link = {"type": "string", "nullable": True, "format": "uri"}
        return {
            "type": "object",
            "required": ["count", "count_exact", "next", "previous", "first", "last", "results"],
            "properties": {
                "count": {
                    "type": "integer",
                    "description": f"The number of rows; exact when `count_exact`, else an estimate above {keyset.EXACT_COUNT_LIMIT}.",
                },
                "count_exact": {"type": "boolean"},
                "next": link | {"description": "The next page, null on the last."},
                "previous": link | {"description": "The previous page, null on the first."},
                "first": link | {"description": "The first page, null on the first."},
                "last": link | {"description": "The last page, null on the last."},
                "results": schema,
            },
        }

    def get_schema_operation_parameters(self, view: Any) -> list[dict[str, Any]]:
        return [
            {
                "name": self.cursor_query_param,
                "required": False,
                "in": "query",
                "description": "A page's position, from the `next`, `previous` or `last` link of an answer (opaque).",
                "schema": {"type": "string"},
            },
            {
                "name": self.page_size_query_param,
                "required": False,
                "in": "query",
                "description": f"Rows per page (default {self.page_size}, at most {self.max_page_size}).",
                "schema": {"type": "integer", "minimum": 1, "maximum": self.max_page_size},
            },
        ]


class KeysetListMixin:
    """A list view paged by cursor (`KeysetPagination`) in the orders `keyset_orderings`
    (`portal.keyset.orderings`) names: `?ordering=` picks one (its filter validates the
    value, a 400 naming it otherwise), else `keyset_default`."""

    pagination_class: Any = KeysetPagination
    keyset_orderings: dict[str, keyset.Ordering]
    keyset_default: str

    def keyset_ordering(self, request: Request) -> keyset.Ordering:
        asked = request.query_params.get("ordering") or self.keyset_default
        return self.keyset_orderings.get(asked, self.keyset_orderings[self.keyset_default])
