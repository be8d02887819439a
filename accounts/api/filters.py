"""Query filters of the users API."""

from __future__ import annotations

import django_filters
from django.db.models import Q, QuerySet

from portal.api.filters import BooleanFilter

from ..models import User


class UserFilter(django_filters.FilterSet):
    search = django_filters.CharFilter(method="filter_search", label="Username or e-mail contains")
    is_active = BooleanFilter()
    is_superuser = BooleanFilter()

    class Meta:
        model = User
        fields = ["search", "is_active", "is_superuser"]

    def filter_search(self, queryset: QuerySet[User], name: str, value: str) -> QuerySet[User]:
        return queryset.filter(Q(username__icontains=value) | Q(email__icontains=value))
