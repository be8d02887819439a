"""The audit filters as a DRF filter backend: the same `AuditFilterForm` and
`filter_events` the pages use, so the API and the pages filter alike."""

from __future__ import annotations

from typing import Any

from django.db.models import QuerySet
from rest_framework.exceptions import ValidationError
from rest_framework.filters import BaseFilterBackend
from rest_framework.request import Request

from ..models import AuditAction, AuditEvent
from ..queries import AuditFilterForm, filter_events


def cleaned_filters(request: Request) -> dict[str, Any]:
    """The validated filter values of the query string; 400 with field messages if invalid."""
    form = AuditFilterForm(request.query_params)
    if not form.is_valid():
        raise ValidationError(
            {("non_field_errors" if f == "__all__" else f): list(msgs) for f, msgs in form.errors.items()}
        )
    return form.cleaned_data


class AuditFilterBackend(BaseFilterBackend):
    def filter_queryset(
        self, request: Request, queryset: QuerySet[AuditEvent], view: Any
    ) -> QuerySet[AuditEvent]:
        return filter_events(queryset, cleaned_filters(request))

    def get_schema_operation_parameters(self, view: Any) -> list[dict[str, Any]]:
        def param(name: str, schema: dict[str, Any], description: str) -> dict[str, Any]:
            return {
                "name": name,
                "in": "query",
                "required": False,
                "description": description,
                "schema": schema,
            }

        return [
            param("actor", {"type": "string"}, "Exact username (or robot/registry name) of the actor."),
            param("action", {"type": "string", "enum": list(AuditAction.values)}, "The audited action."),
            param("target", {"type": "string"}, "Exact name of the target."),
            param("since", {"type": "string", "format": "date"}, "Events on or after this day."),
            param("until", {"type": "string", "format": "date"}, "Events on or before this day."),
        ]
