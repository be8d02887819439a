"""`retention-runs/` of a project: history, starting a run or dry run, its items, stopping it."""

from __future__ import annotations

from typing import Any

from django.db import transaction
from django.db.models import Count, QuerySet
from django.shortcuts import get_object_or_404
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import mixins, status
from rest_framework.decorators import action
from rest_framework.request import Request
from rest_framework.response import Response

from accounts.permissions import Perm
from portal.api.actors import request_actor
from portal.api.errors import ApiError
from portal.api.pagination import KeysetListMixin

from ...models import RetentionRun, RetentionRunItem
from ...services.retention_runs import request_run, request_stop
from ...tasks import enqueue_retention
from ...views.retention_runs import ITEM_ORDERING, RUN_ORDERING
from ..retention_serializers import (
    RetentionRunCreateSerializer,
    RetentionRunDetailSerializer,
    RetentionRunItemSerializer,
    RetentionRunSerializer,
)
from .base import ProjectRetentionViewSet
from .filters import RetentionRunFilter, RetentionRunItemFilter


class RetentionRunViewSet(
    KeysetListMixin,
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    ProjectRetentionViewSet[RetentionRun],
):
    """The project's retention runs and dry runs, newest first. Reading needs
    `Perm.VIEW_RETENTION`; starting and stopping a run, `Perm.RUN_RETENTION`."""

    action_perms = {"create": Perm.RUN_RETENTION, "stop": Perm.RUN_RETENTION}
    serializer_class = RetentionRunSerializer
    queryset = RetentionRun.objects.none()
    filterset_class = RetentionRunFilter
    keyset_orderings = {"-created": RUN_ORDERING}
    keyset_default = "-created"
    lookup_value_regex = r"\d+"
    http_method_names = ["get", "post", "head", "options"]

    def get_queryset(self) -> QuerySet[RetentionRun]:
        if getattr(self, "swagger_fake_view", False):
            return RetentionRun.objects.none()
        runs = RetentionRun.objects.filter(project=self.project).select_related("requested_by")
        if self.action != "retrieve":
            # The policy snapshot can be large; only the detail shows it.
            runs = runs.defer("policy")
        return runs.order_by("-created_at", "-id")

    def get_serializer_class(self) -> type[RetentionRunSerializer]:
        return RetentionRunDetailSerializer if self.action == "retrieve" else RetentionRunSerializer

    def get_object(self) -> RetentionRun:
        run = super().get_object()
        if self.action == "retrieve":
            counts = (
                run.items.order_by().values("outcome").annotate(n=Count("id")).values_list("outcome", "n")
            )
            run.outcome_counts = dict(counts)  # type: ignore[attr-defined]
        return run

    @extend_schema(
        request=RetentionRunCreateSerializer,
        responses={
            202: OpenApiResponse(RetentionRunSerializer, description=gettext_lazy("A new run was queued.")),
            200: OpenApiResponse(
                RetentionRunSerializer,
                description=gettext_lazy("A run of this project is already queued or running; it is that run."),
            ),
            400: OpenApiResponse(description=gettext_lazy("The project has no retention policy.")),
        },
    )
    def create(self, request: Request, project_name: str) -> Response:
        """Queue a run (or, with `dry_run`, a dry run) of the saved policy.

        A project has at most one queued or running run: while one is, that run comes
        back with 200 (whether it is a dry run or not) instead of a new one with 202.
        """
        serializer = RetentionRunCreateSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        with transaction.atomic():
            run, created = request_run(
                self.project,
                request_actor(request),
                dry_run=serializer.validated_data["dry_run"],
                trigger=RetentionRun.Trigger.API,
                user=request.user,
            )
            if created:
                enqueue_retention(run)
        run = self.get_queryset().get(pk=run.pk)
        code = status.HTTP_202_ACCEPTED if created else status.HTTP_200_OK
        return Response(RetentionRunSerializer(run).data, status=code)

    @extend_schema(
        request=None,
        responses={
            200: RetentionRunSerializer,
            409: OpenApiResponse(description=gettext_lazy("The run has finished already.")),
        },
    )
    @action(detail=True, methods=["post"])
    def stop(self, request: Request, project_name: str, pk: str) -> Response:
        """Stop a run: a queued one at once, a running one before its next deletion
        (its status turns `stopped` when it does)."""
        run = self.get_object()
        if run.status not in RetentionRun.ACTIVE:
            raise ApiError(
                status.HTTP_409_CONFLICT,
                _("This run has %(status)s already.") % {"status": run.get_status_display().lower()},
            )
        run = request_stop(run)
        return Response(RetentionRunSerializer(self.get_queryset().get(pk=run.pk)).data)


RUN_ID_PARAMETER = OpenApiParameter(
    "run_id", OpenApiTypes.INT, OpenApiParameter.PATH, description=gettext_lazy("The run's id.")
)


@extend_schema(parameters=[RUN_ID_PARAMETER])
class RetentionRunItemViewSet(
    KeysetListMixin, mixins.ListModelMixin, ProjectRetentionViewSet[RetentionRunItem]
):
    """The artifacts one run deleted, would delete (dry run) or skipped, in the order it
    took them, with each one's reason and outcome. Needs `Perm.VIEW_RETENTION`."""

    serializer_class = RetentionRunItemSerializer
    queryset = RetentionRunItem.objects.none()
    filterset_class = RetentionRunItemFilter
    keyset_orderings = {"id": ITEM_ORDERING}
    keyset_default = "id"
    run: RetentionRun

    def initial(self, request: Request, *args: Any, **kwargs: Any) -> None:
        super().initial(request, *args, **kwargs)
        self.run = get_object_or_404(
            RetentionRun.objects.only("id"), project=self.project, pk=kwargs["run_id"]
        )

    def get_queryset(self) -> QuerySet[RetentionRunItem]:
        if getattr(self, "swagger_fake_view", False):
            return RetentionRunItem.objects.none()
        return RetentionRunItem.objects.filter(run=self.run).order_by("id")
