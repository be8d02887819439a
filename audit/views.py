"""The system audit log page and its CSV export (system admins only).

`events_page_context` is also what a project's Logs tab renders, so both pages
filter, page and display events the same way."""

from __future__ import annotations

import json
from typing import Any

from django.db.models import QuerySet
from django.http import HttpResponse, HttpResponseBadRequest, StreamingHttpResponse
from django.http.response import HttpResponseBase
from django.urls import reverse
from django.utils.translation import gettext as _

from accounts.views.http import HtmxHttpRequest, render_page, system_admin_required
from portal.keyset import InvalidCursor, Position, page_links

from .models import AuditEvent
from .queries import AuditFilterForm, csv_rows, filter_events, keyset_page, start

TEMPLATE = "audit/list.html"


def events_page_context(request: HtmxHttpRequest, events: QuerySet[AuditEvent]) -> dict[str, Any]:
    """The filter form, one keyset page of `events` and the links to page on and export.

    Invalid filters show their errors and an empty page rather than silently
    listing everything."""
    form = AuditFilterForm(request.GET or None)
    filters = request.GET.copy()
    filters.pop("before", None)
    filters.pop("cursor", None)
    if form.is_bound and not form.is_valid():
        return {"form": form, "events": [], "older_url": None, "filters": filters.urlencode()}
    data = form.cleaned_data if form.is_bound else {}
    try:
        position = start(data.get("cursor"), data.get("before"))
    except InvalidCursor:
        position = Position()
    page = keyset_page(filter_events(events, data), position)
    for event in page.rows:
        # Compact JSON for display; the template escapes it like any other text.
        event.details_text = (  # type: ignore[attr-defined]
            json.dumps(event.details, sort_keys=True, separators=(",", ":")) if event.details else ""
        )
    links = dict(page_links(page, filters.urlencode()))
    return {
        "form": form,
        "events": page.rows,
        "older_url": links["Next"],
        "newer_url": links["Previous"],
        "oldest_url": links["Last"],
        "paged": page.previous is not None,
        "filters": filters.urlencode(),
    }


def invalid_filters_response(form: AuditFilterForm) -> HttpResponse:
    """A CSV export never falls back to "everything" when its filters are wrong."""
    problems = "; ".join(f"{field}: {' '.join(map(str, errors))}" for field, errors in form.errors.items())
    return HttpResponseBadRequest(
        _("Invalid filters: %(problems)s") % {"problems": problems}, content_type="text/plain; charset=utf-8"
    )


@system_admin_required
def event_list(request: HtmxHttpRequest) -> HttpResponse:
    context = events_page_context(request, AuditEvent.objects.all()) | {
        "nav": "audit",
        "list_url": reverse("audit:list"),
        "export_url": reverse("audit:export"),
    }
    return render_page(request, TEMPLATE, "events", context)


@system_admin_required
def export(request: HtmxHttpRequest) -> HttpResponseBase:
    """Every matching event as CSV, streamed in keyset chunks."""
    form = AuditFilterForm(request.GET)
    if not form.is_valid():
        return invalid_filters_response(form)
    events = filter_events(AuditEvent.objects.all(), form.cleaned_data)
    response = StreamingHttpResponse(csv_rows(events), content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = 'attachment; filename="wharf-audit.csv"'
    return response
