"""Query filters of the projects API."""

from __future__ import annotations

import django_filters

from portal.api.filters import BooleanFilter

from ..models import Project


class ProjectFilter(django_filters.FilterSet):
    q = django_filters.CharFilter(field_name="name", lookup_expr="icontains", label="Name contains")
    is_public = BooleanFilter()
    ordering = django_filters.OrderingFilter(fields=(("name", "name"), ("created_at", "created_at")))

    class Meta:
        model = Project
        fields = ["q", "is_public"]
