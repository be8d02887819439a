"""Query filters of the findings list and export."""

from __future__ import annotations

from typing import Any

import django_filters
from django.db.models import Case, F, IntegerField, QuerySet, Value, When

from portal.api.filters import BooleanFilter

from ..models import Finding, FindingQuerySet
from ..models.scanning import SEVERITY_RANK, Severity

# `severity` orders Critical first, the way people read a severity list; `-severity`
# reverses it. Every order ends on the id so pages are stable.
ORDERINGS = {
    "severity": ("severity_rank", "-cvss_score"),
    "-severity": ("-severity_rank", "cvss_score"),
    "cvss_score": ("cvss_score", "severity_rank"),
    "-cvss_score": ("-cvss_score", "severity_rank"),
    "package": ("package", "severity_rank"),
    "-package": ("-package", "severity_rank"),
    "vulnerability_id": ("vulnerability_id",),
    "-vulnerability_id": ("-vulnerability_id",),
}
DEFAULT_ORDERING = "severity"


def _order_by(name: str) -> Any:
    """`-cvss_score` puts findings without a score last either way, like the pages."""
    descending = name.startswith("-")
    field = F(name.lstrip("-"))
    return field.desc(nulls_last=True) if descending else field.asc(nulls_last=True)


def with_severity_rank(findings: QuerySet[Finding]) -> QuerySet[Finding]:
    """Annotate `severity_rank`: 0 for Critical up to 4 for Unknown."""
    top = max(SEVERITY_RANK.values())
    whens = [When(severity=band.value, then=Value(top - rank)) for band, rank in SEVERITY_RANK.items()]
    return findings.annotate(severity_rank=Case(*whens, default=Value(top + 1), output_field=IntegerField()))


def order_findings(findings: QuerySet[Finding], ordering: str | None) -> QuerySet[Finding]:
    keys = ORDERINGS.get(ordering or DEFAULT_ORDERING, ORDERINGS[DEFAULT_ORDERING])
    return with_severity_rank(findings).order_by(*(_order_by(key) for key in keys), "id")


class FindingFilter(django_filters.FilterSet):
    """Filters of `.../scans/{id}/findings/` and its export."""

    severity = django_filters.MultipleChoiceFilter(
        choices=Severity.choices, help_text="Severity band; repeat for several."
    )
    fixable = BooleanFilter(method="filter_fixable", help_text="Whether a fixed version is known.")
    package = django_filters.CharFilter(
        field_name="package", lookup_expr="icontains", help_text="Part of the package name."
    )
    id = django_filters.CharFilter(
        method="filter_id",
        help_text="Part of the vulnerability id, or exactly its id, an alias or an upstream id "
        "(e.g. the CVE of a Debian or GitHub advisory); case-insensitive.",
    )
    allowlisted = BooleanFilter(help_text="Whether the finding is on an allowlist.")
    ordering = django_filters.ChoiceFilter(
        choices=[(key, key) for key in ORDERINGS],
        method="filter_ordering",
        empty_label=None,
        help_text="`severity` (the default) puts Critical first; `-cvss_score` the highest score first.",
    )

    class Meta:
        model = Finding
        fields = ["severity", "fixable", "package", "id", "allowlisted"]

    def filter_fixable(self, queryset: QuerySet[Finding], name: str, value: bool | None) -> QuerySet[Finding]:
        if value is None:
            return queryset
        return queryset.exclude(fixed_version="") if value else queryset.filter(fixed_version="")

    def filter_id(self, queryset: FindingQuerySet, name: str, value: str) -> QuerySet[Finding]:
        return queryset.matching_id(value)

    def filter_ordering(self, queryset: QuerySet[Finding], name: str, value: str) -> QuerySet[Finding]:
        return queryset  # applied by `qs` below, after every filter

    @property
    def qs(self) -> QuerySet[Finding]:
        queryset = super().qs
        ordering = self.form.cleaned_data.get("ordering") if self.is_bound and self.form.is_valid() else None
        return order_findings(queryset, ordering)
