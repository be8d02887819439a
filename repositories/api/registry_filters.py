"""Query filters of the repository, tag, artifact and sync-run endpoints."""

from __future__ import annotations

from typing import Any

import django_filters
from django.core.validators import RegexValidator
from django.db.models import F, OrderBy, QuerySet

from portal.api.filters import BooleanFilter

from ..models import Artifact, Repository, SyncRun, Tag

GLOB_MAX_LENGTH = 200
# What a tag may contain, plus the glob operators. Anything else cannot match a tag,
# and refusing it keeps the regex translation below trivially safe.
_GLOB_CHARS = RegexValidator(
    r"^[A-Za-z0-9_.*?\[\]!-]*\Z",
    message="Use tag characters (letters, digits, '_', '.', '-') and the glob operators *, ?, [...] and [!...].",
    code="invalid_pattern",
)


def _escape(char: str) -> str:
    return char if char.isalnum() or char == "_" else "\\" + char


def _set_members(body: str) -> list[str]:
    """The characters a glob set body (without its `!`) stands for, ranges expanded.

    Expanding keeps regex range semantics out of it entirely; a reversed range
    (`z-a`) stands for nothing, as in fnmatch.
    """
    members: list[str] = []
    k = 0
    while k < len(body):
        if k + 2 < len(body) and body[k + 1] == "-":
            low, high = ord(body[k]), ord(body[k + 2])
            members.extend(chr(c) for c in range(low, high + 1))
            k += 3
        else:
            members.append(body[k])
            k += 1
    return members


def glob_to_regex(pattern: str) -> str | None:
    """An anchored regex (valid for PostgreSQL and Python) matching exactly the names
    `fnmatch.fnmatchcase(name, pattern)` matches, for patterns `_GLOB_CHARS` allows;
    None when nothing can match.

    `*` is any run of characters, `?` one character, `[abc]` / `[a-z]` a set and
    `[!abc]` its complement; a `[` without a closing `]` is literal, as in fnmatch.
    """
    out = ["^"]
    i, n = 0, len(pattern)
    while i < n:
        char = pattern[i]
        i += 1
        if char == "*":
            out.append(".*")
        elif char == "?":
            out.append(".")
        elif char == "[":
            j = i
            if j < n and pattern[j] == "!":
                j += 1
            if j < n and pattern[j] == "]":
                j += 1
            j = pattern.find("]", j)
            if j == -1:
                out.append(r"\[")
                continue
            body = pattern[i:j]
            i = j + 1
            negate = body.startswith("!")
            members = sorted(set(_set_members(body[1:] if negate else body)))
            if not members:
                if not negate:
                    return None
                out.append(".")
                continue
            out.append(f"[{'^' if negate else ''}{''.join(_escape(c) for c in members)}]")
        else:
            out.append(_escape(char))
    out.append("$")
    return "".join(out)


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


class RepositoryFilter(django_filters.FilterSet):
    q = django_filters.CharFilter(field_name="name", lookup_expr="icontains", label="Name contains")
    ordering = StableOrderingFilter(
        fields=("name", "last_push_at", "size", "pull_count", "tag_count"), tiebreak="name"
    )

    class Meta:
        model = Repository
        fields = ["q"]


class TagFilter(django_filters.FilterSet):
    pattern = django_filters.CharFilter(
        method="filter_pattern",
        label="Glob on the tag name: * ? [a-z] [!a-z] (case-sensitive)",
        max_length=GLOB_MAX_LENGTH,
        validators=[_GLOB_CHARS],
    )
    ordering = StableOrderingFilter(fields=("name", "pushed_at", "last_pull_at"), tiebreak="name")

    class Meta:
        model = Tag
        fields = ["pattern"]

    def filter_pattern(self, queryset: QuerySet[Tag], name: str, value: str) -> QuerySet[Tag]:
        if not value:
            return queryset
        regex = glob_to_regex(value)
        return queryset.none() if regex is None else queryset.filter(name__regex=regex)


class ArtifactFilter(django_filters.FilterSet):
    kind = django_filters.ChoiceFilter(choices=Artifact.Kind.choices)
    include_children = BooleanFilter(
        method="filter_include_children",
        label="Also list the per-platform children of indexes (top-level artifacts only by default)",
    )
    ordering = StableOrderingFilter(fields=("pushed_at", "size", "pull_count", "last_pull_at"), tiebreak="digest")

    class Meta:
        model = Artifact
        fields = ["kind", "include_children"]

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
