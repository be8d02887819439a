"""Garbage collection from the pages (system admins): the list of runs, "Run GC now" and
the schedule.

A refusal (not Wharf's own registry config, a GC or retention run active) is a form
error on the same page, never a 500; the task is enqueued after commit.
"""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import messages
from django.core.exceptions import ValidationError
from django.core.paginator import Paginator
from django.http import HttpResponse
from django.shortcuts import redirect
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _
from django.views.decorators.http import require_POST

from accounts.forms import BootstrapForm
from accounts.views.http import HtmxHttpRequest, render_page, system_admin_required
from audit.context import Actor

from ..models import GcRun
from ..services.gc import GcRefused, active_gc, gc_schedule, push_frozen, request_gc, save_schedule
from ..tasks import enqueue_gc

RUNS_PER_PAGE = 25


class GcForm(BootstrapForm):
    dry_run = forms.BooleanField(
        required=False, initial=True, label=_("Dry run"), help_text=_("Only list what would be removed.")
    )
    delete_untagged = forms.BooleanField(
        required=False, label=_("Delete untagged manifests"), help_text=_("Also remove manifests no tag points at.")
    )


class GcScheduleForm(BootstrapForm):
    enabled = forms.BooleanField(required=False, label=_("Run on a schedule"))
    schedule = forms.CharField(
        required=False,
        max_length=100,
        label=_("Cron schedule"),
        help_text=_(
            "Five fields, server time zone: minute hour day-of-month month day-of-week. "
            "`0 3 * * 0` is Sundays at 03:00."
        ),
    )
    dry_run = forms.BooleanField(required=False, label=_("Scheduled runs are dry runs"))
    delete_untagged = forms.BooleanField(required=False, label=_("Scheduled runs delete untagged manifests"))

    prefix = "schedule"  # beside the "Run GC now" form, whose fields share these names


def _schedule_form() -> GcScheduleForm:
    row = gc_schedule()
    return GcScheduleForm(
        initial={
            "enabled": row.enabled,
            "schedule": row.schedule,
            "dry_run": row.dry_run,
            "delete_untagged": row.delete_untagged,
        }
    )


def _render(request: HtmxHttpRequest, form: GcForm, schedule_form: GcScheduleForm | None = None) -> HttpResponse:
    runs = GcRun.objects.select_related("requested_by")
    page = Paginator(runs, RUNS_PER_PAGE).get_page(request.GET.get("page"))
    context: dict[str, Any] = {
        "nav": "gc",
        "form": form,
        "schedule_form": schedule_form or _schedule_form(),
        "schedule": gc_schedule(),
        "page": page,
        "active": active_gc(),
        "read_only": push_frozen(),
    }
    return render_page(request, "repositories/gc_runs.html", "runs", context)


@system_admin_required
def gc_run_list(request: HtmxHttpRequest) -> HttpResponse:
    return _render(request, GcForm())


@system_admin_required
@require_POST
def gc_schedule_save(request: HtmxHttpRequest) -> HttpResponse:
    """Save the schedule; a bad cron expression is a field error on the same page."""
    form = GcScheduleForm(request.POST)
    if form.is_valid():
        try:
            save_schedule(actor=Actor.from_request(request), user=request.user, **form.cleaned_data)
        except ValidationError as exc:
            for field, errors in exc.message_dict.items():
                for error in errors:
                    form.add_error(field if field in form.fields else None, error)
        else:
            messages.success(request, gettext("Garbage collection schedule saved."))
            return redirect("projects:gc_runs")
    return _render(request, GcForm(), form)


@system_admin_required
@require_POST
def gc_start(request: HtmxHttpRequest) -> HttpResponse:
    form = GcForm(request.POST)
    if form.is_valid():
        try:
            run = request_gc(actor=Actor.from_request(request), user=request.user, **form.cleaned_data)
        except GcRefused as exc:
            form.add_error(None, exc.message)
        else:
            enqueue_gc(run)
            text = gettext("Garbage collection #%(id)s queued (dry run).") if run.dry_run else gettext("Garbage collection #%(id)s queued.")
            messages.success(request, text % {"id": run.pk})
            return redirect("projects:gc_runs")
    return _render(request, form)
