"""The Repositories tab (a project's repositories) and a repository's page (its tags).

Both are one view with two renderings: the whole page, or for htmx (search as you
type, sort, pages) only the table section. Everything shown comes from the registry
and is untrusted: templates rely on autoescaping and truncate long values.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import parse_qs, urlsplit

from django import forms
from django.conf import settings
from django.contrib.auth.decorators import login_required
from django.core.paginator import Page, Paginator
from django.db.models import F, Prefetch, Q
from django.db.models.expressions import OrderBy
from django.http import HttpResponse, QueryDict
from django.urls import reverse

from accounts.permissions import Perm, is_system_admin
from accounts.views.http import HtmxHttpRequest, render_page, wants_partial

from ..access import get_project, get_repository_in
from ..accessories import (
    AccessoryMode,
    accessories_for,
    count_by_kind,
    filter_accessories,
    kind_of,
    with_subject_state,
)
from ..forms import validate_tag_filter
from ..freshness import last_synced
from ..globs import MAX_PATTERN_LENGTH, PatternKind, compile_filter
from ..models import Artifact, Project, Repository, SyncRun, Tag
from ..services.usage import repository_summary
from .tabs import project_context

REPOSITORIES_PER_PAGE = 25
TAGS_PER_PAGE = 50

# Sort key → ORDER BY; the tie-breaker keeps pages stable when values repeat.
REPOSITORY_SORTS: dict[str, tuple[str, list[OrderBy | str]]] = {
    "name": ("Name (A–Z)", ["name"]),
    "-name": ("Name (Z–A)", ["-name"]),
    "-pushed": ("Last push (newest)", [F("last_push_at").desc(nulls_last=True), "name"]),
    "pushed": ("Last push (oldest)", [F("last_push_at").asc(nulls_first=True), "name"]),
    "-size": ("Size (largest)", ["-size", "name"]),
    "size": ("Size (smallest)", ["size", "name"]),
    "-pulls": ("Pulls (most)", ["-pull_count", "name"]),
    "pulls": ("Pulls (fewest)", ["pull_count", "name"]),
    "-tags": ("Tags (most)", ["-tag_count", "name"]),
    "tags": ("Tags (fewest)", ["tag_count", "name"]),
}
TAG_SORTS: dict[str, tuple[str, list[OrderBy | str]]] = {
    "name": ("Tag (A–Z)", ["name"]),
    "-name": ("Tag (Z–A)", ["-name"]),
    "-pushed": ("Pushed (newest)", ["-pushed_at", "name"]),
    "pushed": ("Pushed (oldest)", ["pushed_at", "name"]),
    "-size": ("Size (largest)", ["-artifact__size", "name"]),
    "size": ("Size (smallest)", ["artifact__size", "name"]),
    "-pulled": ("Last pulled (recent)", [F("last_pull_at").desc(nulls_last=True), "name"]),
    "pulled": ("Last pulled (longest ago)", [F("last_pull_at").asc(nulls_first=True), "name"]),
    "-pulls": ("Pulls (most)", ["-artifact__pull_count", "name"]),
    "pulls": ("Pulls (fewest)", ["artifact__pull_count", "name"]),
}


class RepositoryListForm(forms.Form):
    """The query string of the Repositories tab; a bad value drops only itself."""

    q = forms.CharField(required=False, max_length=100)
    sort = forms.ChoiceField(required=False, choices=[(k, v[0]) for k, v in REPOSITORY_SORTS.items()])
    page = forms.IntegerField(required=False, min_value=1)


class TagListForm(forms.Form):
    """The query string of a repository's tag table. `tag` is a filter in Wharf's one
    glob dialect (`repositories.globs`): plain text is a substring, `v1.*` a glob."""

    tag = forms.CharField(
        required=False, max_length=MAX_PATTERN_LENGTH, label="Filter tags", validators=[validate_tag_filter]
    )
    sort = forms.ChoiceField(required=False, choices=[(k, v[0]) for k, v in TAG_SORTS.items()])
    accessories = forms.ChoiceField(required=False, choices=AccessoryMode.choices, label="Accessories")
    page = forms.IntegerField(required=False, min_value=1)


def filter_tags(tags: Any, text: str) -> Any:
    """Tags matching the filter `text` (`repositories.globs.compile_filter`: plain
    text is a substring, anything with a glob character a whole-name glob)."""
    glob = compile_filter(text, PatternKind.TAG)
    return tags if glob is None else tags.filter(**glob.lookups("name"))


def repository_url(repository: Repository, *, suffix: str = "") -> str:
    return reverse("projects:repository", args=[repository.project.name, repository.short_name]) + suffix


def _query_without_page(data: QueryDict) -> str:
    query = data.copy()
    query.pop("page", None)
    return query.urlencode()


def latest_sync_run(project: Project, repository: Repository | None = None) -> SyncRun | None:
    runs = SyncRun.objects.filter(project=project)
    if repository is not None:
        runs = runs.filter(scope=SyncRun.Scope.REPOSITORY, repository_name=repository.name)
    return runs.order_by("-created_at", "-id").first()


# --- the Repositories tab ---------------------------------------------------------


@login_required
def repository_list(request: HtmxHttpRequest, name: str) -> HttpResponse:
    project = get_project(request.user, name, Perm.VIEW_REPOSITORIES)
    form = RepositoryListForm(request.GET)
    form.is_valid()
    data = form.cleaned_data
    q, sort = data.get("q") or "", data.get("sort") or "name"
    repositories = Repository.objects.filter(project=project)
    if q:
        repositories = repositories.filter(Q(name__icontains=q) | Q(description__icontains=q))
    repositories = repositories.order_by(*REPOSITORY_SORTS[sort][1])
    page = Paginator(repositories, REPOSITORIES_PER_PAGE).get_page(data.get("page"))
    for repository in page.object_list:
        repository.project = project  # short_name and URLs without a query per row
    context = project_context(project, "repositories") | {
        "form": form,
        "page": page,
        "q": q,
        "sort": sort,
        "sorts": [(k, v[0]) for k, v in REPOSITORY_SORTS.items()],
        "query": _query_without_page(request.GET),
        "list_url": reverse("projects:repositories", args=[project.name]),
    }
    if Perm.SYNC in project.perms:  # type: ignore[attr-defined]
        context["sync_run"] = latest_sync_run(project)
        context["sync_url"] = reverse("projects:project_sync", args=[project.name])
    return render_page(request, "repositories/list.html", "table", context)


# --- a repository's page: its tags --------------------------------------------------


def tags_page(repository: Repository, data: QueryDict) -> tuple[TagListForm, Page[Tag]]:
    """One page of `repository`'s tags as `data` (a query string) asks, in four
    queries whatever the page size: count, tags with artifacts, index children, and
    the accessories of the page's artifacts (`repositories.accessories`).

    Accessory tags (signatures, SBOMs, ...) are nested under their subject's rows
    unless `accessories` asks for them as rows; each row gets `accessories` (its
    artifact's, in order) and `accessory_counts` (per kind, for the chips), and an
    accessory row `accessory_kind`."""
    form = TagListForm(data)
    form.is_valid()
    cleaned = form.cleaned_data
    sort = cleaned.get("sort") or "name"
    children = Artifact.objects.only("id", "parent_id", "os", "architecture", "variant").order_by(
        "os", "architecture", "variant"
    )
    tags = Tag.objects.filter(repository=repository)
    # A filter that is not a usable pattern shows its message and no rows, as the API's 400 does.
    tags = tags.none() if "tag" in form.errors else filter_tags(tags, cleaned.get("tag") or "")
    tags = with_subject_state(filter_accessories(tags, cleaned.get("accessories") or AccessoryMode.EXCLUDE))
    tags = (
        tags.select_related("artifact")
        .defer("artifact__manifest", "artifact__config", "artifact__layers", "artifact__annotations", "artifact__labels")
        .prefetch_related(Prefetch("artifact__children", queryset=children))
        .order_by(*TAG_SORTS[sort][1])
    )
    page = Paginator(tags, TAGS_PER_PAGE).get_page(cleaned.get("page"))
    found = accessories_for(repository, (tag.artifact.digest for tag in page.object_list))
    for tag in page.object_list:
        tag.accessories = found.get(tag.artifact.digest, [])  # type: ignore[attr-defined]
        tag.accessory_counts = count_by_kind(tag.accessories)  # type: ignore[attr-defined]
        if tag.accessory_subject:  # type: ignore[attr-defined]
            tag.accessory_kind = kind_of(tag.name, tag.artifact.artifact_type, tag.artifact.media_type)  # type: ignore[attr-defined]
    return form, page


def tags_context(project: Project, repository: Repository, data: QueryDict) -> dict[str, Any]:
    form, page = tags_page(repository, data)
    perms = project.perms  # type: ignore[attr-defined]
    base = repository_url(repository)
    return project_context(project, "repositories") | {
        "repository": repository,
        "form": form,
        "page": page,
        "glob": str(data.get("tag") or "").strip()[:MAX_PATTERN_LENGTH],  # as typed, even when unusable
        "glob_errors": form.errors.get("tag"),
        "sort": form.cleaned_data.get("sort") or "name",
        "sorts": [(k, v[0]) for k, v in TAG_SORTS.items()],
        "accessory_mode": form.cleaned_data.get("accessories") or AccessoryMode.EXCLUDE,
        "accessory_modes": AccessoryMode.choices,
        "query": _query_without_page(data),
        "list_url": base,
        "pull_host": settings.REGISTRY_PUBLIC_HOST,
        "can_delete": Perm.DELETE_ARTIFACT in perms,
        "bulk_delete_url": base + "-/tags/delete/",
    }


def current_query(request: HtmxHttpRequest) -> QueryDict:
    """The query string of the page an htmx request came from (`HX-Current-URL`),
    so a table re-rendered after a delete keeps its filter, sort and page."""
    query = QueryDict(mutable=True)
    if request.htmx and request.htmx.current_url:
        for key, values in parse_qs(urlsplit(request.htmx.current_url).query).items():
            query.setlist(key, values)
    return query


@login_required
def repository_detail(request: HtmxHttpRequest, name: str, repo: str) -> HttpResponse:
    project = get_project(request.user, name, Perm.VIEW_REPOSITORIES)
    repository = get_repository_in(project, repo)
    context = tags_context(project, repository, request.GET)
    if not wants_partial(request):  # the header is not in the table an htmx request re-renders
        context["last_synced"] = found = last_synced(repository)
        context["usage"], context["freed"] = repository_summary(repository)
        if found.run is not None and is_system_admin(request.user):  # only they may open a run's page
            context["last_synced_url"] = reverse("projects:sync_run", args=[found.run.pk])
    if Perm.SYNC in project.perms:  # type: ignore[attr-defined]
        context["sync_run"] = latest_sync_run(project, repository)
        context["sync_url"] = repository_url(repository, suffix="-/sync/")
    return render_page(request, "repositories/detail.html", "tags", context)
