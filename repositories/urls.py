"""Page URLs of the repositories app."""

from __future__ import annotations

from django.urls import URLPattern, URLResolver, path, register_converter
from django.views.generic import RedirectView

from .views import artifacts, logs, members, projects, repositories, sync, tags


class RepositoryPathConverter:
    """A repository name inside its project (`app`, `team/app`): components as the
    registry allows them (lowercase, digits, `._-` separators, never leading), so
    the `-` component that starts sub-pages (`.../app/-/artifacts/...`, as GitLab
    does) can never be part of a name."""

    regex = r"[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*(?:/[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*)*"

    def to_python(self, value: str) -> str:
        return value

    def to_url(self, value: str) -> str:
        return value


register_converter(RepositoryPathConverter, "repo")

REPO = "projects/<str:name>/repositories/<repo:repo>/"

app_name = "projects"
urlpatterns: list[URLPattern | URLResolver] = [
    path("", RedirectView.as_view(pattern_name="projects:list"), name="home"),
    path("projects/", projects.project_list, name="list"),
    # Before <name>/: "new" is therefore not usable as a project name in the pages.
    path("projects/new/", projects.project_create, name="create"),
    path("projects/<str:name>/", projects.project_detail, name="detail"),
    path("projects/<str:name>/edit/", projects.project_update, name="update"),
    path("projects/<str:name>/delete/", projects.project_delete, name="delete"),
    path("projects/<str:name>/members/", members.member_list, name="members"),
    path("projects/<str:name>/members/add/", members.member_add, name="member_add"),
    path("projects/<str:name>/members/<int:pk>/role/", members.member_role, name="member_role"),
    path("projects/<str:name>/members/<int:pk>/remove/", members.member_remove, name="member_remove"),
    path("projects/<str:name>/logs/", logs.project_logs, name="logs"),
    path("projects/<str:name>/logs/export.csv", logs.project_logs_export, name="logs_export"),
    path("projects/<str:name>/repositories/", repositories.repository_list, name="repositories"),
    path("projects/<str:name>/repositories/-/sync/", sync.project_sync, name="project_sync"),
    path(REPO, repositories.repository_detail, name="repository"),
    path(REPO + "-/sync/", sync.repository_sync, name="repository_sync"),
    path(REPO + "-/tags/delete/", tags.tags_delete, name="tags_delete"),
    path(REPO + "-/tags/<str:tag>/delete/", tags.tag_delete, name="tag_delete"),
    path(REPO + "-/artifacts/<str:digest>/", artifacts.artifact_detail, name="artifact"),
    path(REPO + "-/artifacts/<str:digest>/delete/", artifacts.artifact_delete, name="artifact_delete"),
    path("sync/", sync.sync_run_list, name="sync_runs"),
    path("sync/run/", sync.sync_registry, name="sync_registry"),
    path("sync/<int:pk>/", sync.sync_run_detail, name="sync_run"),
    path("sync/<int:pk>/status/", sync.sync_status, name="sync_status"),
]
