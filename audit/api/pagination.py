"""Keyset pages of audit events (`?before=<id>`), newest first.

Uses `audit.queries.keyset_page`, so each page is one index range scan however
deep, and no COUNT(*) runs over the whole log.
"""

from __future__ import annotations

from typing import Any

from django.db.models import QuerySet
from rest_framework.pagination import BasePagination
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.utils.urls import replace_query_param

from portal.api.pagination import positive_int

from ..models import AuditEvent
from ..queries import PAGE_SIZE, keyset_page


class AuditKeysetPagination(BasePagination):
    page_size = PAGE_SIZE
    page_size_query_param = "page_size"
    max_page_size = 500

    def paginate_queryset(
        self, queryset: QuerySet[AuditEvent], request: Request, view: Any = None
    ) -> list[AuditEvent]:
        before = positive_int(request, "before")
        size = positive_int(request, self.page_size_query_param, cap=self.max_page_size)
        page = keyset_page(queryset, before, size or self.page_size)
        self.request = request
        self.next_before = page.next_before
        return page.events

    def get_next_link(self) -> str | None:
        if self.next_before is None:
            return None
        return replace_query_param(self.request.build_absolute_uri(), "before", self.next_before)

    def get_paginated_response(self, data: Any) -> Response:
        return Response({"next": self.get_next_link(), "results": data})

    def get_paginated_response_schema(self, schema: dict[str, Any]) -> dict[str, Any]:
        return {
            "type": "object",
            "required": ["next", "results"],
            "properties": {
                "next": {
                    "type": "string",
                    "format": "uri",
                    "nullable": True,
                    "description": "The next (older) page, or null on the last page.",
                },
                "results": schema,
            },
        }

    def get_schema_operation_parameters(self, view: Any) -> list[dict[str, Any]]:
        return [
            {
                "name": "before",
                "in": "query",
                "required": False,
                "description": "Only events with a smaller id (from the `next` link).",
                "schema": {"type": "integer", "minimum": 1},
            },
            {
                "name": self.page_size_query_param,
                "in": "query",
                "required": False,
                "description": f"Events per page (default {self.page_size}, at most {self.max_page_size}).",
                "schema": {"type": "integer", "minimum": 1, "maximum": self.max_page_size},
            },
        ]
