"""OpenAPI pieces shared by several API modules."""

from __future__ import annotations

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter

PROJECT_NAME_PARAMETER = OpenApiParameter(
    "project_name", OpenApiTypes.STR, OpenApiParameter.PATH, description="The project's name."
)
"""The `{project_name}` of nested routes, which no model field of their own describes."""
