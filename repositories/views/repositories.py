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

from accounts.permissions import Perm
from accounts.views.http import HtmxHttpRequest, render_page

from ..access import get_project, get_repository_in
from ..models import Artifact, Project, Repository, SyncRun, Tag
from .tabs import project_context

REPOSITORIES_PER_PAGE = 25
TAGS_PER_PAGE = 50
GLOB_MAX = 128

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
    """The query string of a repository's tag table."""

    tag = forms.CharField(required=False, max_length=GLOB_MAX, label="Filter tags")
    sort = forms.ChoiceField(required=False, choices=[(k, v[0]) for k, v in TAG_SORTS.items()])
    page = forms.IntegerField(required=False, min_value=1)


def glob_to_regex(glob: str) -> str:
    """A tag glob (`*` any run, `?` one character) as an anchored PostgreSQL regex.

    Every other character is matched literally: anything but letters, digits, `_`
    and `-` is backslash-escaped, which PostgreSQL reads as that very character, so
    a pattern like `v1.(a|b)` cannot smuggle regex syntax in."""
    parts = ["^"]
    for char in glob:
        if char == "*":
            parts.append(".*")
        elif char == "?":
            parts.append(".")
        elif char.isalnum() or char in "_-":
            parts.append(char)
        else:
            parts.append("\\" + char)
    parts.append("$")
    return "".join(parts)


def filter_tags(tags: Any, glob: str) -> Any:
    """Tags matching `glob`. A pattern without `*` or `?` matches as a substring, so
    typing in the filter box narrows the table as one types (`v1` finds `v1.2`)."""
    glob = glob.strip()
    if not glob:
        return tags
    if "*" in glob or "?" in glob:
        return tags.filter(name__regex=glob_to_regex(glob))
    return tags.filter(name__contains=glob)


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
    """One page of `repository`'s tags as `data` (a query string) asks, in three
    queries whatever the page size: count, tags with artifacts, index children."""
    form = TagListForm(data)
    form.is_valid()
    cleaned = form.cleaned_data
    sort = cleaned.get("sort") or "name"
    children = Artifact.objects.only("id", "parent_id", "os", "architecture", "variant").order_by(
        "os", "architecture", "variant"
    )
    tags = filter_tags(Tag.objects.filter(repository=repository), cleaned.get("tag") or "")
    tags = (
        tags.select_related("artifact")
        .defer("artifact__manifest", "artifact__config", "artifact__layers", "artifact__annotations", "artifact__labels")
        .prefetch_related(Prefetch("artifact__children", queryset=children))
        .order_by(*TAG_SORTS[sort][1])
    )
    return form, Paginator(tags, TAGS_PER_PAGE).get_page(cleaned.get("page"))


def tags_context(project: Project, repository: Repository, data: QueryDict) -> dict[str, Any]:
    form, page = tags_page(repository, data)
    perms = project.perms  # type: ignore[attr-defined]
    base = repository_url(repository)
    return project_context(project, "repositories") | {
        "repository": repository,
        "form": form,
        "page": page,
        "glob": form.cleaned_data.get("tag") or "",
        "sort": form.cleaned_data.get("sort") or "name",
        "sorts": [(k, v[0]) for k, v in TAG_SORTS.items()],
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
    if Perm.SYNC in project.perms:  # type: ignore[attr-defined]
        context["sync_run"] = latest_sync_run(project, repository)
        context["sync_url"] = repository_url(repository, suffix="-/sync/")
    return render_page(request, "repositories/detail.html", "tags", context)
