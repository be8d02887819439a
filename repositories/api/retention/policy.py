"""`retention-policy/`, `retention-policy/preview/` and `immutable-rules/` of a project.

Each is one resource per project, so they are actions of viewsets registered at the
project's own prefix (`projects/{project_name}`), not list/detail routes.
"""

from __future__ import annotations

from collections import defaultdict
from typing import Any

from django.core.exceptions import ValidationError
from django.db.models import Model
from django.utils.translation import gettext_lazy
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework.decorators import action
from rest_framework.request import Request
from rest_framework.response import Response

from accounts.permissions import Perm
from portal.api.actors import request_actor
from portal.api.filters import query_bool

from ... import retention as engine
from ...models import Repository, RetentionPolicy
from ...services.retention import (
    immutable_data,
    policy_data,
    repository_path,
    save_immutable_rules,
    save_policy,
)
from ...services.retention_advisor import advice_body, advised_preview
from ..retention_serializers import (
    AdviceSerializer,
    ImmutableRulesInputSerializer,
    ImmutableRulesSerializer,
    PreviewSerializer,
    RetentionPolicyInputSerializer,
    RetentionPolicySerializer,
)
from .base import ProjectRetentionViewSet

DETAIL_PARAMETER = OpenApiParameter(
    "detail",
    OpenApiTypes.BOOL,
    OpenApiParameter.QUERY,
    description=gettext_lazy("Also list every artifact of each repository, its tags, decision and reason."),
)


ADVICE_PARAMETER = OpenApiParameter(
    "advice",
    OpenApiTypes.BOOL,
    OpenApiParameter.QUERY,
    description=gettext_lazy(
        "Also answer `advice`: dedup-aware bytes freed, deleted artifacts pulled in the last 7/30/90 days "
        "and warnings for recent pulls and deployed images (`AdviceSerializer`)."
    ),
)


class RetentionPolicyViewSet(ProjectRetentionViewSet[Model]):
    """The project's retention policy: reading it needs `Perm.VIEW_RETENTION`; replacing
    it and previewing an unsaved one, `Perm.MANAGE_RETENTION`."""

    action_perms = {
        "retention_policy": Perm.VIEW_RETENTION,
        "replace_retention_policy": Perm.MANAGE_RETENTION,
        "preview": Perm.MANAGE_RETENTION,
    }
    pagination_class = None
    filter_backends: list[Any] = []

    def _policy(self) -> dict[str, Any]:
        row = RetentionPolicy.objects.select_related("updated_by").filter(project=self.project).first()
        data = policy_data(row)
        data["updated_at"] = row.updated_at if row else None
        data["updated_by"] = row.updated_by.username if row and row.updated_by else None
        return data

    @extend_schema(responses={200: RetentionPolicySerializer})
    @action(detail=False, methods=["get"], url_path="retention-policy")
    def retention_policy(self, request: Request, project_name: str) -> Response:
        """The saved policy; a project without one shows an empty, disabled policy."""
        return Response(RetentionPolicySerializer(self._policy()).data)

    @extend_schema(request=RetentionPolicyInputSerializer, responses={200: RetentionPolicySerializer})
    @retention_policy.mapping.put
    def replace_retention_policy(self, request: Request, project_name: str) -> Response:
        """Replace the policy (audited). A 400 names each problem by field path, rules
        numbered from 1: `schedule`, `rules`, `rules.2.n`, `rules.2.tags.include.0`."""
        serializer = RetentionPolicyInputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        save_policy(self.project, request_actor(request), user=request.user, **serializer.validated_data)
        return Response(RetentionPolicySerializer(self._policy()).data)

    @extend_schema(
        request=RetentionPolicyInputSerializer,
        responses={200: PreviewSerializer},
        parameters=[DETAIL_PARAMETER, ADVICE_PARAMETER],
    )
    @action(detail=False, methods=["post"], url_path="retention-policy/preview")
    def preview(self, request: Request, project_name: str) -> Response:
        """What a policy (saved or not; nothing is saved) would keep and delete now, per
        repository, with the immutable rules in force. `enabled` and `schedule` are ignored."""
        serializer = RetentionPolicyInputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        with advised_preview(
            self.project, serializer.validated_data, advice=bool(query_bool(request.query_params, "advice"))
        ) as (evaluation, advice):
            body = preview_body(
                evaluation, self._full_names(), detail=bool(query_bool(request.query_params, "detail"))
            )
            del evaluation
            data = PreviewSerializer(body).data
            if advice is not None:
                data["advice"] = AdviceSerializer(advice_body(advice())).data
        return Response(data)

    def _full_names(self) -> dict[str, str]:
        names = Repository.objects.filter(project=self.project).values_list("name", flat=True)
        return {repository_path(self.project, name): name for name in names}


