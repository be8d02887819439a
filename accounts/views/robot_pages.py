"""What the project Robots tab and the system robots page share: listing, creating
(the secret rendered into that one response), enabling/disabling, regenerating and
deleting robot accounts. The two pages differ only in their `RobotScope`.

Secrets never go into a flash message, a redirect or the session: they are
rendered into the response to the POST that made them, sent `Cache-Control:
no-store`, and gone on the next request.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.db.models import QuerySet
from django.http import HttpResponse
from django.shortcuts import redirect
from django.utils.translation import gettext as _
from django_htmx.http import HttpResponseClientRedirect

from audit.context import Actor
from portal import keyset
from portal.keyset import Ordering

from ..forms import apply_validation_error
from ..forms_robots import RobotCreateForm
from ..models import RobotAccount
from ..registry_commands import is_local_host, login_commands, registry_host
from ..services.robots import create_robot, delete_robot, regenerate_secret, set_robot_enabled
from .http import HtmxHttpRequest, render_page

ROBOTS_PER_PAGE = 50
# By name, by cursor (`portal.keyset`): a project's through `robot_unique_project_name`,
# the system robots through `robot_unique_system_name` (partial: project IS NULL).
ROBOT_ORDERING = Ordering("name", ("name",))


@dataclass
class RobotScope:
    """Where the robots live: a project's tab (`project` set) or the system page.

    `url` turns an action name ("list", "enabled", "regenerate", "delete") and an
    optional robot pk into that page's URL; `context` is the page's base context
    (tabs and permissions for a project page); `create` calls the service with the
    scope's own arguments (the project, or the chosen project names)."""

    project: Any
    template: str
    url: Callable[..., str]
    context: dict[str, Any]
    can_manage: bool
    make_form: Callable[..., RobotCreateForm]
    create_kwargs: Callable[[RobotCreateForm], dict[str, Any]] = field(default=lambda form: {})

    def robots(self) -> QuerySet[RobotAccount]:
        if self.project is None:
            return (
                RobotAccount.objects.filter(project__isnull=True)
                .select_related("created_by")
                .order_by("name")
            )
        return self.project.robots.select_related("project", "created_by").order_by("name")


def secret_context(robot: RobotAccount, secret: str) -> dict[str, Any]:
    """What the one-time secret panel shows: the login name, the secret, the commands."""
    host = registry_host()
    return {
        "secret_robot": robot,
        "secret": secret,
        "login_commands": login_commands(robot.full_name, host),
        "local_registry": is_local_host(host),
        "registry_host": host,
    }


def no_store(response: HttpResponse) -> HttpResponse:
    """The response may hold a secret: no cache (browser, proxy, back button) keeps it."""
    response["Cache-Control"] = "no-store"
    return response


def render_list(
    request: HtmxHttpRequest,
    scope: RobotScope,
    *,
    form: RobotCreateForm | None = None,
    extra: dict[str, Any] | None = None,
    status: int = 200,
) -> HttpResponse:
    listed = keyset.page_context(scope.robots(), ROBOT_ORDERING, request.GET, ROBOTS_PER_PAGE)
    robots = listed["page"].rows
    for robot in robots:
        robot.urls = {  # type: ignore[attr-defined]
            action: scope.url(action, robot.pk) for action in ("enabled", "regenerate", "delete")
        }
    context = (
        scope.context
        | listed
        | {
            "robots": robots,
            "form": form if form is not None else scope.make_form(),
            "can_manage_robots": scope.can_manage,
            "create_url": scope.url("list"),
            "system_scope": scope.project is None,
        }
        | (extra or {})
    )
    return no_store(render_page(request, scope.template, "robots", context, status=status))


def handle_list(request: HtmxHttpRequest, scope: RobotScope) -> HttpResponse:
    """GET: the list and (for managers) the create form. POST: create, then the same
    page with the new secret shown once; service errors inline on the form (400)."""
    if request.method != "POST":
        return render_list(request, scope)
    form = scope.make_form(request.POST)
    if form.is_valid():
        try:
            robot, secret = create_robot(
                actor=Actor.from_request(request),
                created_by=request.user,
                project=scope.project,
                name=form.cleaned_data["name"],
                description=form.cleaned_data["description"],
                actions=form.cleaned_data["actions"],
                repository_patterns=form.patterns(),
                expires_at=form.expires_at(),
                **scope.create_kwargs(form),
            )
        except ValidationError as exc:
            apply_validation_error(form, exc)
        else:
            return render_list(request, scope, extra=secret_context(robot, secret))
    return render_list(request, scope, form=form, status=400)


def handle_enabled(request: HtmxHttpRequest, scope: RobotScope, robot: RobotAccount) -> HttpResponse:
    """POST enabled=1|0: switch the robot on or off; back to the list."""
    enabled = request.POST.get("enabled") == "1"
    set_robot_enabled(robot, enabled, actor=Actor.from_request(request))
    text = _("%(name)s enabled.") if enabled else _("%(name)s disabled.")
    messages.success(request, text % {"name": robot.full_name})
    return back(request, scope)


def handle_regenerate(request: HtmxHttpRequest, scope: RobotScope, robot: RobotAccount) -> HttpResponse:
    """GET: the confirmation (modal for htmx, else a page). POST: a new secret, shown
    once in the modal (or as a page); the old secret stops working at once."""
    if request.method == "POST":
        secret = regenerate_secret(robot, actor=Actor.from_request(request))
        context = scope.context | secret_context(robot, secret) | {"list_url": scope.url("list")}
        return no_store(render_page(request, "robots/regenerated.html", "dialog", context))
    context = {
        "title": _("Regenerate the secret of %(full_name)s?") % {"full_name": robot.full_name},
        "message": _(
            "The current secret stops working at once; pipelines using it must be given the new one."
        ),
        "action": scope.url("regenerate", robot.pk),
        "confirm_label": _("Regenerate secret"),
        "cancel_url": scope.url("list"),
    }
    return render_page(request, "confirm.html", "dialog", context)


def handle_delete(request: HtmxHttpRequest, scope: RobotScope, robot: RobotAccount) -> HttpResponse:
    """GET: the confirmation (modal for htmx, else a page). POST: delete; back to the list."""
    if request.method == "POST":
        delete_robot(robot, actor=Actor.from_request(request))
        messages.success(request, _("%(full_name)s deleted.") % {"full_name": robot.full_name})
        return back(request, scope)
    context = {
        "title": _("Delete %(full_name)s?") % {"full_name": robot.full_name},
        "message": _("Pipelines using this robot account can no longer log in. This cannot be undone."),
        "action": scope.url("delete", robot.pk),
        "confirm_label": _("Delete robot account"),
        "cancel_url": scope.url("list"),
    }
    return render_page(request, "confirm.html", "dialog", context)


def back(request: HtmxHttpRequest, scope: RobotScope) -> HttpResponse:
    url = scope.url("list")
    return HttpResponseClientRedirect(url) if request.htmx else redirect(url)
