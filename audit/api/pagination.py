"""Keyset pages of audit events, newest first: `portal.keyset` like every other long list
(`cursor`, and `{count, count_exact, next, previous, first, last, results}`). An old
`?before=<id>` link still starts after that id.

Each page is one index range scan however deep; the total is a count that stops at
`portal.keyset.EXACT_COUNT_LIMIT` (beyond it PostgreSQL's estimate), never a COUNT(*) over
the whole log.
"""

from __future__ import annotations

from typing import Any

from rest_framework.exceptions import ValidationError
from rest_framework.request import Request

from portal import keyset
from portal.api.pagination import KeysetPagination, positive_int

from ..queries import PAGE_SIZE, keyset_page, start


class AuditKeysetPagination(KeysetPagination):
    page_size = PAGE_SIZE

    def paginate_queryset(self, queryset: Any, request: Request, view: Any = None) -> list[Any] | None:
        if request.query_params.get("page") not in (None, ""):
            raise ValidationError(
                {"page": ["This list pages by cursor: follow `next`, `previous`, `first` and `last`."]}
            )
        size = positive_int(request, self.page_size_query_param, cap=self.max_page_size) or self.page_size
        try:
            position = start(
                request.query_params.get(self.cursor_query_param), positive_int(request, "before")
            )
        except keyset.InvalidCursor as exc:
            raise ValidationError({self.cursor_query_param: [str(exc)]}) from exc
        self.request = request
        self.page = keyset_page(queryset, position, size)
        self.total = keyset.count(queryset)
        return self.page.rows

    def _link(self, cursor: str | None, *, first: bool = False) -> str | None:
        from rest_framework.utils.urls import remove_query_param

        link = super()._link(cursor, first=first)
        return remove_query_param(link, "before") if link else None

    def get_schema_operation_parameters(self, view: Any) -> list[dict[str, Any]]:
        return [
            *super().get_schema_operation_parameters(view),
            {
                "name": "before",
                "in": "query",
                "required": False,
                "description": "Deprecated (use the links): only events with a smaller id.",
                "schema": {"type": "integer", "minimum": 1},
            },
        ]
