"""Sync from the pages: the "Sync now" buttons of a project and a repository, the
status box that polls while a run is queued or running, and the system admins'
list of every run.

A button asks `request_sync`, which hands back the run already queued or running
for the same scope rather than starting a second one; the task is enqueued only
for a new run, after commit.
"""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.http import HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from accounts.permissions import Perm
from accounts.views.http import HtmxHttpRequest, is_system_admin, render_page, system_admin_required
from audit.context import Actor

from ..access import get_project, get_repository_in
from ..models import Project, SyncRun
from ..services.sync import request_sync
from ..tasks import enqueue_sync
from .repositories import repository_url

RUNS_PER_PAGE = 25
STATUS_TEMPLATE = "repositories/sync_status.html"


def _queue(request: HtmxHttpRequest, **scope: object) -> SyncRun:
    run, created = request_sync(actor=Actor.from_request(request), user=request.user, **scope)  # type: ignore[arg-type]
    if created:
        enqueue_sync(run)
        messages.success(request, _("Sync #%(pk)s queued.") % {"pk": run.pk})
    else:
        messages.info(request, _("Sync #%(pk)s is already %(status)s.") % {"pk": run.pk, "status": run.get_status_display().lower()})
    return run


def _status_response(request: HtmxHttpRequest, run: SyncRun) -> HttpResponse:
    """The status box alone, with the flash messages out of band."""
    return render(request, STATUS_TEMPLATE, {"sync_run": run, "with_messages": True})


@login_required
@require_POST
def project_sync(request: HtmxHttpRequest, name: str) -> HttpResponse:
    project = get_project(request.user, name, Perm.SYNC)
    run = _queue(request, scope=SyncRun.Scope.PROJECT, project=project)
    if request.htmx:
        return _status_response(request, run)
    return redirect("projects:repositories", project.name)


@login_required
@require_POST
def repository_sync(request: HtmxHttpRequest, name: str, repo: str) -> HttpResponse:
    project = get_project(request.user, name, Perm.SYNC)
    repository = get_repository_in(project, repo)
    run = _queue(request, scope=SyncRun.Scope.REPOSITORY, project=project, repository=repository.name)
    if request.htmx:
        return _status_response(request, run)
    return redirect(repository_url(repository))


def _visible_run(request: HtmxHttpRequest, pk: int) -> SyncRun:
    """A run for system admins, or one of a project where the user may sync;
    404 for a project's run the user may not see (via `get_project`)."""
    run = get_object_or_404(SyncRun.objects.select_related("project", "requested_by"), pk=pk)
    if is_system_admin(request.user):
        return run
    if run.project is None:
        raise PermissionDenied(_("Only system admins may see registry-wide syncs."))
    project: Project = get_project(request.user, run.project.name, Perm.SYNC)
    run.project = project
    return run


@login_required
def sync_status(request: HtmxHttpRequest, pk: int) -> HttpResponse:
    """The status box of one run; htmx polls it every 2 s until the run ends."""
    run = _visible_run(request, pk)
    return render(request, STATUS_TEMPLATE, {"sync_run": run})


# --- system admins: every run -----------------------------------------------------


@system_admin_required
def sync_run_list(request: HtmxHttpRequest) -> HttpResponse:
    runs = SyncRun.objects.select_related("project", "requested_by").defer("errors").order_by("-created_at", "-id")
    page = Paginator(runs, RUNS_PER_PAGE).get_page(request.GET.get("page"))
    context = {"nav": "sync", "page": page, "query": ""}
    return render_page(request, "repositories/sync_runs.html", "runs", context)


@system_admin_required
@require_POST
def sync_registry(request: HtmxHttpRequest) -> HttpResponse:
    run = _queue(request, scope=SyncRun.Scope.REGISTRY)
    return redirect("projects:sync_run", run.pk)


@system_admin_required
def sync_run_detail(request: HtmxHttpRequest, pk: int) -> HttpResponse:
    run = get_object_or_404(SyncRun.objects.select_related("project", "requested_by"), pk=pk)
    context = {
        "nav": "sync",
        "run": run,
        "sync_run": run,
        "errors": run.errors if isinstance(run.errors, list) else [],
        "list_url": reverse("projects:sync_runs"),
    }
    return render(request, "repositories/sync_run.html", context)
