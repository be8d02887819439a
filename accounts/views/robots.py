"""The system robots page (`/robots/`): robot accounts spanning several projects,
for system admins only. The shared mechanics live in `robot_pages`."""

from __future__ import annotations

from typing import Any

from django.http import HttpResponse
from django.shortcuts import get_object_or_404
from django.urls import reverse
from django.views.decorators.http import require_http_methods, require_POST

from repositories.models import Project

from ..forms_robots import RobotCreateForm, SystemRobotCreateForm
from ..models import RobotAccount
from . import robot_pages
from .http import HtmxHttpRequest, system_admin_required

_URL_NAMES = {
    "list": "accounts:robots",
    "enabled": "accounts:robot_enabled",
    "regenerate": "accounts:robot_regenerate",
    "delete": "accounts:robot_delete",
}


def _url(action: str, pk: int | None = None) -> str:
    return reverse(_URL_NAMES[action], args=[] if pk is None else [pk])


def _make_form(*args: Any, **kwargs: Any) -> RobotCreateForm:
    names = list(Project.objects.order_by("name").values_list("name", flat=True))
    return SystemRobotCreateForm(*args, project_names=names, **kwargs)


def _scope() -> robot_pages.RobotScope:
    return robot_pages.RobotScope(
        project=None,
        template="robots/system.html",
        url=_url,
        context={"nav": "robots"},
        can_manage=True,
        make_form=_make_form,
        create_kwargs=lambda form: {"project_names": form.cleaned_data["projects"]},
    )


def _robot(pk: int) -> RobotAccount:
    return get_object_or_404(RobotAccount, pk=pk, project__isnull=True)


@system_admin_required
@require_http_methods(["GET", "POST"])
def robot_list(request: HtmxHttpRequest) -> HttpResponse:
    return robot_pages.handle_list(request, _scope())


@system_admin_required
@require_POST
def robot_enabled(request: HtmxHttpRequest, pk: int) -> HttpResponse:
    return robot_pages.handle_enabled(request, _scope(), _robot(pk))


@system_admin_required
@require_http_methods(["GET", "POST"])
def robot_regenerate(request: HtmxHttpRequest, pk: int) -> HttpResponse:
    return robot_pages.handle_regenerate(request, _scope(), _robot(pk))


@system_admin_required
@require_http_methods(["GET", "POST"])
def robot_delete(request: HtmxHttpRequest, pk: int) -> HttpResponse:
    return robot_pages.handle_delete(request, _scope(), _robot(pk))