def preview_body(
    evaluation: engine.Evaluation, full_names: dict[str, str], *, detail: bool
) -> dict[str, Any]:
    """The preview as `PreviewSerializer` data: the engine's per-repository summaries,
    totals, and with `detail` every artifact with its tags, decision and reason."""
    repositories: list[dict[str, Any]] = []
    for summary in evaluation.summaries():
        repositories.append(
            {
                "repository": full_names.get(summary.repository, summary.repository),
                "path": summary.repository,
                "matched": summary.matched,
                "kept_artifacts": summary.kept_artifacts,
                "deleted_artifacts": summary.deleted_artifacts,
                "kept_tags": summary.kept_tags,
                "deleted_tags": summary.deleted_tags,
            }
        )
    if detail:
        tags_of: dict[tuple[str, str], list[dict[str, Any]]] = defaultdict(list)
        for tag in evaluation.tags:
            tags_of[(tag.repository, tag.digest)].append({"name": tag.name, "protected_by": tag.protected_by})
        artifacts_of: dict[str, list[dict[str, Any]]] = defaultdict(list)
        for decision in evaluation.artifacts:
            artifacts_of[decision.repository].append(
                {
                    "digest": decision.digest,
                    "kept": decision.kept,
                    "code": decision.code.value,
                    "reason": decision.reason,
                    "rule": decision.rule,
                    "owner": decision.owner,
                    "tags": tags_of.get((decision.repository, decision.digest), []),
                }
            )
        for row in repositories:
            row["artifacts"] = artifacts_of.get(row["path"], [])
    totals = {
        key: sum(row[key] for row in repositories)
        for key in ("kept_artifacts", "deleted_artifacts", "kept_tags", "deleted_tags")
    }
    return {"totals": totals, "repositories": repositories}


def _renamed(exc: ValidationError) -> ValidationError:
    """The service names immutable rules `immutable.N...` (the page's form); the API's
    field is `rules`, so its errors say `rules.N...`."""
    if not hasattr(exc, "error_dict"):
        return exc
    renamed = {}
    for field, errors in exc.error_dict.items():
        if field == "immutable" or field.startswith("immutable."):
            field = "rules" + field[len("immutable") :]
        renamed[field] = errors
    return ValidationError(renamed)


class ImmutableRulesViewSet(ProjectRetentionViewSet[Model]):
    """The project's immutable tag rules and whether overwrites of protected tags are
    reverted: reading needs `Perm.VIEW_RETENTION`, replacing `Perm.MANAGE_IMMUTABLE`."""

    action_perms = {
        "immutable_rules": Perm.VIEW_RETENTION,
        "replace_immutable_rules": Perm.MANAGE_IMMUTABLE,
    }
    pagination_class = None
    filter_backends: list[Any] = []

    @extend_schema(responses={200: ImmutableRulesSerializer})
    @action(detail=False, methods=["get"], url_path="immutable-rules")
    def immutable_rules(self, request: Request, project_name: str) -> Response:
        """The rules in order (numbered from 1, as reasons name them) and the revert setting."""
        return Response(ImmutableRulesSerializer(immutable_data(self.project)).data)

    @extend_schema(request=ImmutableRulesInputSerializer, responses={200: ImmutableRulesSerializer})
    @immutable_rules.mapping.put
    def replace_immutable_rules(self, request: Request, project_name: str) -> Response:
        """Replace the rules and the revert setting (audited). A 400 names each problem
        by field path: `rules.1.tags.include`."""
        serializer = ImmutableRulesInputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        try:
            save_immutable_rules(
                self.project, request_actor(request), user=request.user, **serializer.validated_data
            )
        except ValidationError as exc:
            raise _renamed(exc) from None
        return Response(ImmutableRulesSerializer(immutable_data(self.project)).data)
