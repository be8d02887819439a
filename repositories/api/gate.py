"""`projects/{project_name}/gate-policy/`: what the gate refuses for a project.

Read with `Perm.VIEW_PROJECT` (anyone who sees the project may know why a pull is
refused); change pull policies with `Perm.UPDATE_PROJECT` (Project Admins), quotas as a
system admin only: `access.require_gate_policy_change`, the rule the page applies too.
`PUT` and `PATCH` both change only the fields given. Bad values answer 400 per field.
"""

from __future__ import annotations

from typing import Any

from django.utils.translation import gettext_lazy
from drf_spectacular.utils import extend_schema
from rest_framework import serializers, viewsets
from rest_framework.decorators import action
from rest_framework.request import Request
from rest_framework.response import Response

from accounts.permissions import Perm
from portal.api.actors import request_actor

from ..access import gate_policy_editable, get_project, require_gate_policy_change
from ..models import Artifact, GatePolicy, Project
from ..models.gate import BlockSeverity
from ..services.gate import POLICY_FIELDS, policy_of, save_policy
from ..services.usage import project_usage


class GatePolicySerializer(serializers.Serializer[Any]):
    require_signed = serializers.BooleanField(help_text=gettext_lazy("Refuse pulls of images no trusted key has signed."))
    block_severity = serializers.ChoiceField(
        choices=BlockSeverity.choices,
        allow_blank=True,
        help_text=gettext_lazy("Refuse pulls of images with vulnerabilities at or above this severity, or never scanned "
        "(empty: off). Allowlisted findings do not count."),
    )
    quota_bytes = serializers.IntegerField(
        allow_null=True,
        min_value=0,
        help_text=gettext_lazy("Storage quota, each blob once (null: unlimited). System admins only."),
    )
    quota_artifacts = serializers.IntegerField(
        allow_null=True,
        min_value=0,
        max_value=2_147_483_647,
        help_text=gettext_lazy("Artifact quota (null: unlimited). System admins only."),
    )


class GatePolicyReadSerializer(GatePolicySerializer):
    used_bytes = serializers.IntegerField(read_only=True, help_text=gettext_lazy("The project's unique storage now."))
    artifacts = serializers.IntegerField(read_only=True, help_text=gettext_lazy("The project's artifacts now."))
    editable = serializers.ListField(
        child=serializers.CharField(), read_only=True, help_text=gettext_lazy("The fields you may change.")
    )
    updated_at = serializers.DateTimeField(read_only=True, allow_null=True)
    updated_by = serializers.CharField(read_only=True, allow_null=True)


def _data(policy: GatePolicy, project: Project, user: Any) -> dict[str, Any]:
    return {
        **{field: getattr(policy, field) for field in POLICY_FIELDS},
        "used_bytes": project_usage(project).unique_size,
        "artifacts": Artifact.objects.filter(repository__project=project).count(),
        "editable": sorted(gate_policy_editable(user, project)),
        "updated_at": policy.updated_at if policy.pk else None,
        "updated_by": policy.updated_by.username if policy.pk and policy.updated_by else None,
    }


class GatePolicyViewSet(viewsets.GenericViewSet[Any]):
    """A project's pull and push policies (an action at the project's prefix)."""

    queryset = Project.objects.none()
    filter_backends: list[Any] = []
    pagination_class = None
    serializer_class = GatePolicyReadSerializer

    @extend_schema(methods=["GET"], responses={200: GatePolicyReadSerializer})
    @extend_schema(
        methods=["PUT", "PATCH"],
        request=GatePolicySerializer(partial=True),
        responses={200: GatePolicyReadSerializer},
    )
    @action(detail=False, methods=["get", "put", "patch"], url_path="gate-policy")
    def gate_policy(self, request: Request, project_name: str) -> Response:
        """The project's policies, with its usage; `PUT`/`PATCH` change the fields given."""
        if request.method == "GET":
            project = get_project(request.user, project_name, Perm.VIEW_PROJECT)
            return Response(GatePolicyReadSerializer(_data(policy_of(project), project, request.user)).data)
        project = get_project(request.user, project_name, Perm.VIEW_PROJECT)
        body = GatePolicySerializer(data=request.data, partial=True)
        body.is_valid(raise_exception=True)
        changes = dict(body.validated_data)
        require_gate_policy_change(request.user, project, changes)
        policy = save_policy(project, changes, actor=request_actor(request), user=request.user)
        return Response(GatePolicyReadSerializer(_data(policy, project, request.user)).data)
