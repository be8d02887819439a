"""The Repositories tab (a project's repositories) and a repository's page (its tags).

Both are one view with two renderings: the whole page, or for htmx (search as you
type, sort, pages) only the table section. Everything shown comes from the registry
and is untrusted: templates rely on autoescaping and truncate long values.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qs, urlsplit
from urllib.parse import quote as urlquote

from django import forms
from django.conf import settings
from django.contrib.auth.decorators import login_required
from django.db.models import Prefetch, QuerySet, prefetch_related_objects
from django.http import HttpResponse, QueryDict
from django.shortcuts import redirect, render
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils.html import conditional_escape
from django.utils.translation import gettext, gettext_lazy

from accounts.permissions import Perm, is_system_admin
from accounts.views.http import HtmxHttpRequest, render_page, wants_partial
from portal import keyset
from portal.keyset import KeysetPage, Ordering, Position, Total
from portal.search import search
from portal.statements import Prepared

from ..access import get_project, get_repository_in
from ..accessories import (
    AccessoryMode,
    accessories_for,
    accessory_subject_of,
    count_accessory_filtered,
    count_by_kind,
    filter_accessories,
    kind_of,
    subject_homes,
)
from ..forms import validate_tag_filter
from ..freshness import last_synced
from ..globs import MAX_PATTERN_LENGTH
from ..models import Artifact, Project, Repository, SignatureStatus, SyncRun, Tag
from ..services.signatures import filter_by_signature
from ..services.usage import repository_summary
from ..tag_lists import filter_tags, ordered_tags, ordering_for_sort, orders_by_artifact
from ..templatetags.row_urls import row_url_template
from .labels import attach_row_labels, filter_by_label, tag_list_label_context
from .tabs import project_context

if TYPE_CHECKING:
    from django_stubs_ext import StrOrPromise

REPOSITORIES_PER_PAGE = 25
TAGS_PER_PAGE = 50

# Sort key → ORDER BY; the tie-breaker keeps pages stable when values repeat.
# The page's sorts (label, keys), paged by cursor: each has a (project, key, name) index
# (`repo_project_*`), read in either direction; a never-pushed repository sorts as oldest.
REPOSITORY_SORTS: dict[str, tuple[StrOrPromise, Ordering]] = {
    "name": (gettext_lazy("Name (A–Z)"), Ordering("name", ("name",))),
    "-name": (gettext_lazy("Name (Z–A)"), Ordering("-name", ("name",), descending=True)),
    "-pushed": (
        gettext_lazy("Last push (newest)"),
        Ordering("-pushed", ("last_push_at", "name"), descending=True, nullable=True),
    ),
    "pushed": (gettext_lazy("Last push (oldest)"), Ordering("pushed", ("last_push_at", "name"), nullable=True)),
    "-size": (gettext_lazy("Size (largest)"), Ordering("-size", ("size", "name"), descending=True)),
    "size": (gettext_lazy("Size (smallest)"), Ordering("size", ("size", "name"))),
    "-pulls": (gettext_lazy("Pulls (most)"), Ordering("-pulls", ("pull_count", "name"), descending=True)),
    "pulls": (gettext_lazy("Pulls (fewest)"), Ordering("pulls", ("pull_count", "name"))),
    "-tags": (gettext_lazy("Tags (most)"), Ordering("-tags", ("tag_count", "name"), descending=True)),
    "tags": (gettext_lazy("Tags (fewest)"), Ordering("tags", ("tag_count", "name"))),
}
# The page's sort keys; each is one of `tag_lists.TAG_ORDERINGS`, paged by cursor.
TAG_SORTS: dict[str, StrOrPromise] = {
    "name": gettext_lazy("Tag (A–Z)"),
    "-name": gettext_lazy("Tag (Z–A)"),
    "-pushed": gettext_lazy("Pushed (newest)"),
    "pushed": gettext_lazy("Pushed (oldest)"),
    "-size": gettext_lazy("Size (largest)"),
    "size": gettext_lazy("Size (smallest)"),
    "-pulled": gettext_lazy("Last pulled (recent)"),
    "pulled": gettext_lazy("Last pulled (longest ago)"),
    "-pulls": gettext_lazy("Pulls (most)"),
    "pulls": gettext_lazy("Pulls (fewest)"),
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
        required=False, max_length=MAX_PATTERN_LENGTH, label=gettext_lazy("Filter tags"), validators=[validate_tag_filter]
    )
    sort = forms.ChoiceField(required=False, choices=list(TAG_SORTS.items()))
    accessories = forms.ChoiceField(required=False, choices=AccessoryMode.choices, label=gettext_lazy("Accessories"))
    label = forms.IntegerField(required=False, min_value=1, label=gettext_lazy("Label"))
    cursor = forms.CharField(required=False, max_length=1000)
    signature = forms.ChoiceField(required=False, choices=[("", gettext_lazy("Any signature")), *SignatureStatus.choices])


def repository_url(repository: Repository, *, suffix: str = "") -> str:
    return reverse("projects:repository", args=[repository.project.name, repository.short_name]) + suffix


def _query_without_page(data: QueryDict) -> str:
    query = data.copy()
    query.pop("page", None)
    query.pop("cursor", None)
    return query.urlencode()


def latest_sync_run(project: Project, repository: Repository | None = None) -> SyncRun | None:
    if repository is None:
        return _LATEST_PROJECT_RUN.first(project.pk, using=SyncRun.objects.db)  # type: ignore[no-any-return]
    return _LATEST_REPOSITORY_RUN.first(project.pk, repository.name, using=SyncRun.objects.db)  # type: ignore[no-any-return]


def _latest_run(project_id: int, repository_name: str | None = None) -> QuerySet[SyncRun]:
    runs = SyncRun.objects.filter(project_id=project_id)
    if repository_name is not None:
        runs = runs.filter(scope=SyncRun.Scope.REPOSITORY, repository_name=repository_name)
    return runs.order_by("-created_at", "-id")[:1]


# Built and compiled once per process (`portal.statements`).
_LATEST_PROJECT_RUN = Prepared(_latest_run, int)
_LATEST_REPOSITORY_RUN = Prepared(_latest_run, int, str)


# --- the Repositories tab ---------------------------------------------------------


@login_required
def repository_list(request: HtmxHttpRequest, name: str) -> HttpResponse:
    project = get_project(request.user, name, Perm.VIEW_REPOSITORIES)
    form = RepositoryListForm(request.GET)
    form.is_valid()
    data = form.cleaned_data
    q, sort = data.get("q") or "", data.get("sort") or "name"
    repositories: QuerySet[Repository] = Repository.objects.filter(project=project)
    if q:
        repositories = search(repositories, ("name", "description"), q)
    listed = keyset.page_context(repositories, REPOSITORY_SORTS[sort][1], request.GET, REPOSITORIES_PER_PAGE)
    for repository in listed["page"].rows:
        repository.project = project  # short_name and URLs without a query per row
    context = (
        project_context(project, "repositories")
        | listed
        | {
            "form": form,
            "q": q,
            "sort": sort,
            "sorts": [(k, v[0]) for k, v in REPOSITORY_SORTS.items()],
            "list_url": reverse("projects:repositories", args=[project.name]),
        }
    )
    if Perm.SYNC in project.perms:  # type: ignore[attr-defined]
        context["sync_run"] = latest_sync_run(project)
        context["sync_url"] = reverse("projects:project_sync", args=[project.name])
    return render_page(request, "repositories/list.html", "table", context)


# --- a repository's page: its tags --------------------------------------------------


def tag_queryset(repository: Repository, data: QueryDict) -> tuple[QuerySet[Tag], Ordering]:
    """`repository`'s tags as the query string `data` filters them, and the ordering it asks."""
    form = TagListForm(data)
    form.is_valid()
    return _tag_queryset(repository, form)


