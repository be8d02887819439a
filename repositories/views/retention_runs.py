"""Project → Retention → runs: history, run now / dry run, a run's items, stopping a run.

Reading needs `Perm.VIEW_RETENTION`; starting, confirming and stopping a run
`Perm.RUN_RETENTION`. A real run is confirmed first (in the modal with htmx), saying
how many artifacts the saved policy would delete now. A project has at most one queued
or running run: asking again gives that run back (`request_run`).
"""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Count, QuerySet
from django.http import HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_POST
from django_htmx.http import HttpResponseClientRedirect

from accounts.permissions import Perm
from accounts.views.http import HtmxHttpRequest, render_page
from audit.context import Actor
from portal import keyset
from portal.keyset import Ordering

from ..access import get_project
from ..models import Project, RetentionPolicy, RetentionRun, RetentionRunItem
from ..services.retention import policy_data, preview
from ..services.retention_runs import request_run, request_stop
from ..tasks import enqueue_retention
from .retention_policy import retention_context

RUNS_PER_PAGE = 25
ITEMS_PER_PAGE = 50


def _runs(project: Project) -> QuerySet[RetentionRun]:
    return RetentionRun.objects.filter(project=project).select_related("requested_by").defer("policy")


# Newest first, by cursor (`portal.keyset`) through `retention_run_project_created`; a run's
# items in the order the run took them, through `retention_item_run_outcome` / the (run, id) index.
RUN_ORDERING = Ordering("-created", ("created_at", "id"), descending=True)
ITEM_ORDERING = Ordering("id", ("id",))


@login_required
@require_GET
def run_list(request: HtmxHttpRequest, name: str) -> HttpResponse:
    project = get_project(request.user, name, Perm.VIEW_RETENTION)
    listed = keyset.page_context(_runs(project), RUN_ORDERING, request.GET, RUNS_PER_PAGE)
    context = retention_context(project, "runs")
    context.update(listed, runs=listed["page"].rows)
    return render_page(request, "retention/runs.html", "runs", context)


def _run_url(run: RetentionRun) -> str:
    return reverse("projects:retention_run", args=[run.project.name, run.pk])


@login_required
@require_POST
def run_start(request: HtmxHttpRequest, name: str) -> HttpResponse:
    """Queue a run (`dry_run=1`: a dry run) of the saved policy, then show it."""
    project = get_project(request.user, name, Perm.RUN_RETENTION)
    dry_run = request.POST.get("dry_run") in {"1", "true", "on"}
    try:
        with transaction.atomic():
            run, created = request_run(
                project, Actor.from_request(request), dry_run=dry_run, user=request.user
            )
            if created:
                enqueue_retention(run)
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
        url = reverse("projects:retention", args=[project.name])
        return HttpResponseClientRedirect(url) if request.htmx else redirect(url)
    if created:
        text = _("Dry run #%(pk)s queued.") if run.dry_run else _("Run #%(pk)s queued.")
        messages.success(request, text % {"pk": run.pk})
    else:
        text = (
            _("Dry run #%(pk)s is already %(status)s; showing it.")
            if run.dry_run
            else _("Run #%(pk)s is already %(status)s; showing it.")
        )
        messages.info(request, text % {"pk": run.pk, "status": run.get_status_display().lower()})
    run.project = project
    url = _run_url(run)
    return HttpResponseClientRedirect(url) if request.htmx else redirect(url)


@login_required
@require_GET
def run_confirm(request: HtmxHttpRequest, name: str) -> HttpResponse:
    """The confirmation of a real run: what the saved policy would delete now."""
    project = get_project(request.user, name, Perm.RUN_RETENTION)
    policy = RetentionPolicy.objects.filter(project=project).first()
    context: dict[str, object] = {
        "project": project,
        "cancel_url": reverse("projects:retention", args=[project.name]),
        "action": reverse("projects:retention_run_start", args=[project.name]),
    }
    if policy is None:
        context["problem"] = _("This project has no retention policy to run. Save one first.")
    else:
        try:
            evaluation = preview(project, policy_data(policy))
        except ValidationError as exc:
            context["problem"] = " ".join(exc.messages)
        else:
            deleted = evaluation.deleted
            context["artifacts"] = len(deleted)
            context["tags"] = sum(len(d.artifact.tags) for d in deleted)
            context["repositories"] = len({d.repository for d in deleted})
    return render_page(request, "retention/run_confirm.html", "dialog", context)


def _get_run(project: Project, pk: int) -> RetentionRun:
    run = get_object_or_404(RetentionRun.objects.select_related("requested_by"), project=project, pk=pk)
    run.project = project
    return run


OUTCOMES = RetentionRunItem.Outcome


@login_required
@require_GET
def run_detail(request: HtmxHttpRequest, name: str, pk: int) -> HttpResponse:
    """One run: its facts and counts (polled while it is active) and its items, filtered by outcome."""
    project = get_project(request.user, name, Perm.VIEW_RETENTION)
    run = _get_run(project, pk)
    outcome = request.GET.get("outcome", "")
    if outcome not in OUTCOMES.values:
        outcome = ""
    items = RetentionRunItem.objects.filter(run=run)
    if outcome:
        items = items.filter(outcome=outcome)
    listed = keyset.page_context(items, ITEM_ORDERING, request.GET, ITEMS_PER_PAGE)
    counts = dict(
        RetentionRunItem.objects.filter(run=run)
        .order_by()
        .values("outcome")
        .annotate(n=Count("id"))
        .values_list("outcome", "n")
    )
    context = retention_context(project, "runs")
    context.update(
        listed,
        run=run,
        outcome=outcome,
        outcomes=[
            (value, label, counts.get(value, 0)) for value, label in OUTCOMES.choices if counts.get(value)
        ],
        total_items=sum(counts.values()),
    )
    return render_page(request, "retention/run.html", "items", context)


@login_required
@require_GET
def run_status(request: HtmxHttpRequest, name: str, pk: int) -> HttpResponse:
    """The run's status box; htmx polls it every 2 s while the run is queued or running."""
    project = get_project(request.user, name, Perm.VIEW_RETENTION)
    run = _get_run(project, pk)
    if request.htmx and request.GET.get("active") and run.status not in RetentionRun.ACTIVE:
        # It ended while the page polled: reload it, so its items and counts show.
        response = HttpResponse(status=204)
        response["HX-Refresh"] = "true"
        return response
    return render(request, "retention/_run_status.html", _status_context(project, run))


def _status_context(project: Project, run: RetentionRun) -> dict[str, object]:
    perms: frozenset[Perm] = project.perms  # type: ignore[attr-defined]
    return {"run": run, "project": project, "can": {perm.value: True for perm in perms}}


@login_required
@require_POST
def run_stop(request: HtmxHttpRequest, name: str, pk: int) -> HttpResponse:
    """Stop a queued run at once, a running one before its next deletion."""
    project = get_project(request.user, name, Perm.RUN_RETENTION)
    run = _get_run(project, pk)
    if run.status in RetentionRun.ACTIVE:
        run = request_stop(run)
        run.project = project
        if run.status == RetentionRun.Status.STOPPED:
            messages.success(request, _("Run #%(pk)s stopped.") % {"pk": run.pk})
        else:
            messages.info(request, _("Run #%(pk)s stops before its next deletion.") % {"pk": run.pk})
    else:
        messages.warning(
            request,
            _("Run #%(pk)s has %(status)s already.")
            % {"pk": run.pk, "status": run.get_status_display().lower()},
        )
    if request.htmx:
        return render(
            request, "retention/_run_status.html", {"run": run, "project": project, "with_messages": True}
        )
    return redirect(_run_url(run))
