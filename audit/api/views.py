"""`/api/v1/projects/{project_name}/audit-events/` and `/api/v1/audit-events/`.

Both are the same viewset base; they differ only in who may read and which events
they start from.
"""

from __future__ import annotations

from typing import Any

from django.db.models import QuerySet
from django.http import HttpResponseBase, StreamingHttpResponse
from django.utils import timezone
from django.utils.translation import gettext_lazy
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import mixins, viewsets
from rest_framework.decorators import action
from rest_framework.permissions import IsAuthenticated
from rest_framework.renderers import JSONRenderer
from rest_framework.request import Request
from rest_framework.response import Response

from accounts.api.permissions import IsSystemAdmin
from accounts.permissions import Perm
from portal.api.schema import PROJECT_NAME_PARAMETER
from repositories.access import get_project
from repositories.models import Project

from ..models import AuditEvent
from ..queries import csv_rows
from .filters import AuditFilterBackend
from .pagination import AuditKeysetPagination
from .renderers import CSVRenderer
from .serializers import AuditEventSerializer


class AuditEventViewSetBase(mixins.ListModelMixin, viewsets.GenericViewSet[AuditEvent]):
    """Newest-first keyset pages of events, filtered by `AuditFilterForm`, and a
    streamed CSV export of the same filtered events. Subclasses say which events."""

    serializer_class = AuditEventSerializer
    queryset = AuditEvent.objects.none()
    filter_backends = [AuditFilterBackend]
    pagination_class = AuditKeysetPagination

    def events(self) -> QuerySet[AuditEvent]:
        raise NotImplementedError

    def export_filename(self) -> str:
        raise NotImplementedError

    def get_queryset(self) -> QuerySet[AuditEvent]:
        if getattr(self, "swagger_fake_view", False):
            return AuditEvent.objects.none()
        return self.events()

    def finalize_response(
        self, request: Request, response: HttpResponseBase, *args: Any, **kwargs: Any
    ) -> HttpResponseBase:
        response = super().finalize_response(request, response, *args, **kwargs)
        # Errors are JSON even when the client negotiated CSV.
        if isinstance(response, Response) and response.status_code >= 400:
            response.accepted_renderer = JSONRenderer()
            response.accepted_media_type = JSONRenderer.media_type
        return response

    @extend_schema(
        responses={
            (200, "text/csv"): OpenApiResponse(
                OpenApiTypes.STR, description=gettext_lazy("Every matching event, newest first, as CSV.")
            )
        },
    )
    @action(detail=False, methods=["get"], renderer_classes=[CSVRenderer], pagination_class=None)
    def export(self, request: Request, *args: Any, **kwargs: Any) -> StreamingHttpResponse:
        """Stream the filtered events as CSV."""
        events = self.filter_queryset(self.get_queryset())
        response = StreamingHttpResponse(csv_rows(events), content_type="text/csv; charset=utf-8")
        stamp = timezone.now().strftime("%Y%m%d-%H%M%S")
        response["Content-Disposition"] = f'attachment; filename="{self.export_filename()}-{stamp}.csv"'
        return response


@extend_schema(parameters=[PROJECT_NAME_PARAMETER])
class ProjectAuditEventViewSet(AuditEventViewSetBase):
    """A project's audit log: VIEW_AUDIT to read, EXPORT_AUDIT to export."""

    project: Project

    def initial(self, request: Request, *args: Any, **kwargs: Any) -> None:
        super().initial(request, *args, **kwargs)
        perm = Perm.EXPORT_AUDIT if self.action == "export" else Perm.VIEW_AUDIT
        self.project = get_project(request.user, kwargs["project_name"], perm)

    def events(self) -> QuerySet[AuditEvent]:
        return AuditEvent.objects.filter(project_id=self.project.pk)

    def export_filename(self) -> str:
        return f"audit-{self.project.name}"


class SystemAuditEventViewSet(AuditEventViewSetBase):
    """The whole audit log, for system admins only."""

    permission_classes = [IsAuthenticated, IsSystemAdmin]

    def events(self) -> QuerySet[AuditEvent]:
        return AuditEvent.objects.all()

    def export_filename(self) -> str:
        return "audit"