def _tag_queryset(repository: Repository, form: TagListForm) -> tuple[QuerySet[Tag], Ordering]:
    tags, _ = _tag_querysets(repository, form)
    return tags, ordering_for_sort(form.cleaned_data.get("sort") or "name")


def _tag_querysets(repository: Repository, form: TagListForm) -> tuple[QuerySet[Tag], QuerySet[Tag]]:
    """The filtered tags, and the same before the accessory filter (which
    `count_accessory_filtered` counts them from)."""
    cleaned = form.cleaned_data
    ordering = ordering_for_sort(cleaned.get("sort") or "name")
    text = cleaned.get("tag") or ""

    def narrowed(tags: QuerySet[Tag]) -> QuerySet[Tag]:
        # A filter that is not a usable pattern shows its message and no rows, as the API's 400 does.
        tags = tags.none() if "tag" in form.errors else filter_tags(tags, text)
        tags = filter_by_label(tags, cleaned.get("label"))
        return filter_by_signature(tags, cleaned.get("signature") or "", prefix="artifact__")

    tags = narrowed(Tag.objects.filter(repository=repository))
    rows = tags
    if not text and orders_by_artifact(ordering):
        rows = narrowed(Tag.objects.all())  # the repository's artifacts' tags: `tag_lists.ordered_tags`
    mode = cleaned.get("accessories") or AccessoryMode.EXCLUDE
    # The rows' `accessory_subject` is worked out in Python from the artifacts they are read with.
    return ordered_tags(repository, filter_accessories(rows, mode, repository, annotate=False), ordering), tags


