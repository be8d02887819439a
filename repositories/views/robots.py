"""The project's Robots tab: its robot accounts (``robot$project+name``) for CI.

Developers and up see the list; Project Admins create, switch off, regenerate and
delete. The shared mechanics live in `accounts.views.robot_pages`.
"""

from __future__ import annotations

from typing import Any

from django.contrib.auth.decorators import login_required
from django.http import HttpResponse
from django.shortcuts import get_object_or_404
from django.urls import reverse
from django.views.decorators.http import require_http_methods, require_POST

from accounts.forms_robots import RobotCreateForm
from accounts.models import RobotAccount
from accounts.permissions import Perm
from accounts.views import robot_pages
from accounts.views.http import HtmxHttpRequest

from ..access import get_project
from ..models import Project
from .tabs import project_context

_URL_NAMES = {
    "list": "projects:robots",
    "enabled": "projects:robot_enabled",
    "regenerate": "projects:robot_regenerate",
    "delete": "projects:robot_delete",
}


def _scope(request: HtmxHttpRequest, name: str, perm: Perm) -> robot_pages.RobotScope:
    project: Project = get_project(request.user, name, perm)

    def url(action: str, pk: int | None = None) -> str:
        args: list[Any] = [project.name] if pk is None else [project.name, pk]
        return reverse(_URL_NAMES[action], args=args)

    return robot_pages.RobotScope(
        project=project,
        template="robots/project.html",
        url=url,
        context=project_context(project, "robots"),
        can_manage=Perm.MANAGE_ROBOTS in project.perms,  # type: ignore[attr-defined]
        make_form=RobotCreateForm,
    )


def _robot(scope: robot_pages.RobotScope, pk: int) -> RobotAccount:
    return get_object_or_404(RobotAccount.objects.select_related("project"), pk=pk, project=scope.project)


@login_required
@require_http_methods(["GET", "POST"])
def robot_list(request: HtmxHttpRequest, name: str) -> HttpResponse:
    perm = Perm.MANAGE_ROBOTS if request.method == "POST" else Perm.VIEW_ROBOTS
    return robot_pages.handle_list(request, _scope(request, name, perm))


@login_required
@require_POST
def robot_enabled(request: HtmxHttpRequest, name: str, pk: int) -> HttpResponse:
    scope = _scope(request, name, Perm.MANAGE_ROBOTS)
    return robot_pages.handle_enabled(request, scope, _robot(scope, pk))


@login_required
@require_http_methods(["GET", "POST"])
def robot_regenerate(request: HtmxHttpRequest, name: str, pk: int) -> HttpResponse:
    scope = _scope(request, name, Perm.MANAGE_ROBOTS)
    return robot_pages.handle_regenerate(request, scope, _robot(scope, pk))


@login_required
@require_http_methods(["GET", "POST"])
def robot_delete(request: HtmxHttpRequest, name: str, pk: int) -> HttpResponse:
    scope = _scope(request, name, Perm.MANAGE_ROBOTS)
    return robot_pages.handle_delete(request, scope, _robot(scope, pk))
