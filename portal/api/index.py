"""`/api/v1/`: what the API holds, as links a client (or a person) can follow."""

from __future__ import annotations

from typing import Any, ClassVar

from django.urls import URLPattern, URLResolver, reverse
from django.utils.translation import gettext_lazy
from drf_spectacular.utils import extend_schema
from rest_framework import serializers
from rest_framework.permissions import AllowAny
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView


def top_level_resources(patterns: list[URLPattern | URLResolver]) -> dict[str, str]:
    """Resource name → URL name of every route of `patterns` that takes no
    parameter and sits one level down (`projects/`, `me/`, not `audit-events/export/`),
    so a resource added to the router is listed without anyone remembering to."""
    resources: dict[str, str] = {}
    for pattern in patterns:
        if not isinstance(pattern, URLPattern) or pattern.name is None or pattern.pattern.regex.groups:
            continue
        path = str(pattern.pattern).strip("^$").strip("/")
        if path and "/" not in path:
            resources[path] = pattern.name
    return dict(sorted(resources.items()))


class ApiIndexSerializer(serializers.Serializer[Any]):
    resources = serializers.DictField(
        child=serializers.URLField(), help_text=gettext_lazy("Each top-level resource's name and URL.")
    )
    schema = serializers.URLField(help_text=gettext_lazy("The OpenAPI schema of this API."))
    docs = serializers.URLField(help_text=gettext_lazy("Its documentation (Swagger UI)."))


class ApiIndexView(APIView):
    """The API's resources; nested ones (a project's members, a repository's tags)
    are reached from these."""

    # Links only, nothing about the data: a client may discover the API before it logs in.
    permission_classes = [AllowAny]
    namespace = "api"
    resources: ClassVar[dict[str, str]] = {}

    @extend_schema(operation_id="api_index", responses={200: ApiIndexSerializer})
    def get(self, request: Request) -> Response:
        def url(name: str) -> str:
            return request.build_absolute_uri(reverse(name))

        return Response(
            {
                "resources": {key: url(f"{self.namespace}:{name}") for key, name in self.resources.items()},
                "schema": url("api-schema"),
                "docs": url("api-docs"),
            }
        )
