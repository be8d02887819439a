"""What the repository, tag and artifact endpoints share: the URL grammar, the
repository lookup with its permission check, and the answer when the registry
refuses a change.

URL design: a repository's full registry name (`team/app/sub`, or `alpine` in the
default project) is the resource key, with its slashes written literally:
`/api/v1/repositories/team/app/sub/`. The name alone is unambiguous, where a path
relative to the project is not (`library/alpine` and `alpine` both live in
`library`). Sub-resources follow a GitLab-style `/-/` separator
(`/api/v1/repositories/team/app/-/tags/`): `-` can never be a path component of an
OCI repository name, so every URL routes one way only.
"""

from __future__ import annotations

from typing import Any, TypeVar

from django.db.models import Model
from django.utils.translation import gettext_lazy
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse
from rest_framework import status, viewsets
from rest_framework.permissions import SAFE_METHODS
from rest_framework.request import Request

from accounts.permissions import Perm
from portal.api.errors import ApiError

from ..access import get_repository
from ..models import Repository
from ..services.artifacts import RegistryActionFailed

# The OCI distribution spec's grammar: lowercase components joined by '/'.
_COMPONENT = r"[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*"
REPOSITORY_NAME_REGEX = rf"{_COMPONENT}(?:/{_COMPONENT})*"
TAG_REGEX = r"[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}"
DIGEST_REGEX = r"[a-z0-9]+(?:[+._-][a-z0-9]+)*:[a-zA-Z0-9=_-]+"

REPOSITORY_PREFIX = rf"repositories/(?P<repository_name>{REPOSITORY_NAME_REGEX})"
"""The router prefix of the repository sub-resources (followed by `/-/...`)."""

REPOSITORY_NAME_PARAMETER = OpenApiParameter(
    "repository_name",
    OpenApiTypes.STR,
    OpenApiParameter.PATH,
    description=gettext_lazy("The repository's full registry name, slashes written as they are (e.g. `team/app`)."),
)


M = TypeVar("M", bound=Model)


class RepositoryScopedViewSet(viewsets.GenericViewSet[M]):
    """A viewset under `/repositories/{repository_name}/-/`: reads need
    `Perm.VIEW_REPOSITORIES`, every change `write_perm`, both decided before the
    action runs (after authentication, so anonymous callers get 401 first)."""

    write_perm = Perm.DELETE_ARTIFACT
    repository: Repository

    def initial(self, request: Request, *args: Any, **kwargs: Any) -> None:
        super().initial(request, *args, **kwargs)
        perm = Perm.VIEW_REPOSITORIES if request.method in SAFE_METHODS else self.write_perm
        self.repository = get_repository(request.user, kwargs["repository_name"], perm)

    def get_serializer_context(self) -> dict[str, Any]:
        context = super().get_serializer_context()
        context["repository"] = getattr(self, "repository", None)
        return context


REGISTRY_ERROR_RESPONSES = {
    502: OpenApiResponse(description=gettext_lazy("The registry refused the change; nothing changed.")),
    503: OpenApiResponse(description=gettext_lazy("The registry is unavailable; nothing changed. Try again later.")),
}


def registry_failure(exc: RegistryActionFailed) -> ApiError:
    """The error to raise when the registry did not carry out a change (Wharf changed
    nothing): 503 when trying again later may work, 502 when the registry refused for good."""
    code = status.HTTP_503_SERVICE_UNAVAILABLE if exc.transient else status.HTTP_502_BAD_GATEWAY
    return ApiError(code, exc.message)
