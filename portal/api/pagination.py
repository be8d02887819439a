"""API pagination: page numbers with a client-chosen size up to a cap."""

from __future__ import annotations

from typing import Any

from rest_framework.exceptions import ValidationError
from rest_framework.pagination import PageNumberPagination
from rest_framework.request import Request


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
        raise ValidationError({name: ["Give a whole number from 1."]})
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
