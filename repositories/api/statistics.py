"""`/api/v1/projects/{name}/statistics/?days=N`: the daily series the Statistics page charts.

Reading needs `Perm.VIEW_REPOSITORIES`, the page's rule; `get_project` decides (404
unseen, 403 not allowed). `days` is 1 to 366 (default 30); anything else is a 400 on it.
"""

from __future__ import annotations

from typing import Any

from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import serializers, viewsets
from rest_framework.decorators import action
from rest_framework.exceptions import ValidationError
from rest_framework.request import Request
from rest_framework.response import Response

from accounts.permissions import Perm

from ..access import get_project
from ..models import Project
from ..services.stats import MAX_DAYS, series

DEFAULT_DAYS = 30


class DaySerializer(serializers.Serializer[Any]):
    day = serializers.DateField()
    recorded = serializers.BooleanField(
        help_text=gettext_lazy("False for a day Wharf recorded nothing: the other fields are null.")
    )
    artifacts = serializers.IntegerField(allow_null=True)
    logical_bytes = serializers.IntegerField(allow_null=True, help_text=gettext_lazy("Shared blobs counted each time."))
    unique_bytes = serializers.IntegerField(allow_null=True, help_text=gettext_lazy("Distinct blobs, each once."))
    pushes = serializers.IntegerField(allow_null=True, help_text=gettext_lazy("Manifest pushes notified that day."))
    pulls = serializers.IntegerField(allow_null=True, help_text=gettext_lazy("Manifest pulls notified that day."))
    findings = serializers.DictField(
        child=serializers.IntegerField(),
        allow_null=True,
        help_text=gettext_lazy("Severity band → open findings (latest scans)."),
    )


class StatisticsSerializer(serializers.Serializer[Any]):
    project = serializers.CharField()
    days = serializers.IntegerField()
    series = DaySerializer(many=True, help_text=gettext_lazy("Oldest day first; today last."))


def _day(d: Any) -> dict[str, Any]:
    if not d.recorded:
        empty = dict.fromkeys(("artifacts", "logical_bytes", "unique_bytes", "pushes", "pulls", "findings"))
        return {"day": d.day, "recorded": False, **empty}
    return {
        "day": d.day,
        "recorded": True,
        "artifacts": d.artifacts,
        "logical_bytes": d.logical_bytes,
        "unique_bytes": d.unique_bytes,
        "pushes": d.pushes,
        "pulls": d.pulls,
        "findings": d.findings,
    }


class ProjectStatisticsViewSet(viewsets.GenericViewSet[Any]):
    """A project's daily statistics (an action at the project's prefix)."""

    queryset = Project.objects.none()
    filter_backends: list[Any] = []
    pagination_class = None
    serializer_class = StatisticsSerializer

    @extend_schema(
        parameters=[
            OpenApiParameter(
                "days", OpenApiTypes.INT, description=f"How many days, today included: 1 to {MAX_DAYS}."
            )
        ],
        responses={200: StatisticsSerializer, 400: OpenApiResponse(description=gettext_lazy("`days` out of range."))},
    )
    @action(detail=False, methods=["get"])
    def statistics(self, request: Request, project_name: str) -> Response:
        """Storage, pushes, pulls and open findings per day, from the daily snapshots."""
        project = get_project(request.user, project_name, Perm.VIEW_REPOSITORIES)
        raw = request.query_params.get("days", "")
        try:
            days = int(raw) if raw else DEFAULT_DAYS
        except ValueError:
            days = 0
        if not 1 <= days <= MAX_DAYS:
            raise ValidationError({"days": [_("A whole number of days from 1 to %(max)s.") % {"max": MAX_DAYS}]})
        body = {"project": project.name, "days": days, "series": [_day(d) for d in series(project, days)]}
        return Response(StatisticsSerializer(body).data)
