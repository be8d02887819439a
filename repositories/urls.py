"""Page URLs of the repositories app."""

from __future__ import annotations

from django.urls import URLPattern, URLResolver, path
from django.views.generic import RedirectView

from .views import logs, members, projects

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
]
