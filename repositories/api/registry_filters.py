"""Query filters of the repository, tag, artifact and sync-run endpoints."""

from __future__ import annotations

from typing import Any

import django_filters
from django.db.models import F, OrderBy, QuerySet

from portal import keyset
from portal.api.filters import BooleanFilter
from portal.search import search

from ..accessories import AccessoryMode
from ..forms import validate_tag_filter
from ..globs import MAX_PATTERN_LENGTH
from ..models import Artifact, Repository, SignatureStatus, SyncRun, Tag
from ..services.signatures import filter_by_signature
from ..tag_lists import TAG_ORDERINGS, filter_tags


class StableOrderingFilter(django_filters.OrderingFilter):
    """`?ordering=field` / `-field` with never-set values (no push, no pull yet)
    last in both directions and a unique tie-breaker, so pages never overlap."""

    def __init__(self, *args: Any, tiebreak: str = "pk", **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.tiebreak = tiebreak

    def filter(self, qs: QuerySet[Any], value: Any) -> QuerySet[Any]:
        if not value:
            return qs
        ordering: list[OrderBy] = []
        for param in value:
            descending = param.startswith("-")
            field = self.param_map[param.lstrip("-")]
            expression = F(field)
            ordering.append(expression.desc(nulls_last=True) if descending else expression.asc(nulls_last=True))
        return qs.order_by(*ordering, self.tiebreak)


# The orders of a project's repositories in the API (`?ordering=`), paged by cursor.
REPOSITORY_API_ORDERINGS = keyset.orderings(
    {
        "name": ("name",),
        "last_push_at": ("last_push_at", "name"),
        "size": ("size", "name"),
        "pull_count": ("pull_count", "name"),
        "tag_count": ("tag_count", "name"),
    },
    nullable=("last_push_at",),
    nulls_last=True,
)
# The orders of a repository's artifacts (`?ordering=`), paged by cursor; never pulled last.
ARTIFACT_API_ORDERINGS = keyset.orderings(
    {
        "pushed_at": ("pushed_at", "digest"),
        "size": ("size", "digest"),
        "pull_count": ("pull_count", "digest"),
        "last_pull_at": ("last_pull_at", "digest"),
    },
    nullable=("last_pull_at",),
    nulls_last=True,
)


class RepositoryFilter(django_filters.FilterSet):
    q = django_filters.CharFilter(method="filter_q", label="Name contains")
    ordering = StableOrderingFilter(
        fields=("name", "last_push_at", "size", "pull_count", "tag_count"), tiebreak="name"
    )

    class Meta:
        model = Repository
        fields = ["q"]

    def filter_q(self, queryset: QuerySet[Repository], name: str, value: str) -> QuerySet[Repository]:
        return search(queryset, ("name",), value)


class TagFilter(django_filters.FilterSet):
    pattern = django_filters.CharFilter(
        method="filter_pattern",
        label=(
            "Filter on the tag name, as on the repository page: plain text finds tags containing it; "
            "with * ? [a-z] [!a-z] {a,b} it is a glob on the whole name (case-sensitive)"
        ),
        max_length=MAX_PATTERN_LENGTH,
        validators=[validate_tag_filter],
    )
    accessories = django_filters.ChoiceFilter(
        method="filter_accessories",
        choices=AccessoryMode.choices,
        label=(
            "Accessory tags (cosign `sha256-<hex>.sig`/`.att`/`.sbom`, referrers `sha256-<hex>`, artifacts with a "
            "`subject`): `include` (the default) lists them as rows; `exclude` leaves out those listed in their "
            "subject's `accessories` (orphans, whose subject has no ordinary tag here, stay); `only` lists them alone."
        ),
    )
    label = django_filters.NumberFilter(
        method="filter_label",
        min_value=1,
        label="Only tags whose artifact carries this label (its id: global, or the project's own)",
    )
    signature = django_filters.ChoiceFilter(
        method="filter_signature",
        choices=SignatureStatus.choices,
        label="Cosign signature verdict of the tag's artifact: signed, invalid or unsigned.",
    )
    ordering = django_filters.ChoiceFilter(
        method="filter_ordering",
        choices=[(key, key) for key in TAG_ORDERINGS],
        label=(
            "Order of the rows, each with the name as tie-breaker; tags never pulled count as the "
            "oldest pulls (first for `last_pull_at`, last for `-last_pull_at`). Paged by cursor."
        ),
    )

    class Meta:
        model = Tag
        fields = ["pattern", "accessories", "label", "signature"]

    def filter_label(self, queryset: QuerySet[Tag], name: str, value: Any) -> QuerySet[Tag]:
        return queryset.filter(artifact__label_links__label_id=int(value))

    def filter_ordering(self, queryset: QuerySet[Tag], name: str, value: str) -> QuerySet[Tag]:
        return queryset  # the pagination orders the page (`TagViewSet.keyset_ordering`)

    def filter_signature(self, queryset: QuerySet[Tag], name: str, value: str) -> QuerySet[Tag]:
        return filter_by_signature(queryset, value, prefix="artifact__")

    def filter_accessories(self, queryset: QuerySet[Tag], name: str, value: str) -> QuerySet[Tag]:
        # Validated here, applied last by the view (`TagViewSet.filter_queryset`), which knows
        # the repository and counts the list without the per-row accessory check.
        return queryset

    def filter_pattern(self, queryset: QuerySet[Tag], name: str, value: str) -> QuerySet[Tag]:
        return filter_tags(queryset, value)  # validated (and cached) above


class ArtifactFilter(django_filters.FilterSet):
    kind = django_filters.ChoiceFilter(choices=Artifact.Kind.choices)
    include_children = BooleanFilter(
        method="filter_include_children",
        label="Also list the per-platform children of indexes (top-level artifacts only by default)",
    )
    signature = django_filters.ChoiceFilter(
        method="filter_signature",
        choices=SignatureStatus.choices,
        label="Cosign signature verdict: signed, invalid or unsigned.",
    )
    ordering = StableOrderingFilter(fields=("pushed_at", "size", "pull_count", "last_pull_at"), tiebreak="digest")

    class Meta:
        model = Artifact
        fields = ["kind", "include_children", "signature"]

    def filter_signature(self, queryset: QuerySet[Artifact], name: str, value: str) -> QuerySet[Artifact]:
        return filter_by_signature(queryset, value)

    def filter_queryset(self, queryset: QuerySet[Artifact]) -> QuerySet[Artifact]:
        if not self.form.cleaned_data.get("include_children"):
            queryset = queryset.filter(parent__isnull=True)
        return super().filter_queryset(queryset)

    def filter_include_children(self, queryset: QuerySet[Artifact], name: str, value: bool) -> QuerySet[Artifact]:
        return queryset  # applied in `filter_queryset`, which also sees it absent


class SyncRunFilter(django_filters.FilterSet):
    status = django_filters.ChoiceFilter(choices=SyncRun.Status.choices)
    scope = django_filters.ChoiceFilter(choices=SyncRun.Scope.choices)

    class Meta:
        model = SyncRun
        fields = ["status", "scope"]
