"""Routes of the REST API, mounted at /api/v1/."""

from __future__ import annotations

from django.urls import URLPattern, URLResolver, path
from rest_framework.routers import SimpleRouter

from accounts.api.me import MeView
from accounts.api.tokens import TokenViewSet
from accounts.api.users import UserViewSet
from audit.api.views import ProjectAuditEventViewSet, SystemAuditEventViewSet
from repositories.api.artifacts import ArtifactViewSet
from repositories.api.members import MemberViewSet
from repositories.api.projects import ProjectViewSet
from repositories.api.registry_base import REPOSITORY_PREFIX
from repositories.api.repositories import ProjectRepositoryViewSet, RepositoryViewSet
from repositories.api.sync_runs import ProjectSyncRunViewSet, SyncRunViewSet
from repositories.api.tags import TagViewSet

app_name = "api"

# Project names may contain '.', so nested routes take everything up to the next '/'.
_PROJECT = r"projects/(?P<project_name>[^/]+)"

router = SimpleRouter()
router.register("projects", ProjectViewSet, basename="project")
router.register(rf"{_PROJECT}/members", MemberViewSet, basename="project-member")
router.register(rf"{_PROJECT}/audit-events", ProjectAuditEventViewSet, basename="project-audit-event")
router.register("audit-events", SystemAuditEventViewSet, basename="audit-event")
router.register(rf"{_PROJECT}/repositories", ProjectRepositoryViewSet, basename="project-repository")
router.register(rf"{_PROJECT}/sync-runs", ProjectSyncRunViewSet, basename="project-sync-run")
# Repositories by full name, slashes and all; sub-resources after `/-/` (see registry_base).
router.register(rf"{REPOSITORY_PREFIX}/-/tags", TagViewSet, basename="tag")
router.register(rf"{REPOSITORY_PREFIX}/-/artifacts", ArtifactViewSet, basename="artifact")
router.register("repositories", RepositoryViewSet, basename="repository")
router.register("sync-runs", SyncRunViewSet, basename="sync-run")
router.register("users", UserViewSet, basename="user")
router.register("tokens", TokenViewSet, basename="token")

urlpatterns: list[URLPattern | URLResolver] = [
    path("me/", MeView.as_view(), name="me"),
    *router.urls,
]
