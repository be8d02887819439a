"""Query filters of the findings list and export."""

from __future__ import annotations

import django_filters
from django.db.models import Case, F, FloatField, IntegerField, QuerySet, Value, When
from django.db.models.functions import Coalesce
from django.utils.translation import gettext_lazy

from portal.api.filters import BooleanFilter
from portal.keyset import Ordering

from ..models import Finding, FindingQuerySet
from ..models.scanning import SEVERITY_RANK, Severity

# `severity` orders Critical first, the way people read a severity list; `-severity`
# reverses it. Every order ends on the id so pages are stable. A finding without a score
# sorts last either way, through the computed keys `score_low` / `score_high` (the score,
# or below / above every score), so the orders page by cursor (`portal.keyset`; a `-key`
# runs against the others). The keys are computed: a report's findings are read through
# the report index and sorted, a few thousand rows at most.
ORDERINGS: dict[str, tuple[str, ...]] = {
    "severity": ("severity_rank", "-score_low", "id"),
    "-severity": ("-severity_rank", "score_high", "id"),
    "cvss_score": ("score_high", "severity_rank", "id"),
    "-cvss_score": ("-score_low", "severity_rank", "id"),
    "package": ("package", "severity_rank", "id"),
    "-package": ("-package", "severity_rank", "id"),
    "vulnerability_id": ("vulnerability_id", "id"),
    "-vulnerability_id": ("-vulnerability_id", "id"),
}
FINDING_ORDERINGS: dict[str, Ordering] = {name: Ordering(name, keys) for name, keys in ORDERINGS.items()}
DEFAULT_ORDERING = "severity"


def with_severity_rank(findings: QuerySet[Finding]) -> QuerySet[Finding]:
    """Annotate `severity_rank`: 0 for Critical up to 4 for Unknown."""
    top = max(SEVERITY_RANK.values())
    whens = [When(severity=band.value, then=Value(top - rank)) for band, rank in SEVERITY_RANK.items()]
    return findings.annotate(
        severity_rank=Case(*whens, default=Value(top + 1), output_field=IntegerField()),
        score_low=Coalesce(F("cvss_score"), Value(-1.0), output_field=FloatField()),
        score_high=Coalesce(F("cvss_score"), Value(99.0), output_field=FloatField()),
    )


def order_findings(findings: QuerySet[Finding], ordering: str | None) -> QuerySet[Finding]:
    """`findings` with the sort keys, in `ordering` (the whole list: exports)."""
    chosen = FINDING_ORDERINGS.get(ordering or DEFAULT_ORDERING, FINDING_ORDERINGS[DEFAULT_ORDERING])
    return with_severity_rank(findings).order_by(*chosen.order_by())


class FindingFilter(django_filters.FilterSet):
    """Filters of `.../scans/{id}/findings/` and its export."""

    severity = django_filters.MultipleChoiceFilter(
        choices=Severity.choices, help_text=gettext_lazy("Severity band; repeat for several.")
    )
    fixable = BooleanFilter(method="filter_fixable", help_text=gettext_lazy("Whether a fixed version is known."))
    package = django_filters.CharFilter(
        field_name="package", lookup_expr="icontains", help_text=gettext_lazy("Part of the package name.")
    )
    id = django_filters.CharFilter(
        method="filter_id",
        help_text=gettext_lazy("Part of the vulnerability id, or exactly its id, an alias or an upstream id "
        "(e.g. the CVE of a Debian or GitHub advisory); case-insensitive."),
    )
    allowlisted = BooleanFilter(help_text=gettext_lazy("Whether the finding is on an allowlist."))
    ordering = django_filters.ChoiceFilter(
        choices=[(key, key) for key in ORDERINGS],
        method="filter_ordering",
        empty_label=None,
        help_text=gettext_lazy("`severity` (the default) puts Critical first; `-cvss_score` the highest score first."),
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
