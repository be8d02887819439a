"""Reading the audit log: filters, keyset pages and CSV export, shared by the
pages and the API so both filter the same way.

Pages are keyset pages on the primary key, newest first, through `portal.keyset` like
every other long list (`?cursor=`; an old `?before=<id>` link still starts after that
id): each page is one index range scan whatever its depth, so the log stays fast at
millions of rows, where OFFSET pagination would scan every skipped row.
"""

from __future__ import annotations

import csv
import json
from collections.abc import Iterator
from datetime import date, datetime, time, timedelta
from typing import Any

from django import forms
from django.db.models import QuerySet
from django.utils import timezone
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from portal import keyset
from portal.keyset import KeysetPage, Ordering, Position

from .models import AuditAction, AuditEvent

PAGE_SIZE = 50
CSV_COLUMNS = [
    "id",
    "created_at",
    "actor_kind",
    "actor_name",
    "actor_ip",
    "action",
    "project_name",
    "target_type",
    "target_name",
    "details",
    "request_id",
    "hash",
]


class AuditFilterForm(forms.Form):
    """The audit filters, for the pages and (as query parameters) the API."""

    actor = forms.CharField(required=False, max_length=150, label=_("Actor"))
    action = forms.ChoiceField(required=False, choices=[("", _("Any action")), *AuditAction.choices])
    target = forms.CharField(required=False, max_length=255, label=_("Target"))
    since = forms.DateField(required=False, label=_("From"), widget=forms.DateInput(attrs={"type": "date"}))
    until = forms.DateField(required=False, label=_("To"), widget=forms.DateInput(attrs={"type": "date"}))
    before = forms.IntegerField(required=False, min_value=1, widget=forms.HiddenInput)  # old links
    cursor = forms.CharField(required=False, max_length=500, widget=forms.HiddenInput)

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        since, until = data.get("since"), data.get("until")
        if since and until and since > until:
            self.add_error("until", gettext("The end date is before the start date."))
        return data


def _day_start(day: date) -> datetime:
    return timezone.make_aware(datetime.combine(day, time.min))


# Newest first, on the id: the primary key, or (filter column, -id) indexes for a filter.
AUDIT_ORDERING = Ordering("-id", ("id",), descending=True)


def filter_events(qs: QuerySet[AuditEvent], data: dict[str, Any]) -> QuerySet[AuditEvent]:
    """Apply cleaned filter values (from `AuditFilterForm.cleaned_data`)."""
    if data.get("actor"):
        qs = qs.filter(actor_name=data["actor"])
    if data.get("action"):
        qs = qs.filter(action=data["action"])
    if data.get("target"):
        qs = qs.filter(target_name=data["target"])
    if data.get("since"):
        qs = qs.filter(created_at__gte=_day_start(data["since"]))
    if data.get("until"):
        qs = qs.filter(created_at__lt=_day_start(data["until"]) + timedelta(days=1))
    return qs


def start(cursor: str | None, before: int | None) -> Position:
    """Where a page starts: at `cursor`, else (an old link) after the id `before`, else the
    newest; raise `InvalidCursor` for a cursor that is not one of the log's."""
    if cursor:
        return keyset.decode(AuditEvent, AUDIT_ORDERING, cursor)
    return Position(values=(before,)) if before else Position()


def keyset_page(
    qs: QuerySet[AuditEvent], position: Position | None = None, size: int = PAGE_SIZE
) -> KeysetPage[AuditEvent]:
    """One page of events, newest first, from `position` (`start`)."""
    return keyset.paginate(qs, AUDIT_ORDERING, position or Position(), size)


class _Echo:
    def write(self, value: str) -> str:
        return value


def csv_rows(qs: QuerySet[AuditEvent], chunk_size: int = 2000) -> Iterator[str]:
    """CSV lines for every event in `qs`, newest first, read in keyset chunks so
    memory stays flat however large the export."""
    writer = csv.writer(_Echo())
    yield writer.writerow(CSV_COLUMNS)
    before: int | None = None
    while True:
        chunk_qs = qs.filter(id__lt=before) if before else qs
        chunk = list(chunk_qs.order_by("-id")[:chunk_size])
        if not chunk:
            return
        for event in chunk:
            yield writer.writerow(
                _cell(v)
                for v in [
                    event.pk,
                    event.created_at.isoformat(),
                    event.actor_kind,
                    event.actor_name,
                    event.actor_ip or "",
                    event.action,
                    event.project_name,
                    event.target_type,
                    event.target_name,
                    _json(event.details),
                    event.request_id,
                    event.hash,
                ]
            )
        before = chunk[-1].pk


def _json(value: Any) -> str:
    return json.dumps(value, sort_keys=True)


def _cell(value: Any) -> Any:
    """Neutralise spreadsheet formulas (CSV injection) in free-text cells."""
    if isinstance(value, str) and value[:1] in ("=", "+", "-", "@", "\t", "\r"):
        return "'" + value
    return value
