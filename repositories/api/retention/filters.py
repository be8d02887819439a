"""Query filters of the retention run, run item and recycle bin lists."""

from __future__ import annotations

from typing import Any

import django_filters
from django.db.models import QuerySet
from django.utils.translation import gettext_lazy

from portal.api.filters import BooleanFilter

from ...models import RecycleBinEntry, RetentionRun, RetentionRunItem


class RetentionRunFilter(django_filters.FilterSet):
    status = django_filters.ChoiceFilter(choices=RetentionRun.Status.choices)
    dry_run = BooleanFilter()

    class Meta:
        model = RetentionRun
        fields = ["status", "dry_run"]


class RetentionRunItemFilter(django_filters.FilterSet):
    outcome = django_filters.ChoiceFilter(choices=RetentionRunItem.Outcome.choices)
    action = django_filters.ChoiceFilter(choices=RetentionRunItem.Action.choices)
    repository = django_filters.CharFilter(field_name="repository_name", help_text=gettext_lazy("A full repository name."))

    class Meta:
        model = RetentionRunItem
        fields = ["outcome", "action", "repository"]


class RecycleBinFilter(django_filters.FilterSet):
    restored = BooleanFilter(method="filter_restored", help_text=gettext_lazy("Restored already, or not."))
    source = django_filters.ChoiceFilter(choices=RecycleBinEntry.Source.choices)
    repository = django_filters.CharFilter(field_name="repository_name", help_text=gettext_lazy("A full repository name."))

    class Meta:
        model = RecycleBinEntry
        fields = ["restored", "source", "repository"]

    def filter_restored(
        self, queryset: QuerySet[RecycleBinEntry], name: str, value: Any
    ) -> QuerySet[RecycleBinEntry]:
        if value is None:
            return queryset
        return queryset.filter(restored_at__isnull=not value)