def tags_page(repository: Repository, data: QueryDict) -> tuple[TagListForm, KeysetPage[Tag], Total]:
    """One page of `repository`'s tags as `data` (a query string) asks, by cursor
    (`portal.keyset`), in a fixed number of queries whatever the page size and depth:
    the count (`count_accessory_filtered`: bounded, then exact or PostgreSQL's estimate; for
    the whole list past the bound, the repository's `tag_count`, with no query),
    tags with artifacts, the accessories of the page's artifacts (`repositories.accessories`)
    and their labels; one more for the children of the page's indexes, if it shows any,
    for the state of its accessory rows, if any, and where it crosses from pulled to
    never-pulled tags. A cursor that is not one of this list's starts the first page.

    Accessory tags (signatures, SBOMs, ...) are nested under their subject's rows
    unless `accessories` asks for them as rows; each row gets `accessories` (its
    artifact's, in order) and `accessory_counts` (per kind, for the chips), and an
    accessory row `accessory_kind`."""
    form = TagListForm(data)
    form.is_valid()
    tags, unfiltered = _tag_querysets(repository, form)
    ordering = ordering_for_sort(form.cleaned_data.get("sort") or "name")
    children = Artifact.objects.only("id", "parent_id", "os", "architecture", "variant").order_by(
        "os", "architecture", "variant"
    )
    rows = tags.select_related("artifact", "artifact__signature").defer(
        "artifact__manifest", "artifact__config", "artifact__layers", "artifact__annotations", "artifact__labels"
    )
    try:
        position = keyset.decode(Tag, ordering, form.cleaned_data.get("cursor") or "") if form.cleaned_data.get("cursor") else Position()
    except keyset.InvalidCursor:
        position = Position()
    page = keyset.paginate(rows, ordering, position, TAGS_PER_PAGE)
    # The platforms of the page's indexes (the only rows that show children), in one query when there are any.
    indexes = [tag.artifact for tag in page.rows if tag.artifact.kind == Artifact.Kind.INDEX]
    prefetch_related_objects(indexes, Prefetch("children", queryset=children))
    mode = form.cleaned_data.get("accessories") or AccessoryMode.EXCLUDE
    # The whole list's count is kept on the repository: past the exact count's limit it is the estimate.
    cleaned = form.cleaned_data
    whole = not (cleaned.get("tag") or "tag" in form.errors or cleaned.get("label") or cleaned.get("signature"))
    total = count_accessory_filtered(unfiltered, mode, repository, tags, known=repository.tag_count if whole else None)
    for tag in page.rows:
        tag.accessory_subject = accessory_subject_of(tag)  # type: ignore[attr-defined]
    _add_subject_state(repository, page.rows)
    found = accessories_for(repository, (tag.artifact.digest for tag in page.rows))
    attach_row_labels(page.rows)
    for tag in page.rows:
        tag.accessories = found.get(tag.artifact.digest, [])  # type: ignore[attr-defined]
        tag.accessory_counts = count_by_kind(tag.accessories)  # type: ignore[attr-defined]
        if tag.accessory_subject:  # type: ignore[attr-defined]
            tag.accessory_kind = kind_of(tag.name, tag.artifact.artifact_type, tag.artifact.media_type)  # type: ignore[attr-defined]
    return form, page, total


def _add_subject_state(repository: Repository, rows: list[Tag]) -> None:
    """`accessory_home` of the page's accessory rows (`subject_homes`), in one more query
    only when the page has any; None for ordinary rows."""
    homes = subject_homes(repository, (tag.accessory_subject for tag in rows if tag.accessory_subject))  # type: ignore[attr-defined]
    for tag in rows:
        tag.accessory_home = homes.get(tag.accessory_subject) if tag.accessory_subject else None  # type: ignore[attr-defined]


