"""`retention-default/`: the system-wide default retention policy (read by any signed-in
user, replaced by system admins), and `projects/{project_name}/effective-retention-policy/`:
the policy governing a project now with its `origin` (`project`, `default` or `none`).

Both are single objects, so they are actions of viewsets registered at a prefix, like
`retention-policy/`. Validation and audit are `services.retention_defaults`'s.
"""

from __future__ import annotations

from typing import Any

from django.db.models import Model
from django.utils.translation import gettext_lazy
from drf_spectacular.utils import extend_schema
from rest_framework import serializers, viewsets
from rest_framework.decorators import action
from rest_framework.permissions import IsAuthenticated
from rest_framework.request import Request
from rest_framework.response import Response

from accounts.permissions import Perm
from portal.api.actors import request_actor

from ..access import require_default_retention_manager
from ..models import Project
from ..services import retention_defaults
from .retention.base import ProjectRetentionViewSet
from .retention_serializers import RetentionPolicyInputSerializer, RetentionRuleSerializer


class DefaultPolicySerializer(serializers.Serializer[Any]):
    enabled = serializers.BooleanField()
    schedule = serializers.CharField(allow_blank=True)
    allow_empty_repository = serializers.BooleanField()
    rules = RetentionRuleSerializer(many=True)
    updated_at = serializers.DateTimeField(allow_null=True)
    updated_by = serializers.CharField(allow_null=True)
    opt_out_allowed = serializers.BooleanField(help_text=gettext_lazy("Whether projects may opt out (a site setting)."))


class EffectivePolicySerializer(serializers.Serializer[Any]):
    origin = serializers.ChoiceField(
        choices=["project", "default", "none"],
        help_text=gettext_lazy("`project`: its own policy; `default`: the system default (it has no rules of its own); `none`."),
    )
    opted_out = serializers.BooleanField(help_text=gettext_lazy("Whether the project opted out of the default."))
    policy = RetentionPolicyInputSerializer()


def _default_body() -> dict[str, Any]:
    row = retention_defaults.default_row()
    return retention_defaults.default_data(row) | {
        "updated_at": row.updated_at if row else None,
        "updated_by": row.updated_by.username if row and row.updated_by else None,
        "opt_out_allowed": retention_defaults.opt_out_allowed(),
    }


class DefaultRetentionViewSet(viewsets.GenericViewSet[Model]):
    """The default policy: `GET` for any signed-in user, `PUT` for system admins."""

    permission_classes = [IsAuthenticated]
    filter_backends: list[Any] = []
    pagination_class = None

    @extend_schema(operation_id="retention_default_retrieve", responses={200: DefaultPolicySerializer})
    @action(detail=False, methods=["get"], url_path="retention-default")
    def retention_default(self, request: Request) -> Response:
        """The default policy (empty and disabled until a system admin sets it)."""
        return Response(DefaultPolicySerializer(_default_body()).data)

    @extend_schema(
        operation_id="retention_default_update",
        request=RetentionPolicyInputSerializer,
        responses={200: DefaultPolicySerializer},
    )
    @retention_default.mapping.put
    def replace_retention_default(self, request: Request) -> Response:
        """Replace the default (audited); a 400 names problems by field path (`rules.2.n`)."""
        require_default_retention_manager(request.user)
        body = RetentionPolicyInputSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        retention_defaults.save_default(request_actor(request), user=request.user, **body.validated_data)
        return Response(DefaultPolicySerializer(_default_body()).data)


class EffectiveRetentionViewSet(ProjectRetentionViewSet[Model]):
    """The policy governing a project now, with its origin (`Perm.VIEW_RETENTION`)."""

    action_perms = {"effective_retention_policy": Perm.VIEW_RETENTION}
    pagination_class = None
    filter_backends: list[Any] = []
    project: Project

    @extend_schema(responses={200: EffectivePolicySerializer})
    @action(detail=False, methods=["get"], url_path="effective-retention-policy")
    def effective_retention_policy(self, request: Request, project_name: str) -> Response:
        """Its own policy if it has rules, else the system default (unless it opted out
        where the site allows), else none."""
        effective = retention_defaults.effective_policy(self.project)
        body = {"origin": effective.origin.value, "opted_out": effective.opted_out, "policy": effective.data}
        return Response(EffectivePolicySerializer(body).data)
