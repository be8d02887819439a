"""The Logs tab: one project's audit events, filtered and paged like the system log."""

from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.http import HttpResponse, StreamingHttpResponse
from django.http.response import HttpResponseBase
from django.urls import reverse

from accounts.permissions import Perm
from accounts.views.http import HtmxHttpRequest, render_page
from audit.models import AuditEvent
from audit.queries import AuditFilterForm, csv_rows, filter_events
from audit.views import events_page_context, invalid_filters_response

from ..access import get_project
from .tabs import project_context

TEMPLATE = "projects/logs.html"


@login_required
def project_logs(request: HtmxHttpRequest, name: str) -> HttpResponse:
    project = get_project(request.user, name, Perm.VIEW_AUDIT)
    events = AuditEvent.objects.filter(project_id=project.pk)
    context = project_context(project, "logs") | events_page_context(request, events)
    context["list_url"] = reverse("projects:logs", args=[project.name])
    if Perm.EXPORT_AUDIT in project.perms:  # type: ignore[attr-defined]
        context["export_url"] = reverse("projects:logs_export", args=[project.name])
    return render_page(request, TEMPLATE, "events", context)


@login_required
def project_logs_export(request: HtmxHttpRequest, name: str) -> HttpResponseBase:
    """Every matching event as CSV, streamed so a long history never sits in memory."""
    project = get_project(request.user, name, Perm.EXPORT_AUDIT)
    form = AuditFilterForm(request.GET)
    if not form.is_valid():
        return invalid_filters_response(form)
    events = filter_events(AuditEvent.objects.filter(project_id=project.pk), form.cleaned_data)
    response = StreamingHttpResponse(csv_rows(events), content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="{project.name}-audit.csv"'
    return response