def row_texts(repository: Repository, query: str, *, scans: bool) -> dict[str, str]:
    """The sentences every row of the tag table repeats, translated once per page (the
    template's `fill` puts each row's tag name, escaped, in place of `%(name)s`): the
    same messages the rows' `{% blocktranslate %}` tags were. And the two badges most rows
    show, rendered once: unsigned, and (`scans`) not scanned."""

    def page_value(value: str) -> str:  # escaped as blocktranslate does, and kept out of the row's `%`
        return conditional_escape(value).replace("%", "%%")

    pull = {"pull_host": page_value(settings.REGISTRY_PUBLIC_HOST), "name": page_value(repository.name), "name2": "%(name)s"}
    return {
        "select": gettext("Select %(name)s"),
        "copy_digest": gettext("Copy the digest of %(name)s"),
        "copy_pull_title": gettext("Copy: docker pull %(pull_host)s/%(name)s:%(name2)s") % pull,
        "copy_pull": gettext("Copy the pull command of %(name)s"),
        "delete": gettext("Delete tag %(name)s"),
        "copy_full_digest": gettext("Copy the full digest"),
        "pull": gettext("Pull"),
        "never": gettext("never"),
        "pull_command": conditional_escape(f"docker pull {settings.REGISTRY_PUBLIC_HOST}/{repository.name}:"),
        "delete_next": f"?next={urlquote(query)}" if query else "",  # as the urlencode filter quotes
        "unsigned_badge": render_to_string("repositories/_signature_badge.html", {"sig": None}),
        "not_scanned": render_to_string("scans/_summary.html", {"summary": None}) if scans else "",
    }


def tags_context(project: Project, repository: Repository, data: QueryDict) -> dict[str, Any]:
    form, page, total = tags_page(repository, data)
    perms = project.perms  # type: ignore[attr-defined]
    base = repository_url(repository)
    short = repository.short_name
    query = _query_without_page(data)
    return project_context(project, "repositories") | {
        "repository": repository,
        "form": form,
        "page": page,
        "total": total,
        "glob": str(data.get("tag") or "").strip()[:MAX_PATTERN_LENGTH],  # as typed, even when unusable
        "glob_errors": form.errors.get("tag"),
        "sort": form.cleaned_data.get("sort") or "name",
        "sorts": list(TAG_SORTS.items()),
        "accessory_mode": form.cleaned_data.get("accessories") or AccessoryMode.EXCLUDE,
        "accessory_modes": AccessoryMode.choices,
        "signature_filter": form.cleaned_data.get("signature") or "",
        "signature_choices": SignatureStatus.choices,
        "query": query,
        "page_links": keyset.page_links(page, query),
        "list_url": base,
        "pull_host": settings.REGISTRY_PUBLIC_HOST,
        "can_delete": Perm.DELETE_ARTIFACT in perms,
        "bulk_delete_url": base + "-/tags/delete/",
        # One reverse() per page, not per row: the rows fill these in (`row_url`).
        "artifact_url": row_url_template("projects:artifact", project.name, short),
        "vulnerabilities_url": row_url_template("projects:vulnerabilities", project.name, short),
        "tag_delete_url": row_url_template("projects:tag_delete", project.name, short),
        "label_filter": form.cleaned_data.get("label"),
        "row_text": row_texts(repository, query, scans=Perm.VIEW_SCANS in perms),
    } | tag_list_label_context(project, repository)


def current_query(request: HtmxHttpRequest) -> QueryDict:
    """The query string of the page an htmx request came from (`HX-Current-URL`),
    so a table re-rendered after a delete keeps its filter, sort and page."""
    query = QueryDict(mutable=True)
    if request.htmx and request.htmx.current_url:
        for key, values in parse_qs(urlsplit(request.htmx.current_url).query).items():
            query.setlist(key, values)
    return query


@login_required
def repository_usage(request: HtmxHttpRequest, name: str, repo: str) -> HttpResponse:
    """The repository's unique and logical size and what deleting it would free: one query
    over its blob rows, as its own request so a repository of 100k tags shows its tags first."""
    project = get_project(request.user, name, Perm.VIEW_REPOSITORIES)
    repository = get_repository_in(project, repo)
    usage, freed = repository_summary(repository)
    return render(request, "repositories/_repository_usage.html", {"usage": usage, "freed": freed})


@login_required
def repository_detail(request: HtmxHttpRequest, name: str, repo: str) -> HttpResponse:
    if "page" in request.GET:  # page numbers are gone: a bookmarked one starts at the first page
        query = request.GET.copy()
        query.pop("page")
        query.pop("cursor", None)
        return redirect(request.path + (f"?{query.urlencode()}" if query else ""))
    project = get_project(request.user, name, Perm.VIEW_REPOSITORIES)
    repository = get_repository_in(project, repo)
    context = tags_context(project, repository, request.GET)
    if not wants_partial(request):  # the header is not in the table an htmx request re-renders
        context["last_synced"] = found = last_synced(repository)
        if found.run is not None and is_system_admin(request.user):  # only they may open a run's page
            context["last_synced_url"] = reverse("projects:sync_run", args=[found.run.pk])
    if Perm.SYNC in project.perms:  # type: ignore[attr-defined]
        context["sync_run"] = latest_sync_run(project, repository)
        context["sync_url"] = repository_url(repository, suffix="-/sync/")
    return render_page(request, "repositories/detail.html", "tags", context)
