"""OpenAPI pieces shared by several API modules."""

from __future__ import annotations

from typing import Any, ClassVar

from django.conf import settings
from django.utils import translation
from django.utils.translation import gettext_lazy
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter
from drf_spectacular.views import SpectacularAPIView
from rest_framework.request import Request
from rest_framework.response import Response

PROJECT_NAME_PARAMETER = OpenApiParameter(
    "project_name", OpenApiTypes.STR, OpenApiParameter.PATH, description=gettext_lazy("The project's name.")
)
"""The `{project_name}` of nested routes, which no model field of their own describes."""


class CachedSchemaView(SpectacularAPIView):
    """`/api/schema/`, generated once per process and API version instead of per request.

    The schema only changes with the code (`SERVE_PUBLIC`: it is the same document for
    every caller), and generating it walks every serializer: 0.6–2 s per request on
    a busy 2-core machine, which the crawl flagged as the slowest page Wharf had.

    Its descriptions are in the request's language (the caller's `Accept-Language` or
    saved choice, or `?lang=zh-hans`, which drf-spectacular's view activates), so there
    is one cached document per language.
    """

    _cache: ClassVar[dict[tuple[str | None, str, str], dict[str, Any]]] = {}

    def _get_schema_response(self, request: Request) -> Response:
        version = self.api_version or request.version or self._get_version_parameter(request)
        key = (version, str(settings.ROOT_URLCONF), translation.get_language() or "")
        if key not in self._cache:
            generator = self.generator_class(urlconf=self.urlconf, api_version=version, patterns=self.patterns)
            self._cache[key] = generator.get_schema(request=request, public=self.serve_public)
        return Response(
            data=self._cache[key],
            headers={"Content-Disposition": f'inline; filename="{self._get_filename(request, version)}"'},
        )
