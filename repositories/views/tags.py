"""Deleting tags from a repository's page: one tag, or several selected at once.

GET shows the confirmation (in the modal for htmx, else as a page), POST deletes.
Each tag goes through `delete_tag`, the one-tag delete, so a digest shared with
tags that were not selected keeps them. When the registry refuses, its message is
shown and that tag stays; a registry that is unreachable stops the batch, since
every further attempt would wait for the same timeouts.
"""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.http import HttpResponse
from django.shortcuts import redirect
from django.utils.translation import gettext as _
from django.utils.translation import ngettext
from django.views.decorators.http import require_http_methods
from django_htmx.http import HttpResponseClientRedirect

from accounts.permissions import Perm
from accounts.views.http import HtmxHttpRequest, render_page
from audit.context import Actor

from ..access import get_project, get_repository_in
from ..models import Project, Repository, Tag
from ..services.artifacts import RegistryActionFailed, delete_tag
from .repositories import current_query, repository_url, tags_context

MAX_BULK = 100


def _delete_tags(request: HtmxHttpRequest, repository: Repository, names: list[str]) -> None:
    """Delete each named tag, leaving one flash message for the successes and one
    per failure."""
    actor = Actor.from_request(request)
    tags = {t.name: t for t in Tag.objects.filter(repository=repository, name__in=names).select_related("artifact")}
    deleted: list[str] = []
    for position, name in enumerate(names):
        tag = tags.get(name)
        if tag is None:
            messages.warning(request, _("Tag %(name)s no longer exists in %(repository)s.") % {"name": name, "repository": repository.name})
            continue
        tag.repository = repository
        try:
            delete_tag(tag, actor=actor)
        except ValidationError as exc:  # e.g. an immutable (protected) tag
            messages.error(request, " ".join(exc.messages))
        except RegistryActionFailed as exc:
            messages.error(request, exc.message)
            if exc.transient:
                left = names[position + 1 :]
                if left:
                    messages.error(request, _("Stopped: %(count)s more tag(s) not attempted: %(left)s.") % {"count": len(left), "left": ", ".join(left)})
                break
        else:
            deleted.append(name)
    if deleted:
        shown = ", ".join(deleted[:20])
        if len(deleted) > 20:
            shown = _("%(names)s and %(count)s more") % {"names": shown, "count": len(deleted) - 20}
        text = ngettext(
            "Deleted %(count)s tag from %(repository)s: %(names)s.",
            "Deleted %(count)s tags from %(repository)s: %(names)s.",
            len(deleted),
        )
        messages.success(request, text % {"count": len(deleted), "repository": repository.name, "names": shown})


def _after_delete(request: HtmxHttpRequest, project: Project, repository: Repository) -> HttpResponse:
    """htmx: the tag table re-rendered in place (with the page's filter, sort and
    page), the modal closed, messages out of band. Otherwise: back to the page."""
    if not request.htmx:
        return redirect(repository_url(repository) + (f"?{request.POST['next']}" if request.POST.get("next") else ""))
    context = tags_context(project, repository, current_query(request))
    response = render_page(request, "repositories/detail.html", "tags", context)
    response["HX-Retarget"] = "#tags-section"
    response["HX-Reswap"] = "outerHTML"
    response["HX-Trigger"] = "wharf:close-modal"
    return response


def _confirm(
    request: HtmxHttpRequest, repository: Repository, names: list[str], action: str
) -> HttpResponse:
    tags = list(
        Tag.objects.filter(repository=repository, name__in=names).select_related("artifact").order_by("name")
    )
    count = len(tags)
    context = {
        "title": _("Delete tag %(name)s?") % {"name": tags[0].name} if count == 1 else _("Delete %(count)s tags?") % {"count": count},
        "message": (
            _("These tags are removed from %(name)s in the registry. Images they point at stay while other tags still point at them.") % {"name": repository.name}
        ),
        "items": [f"{t.name}  ({t.artifact.short_digest})" for t in tags],
        "hidden": [("tag", t.name) for t in tags],
        "next": request.GET.get("next", ""),
        "action": action,
        "confirm_label": _("Delete") if count != 1 else _("Delete tag"),
        "cancel_url": repository_url(repository),
        "empty": _("No tag was selected.") if not tags else "",
    }
    return render_page(request, "repositories/confirm_delete.html", "dialog", context)


@login_required
@require_http_methods(["GET", "POST"])
def tag_delete(request: HtmxHttpRequest, name: str, repo: str, tag: str) -> HttpResponse:
    project = get_project(request.user, name, Perm.DELETE_ARTIFACT)
    repository = get_repository_in(project, repo)
    if request.method == "POST":
        _delete_tags(request, repository, [tag])
        return _after_delete(request, project, repository)
    if not Tag.objects.filter(repository=repository, name=tag).exists():
        messages.warning(request, _("Tag %(tag)s no longer exists in %(name)s.") % {"tag": tag, "name": repository.name})
        url = repository_url(repository)
        # htmx would load a redirect's page into the modal: ask the browser to go instead.
        return HttpResponseClientRedirect(url) if request.htmx else redirect(url)
    return _confirm(request, repository, [tag], repository_url(repository, suffix=f"-/tags/{tag}/delete/"))


@login_required
@require_http_methods(["GET", "POST"])
def tags_delete(request: HtmxHttpRequest, name: str, repo: str) -> HttpResponse:
    """Several tags at once: `tag` repeated in the query (confirm) or the body (delete)."""
    project = get_project(request.user, name, Perm.DELETE_ARTIFACT)
    repository = get_repository_in(project, repo)
    source = request.POST if request.method == "POST" else request.GET
    names = list(dict.fromkeys(n for n in source.getlist("tag") if n))[:MAX_BULK]
    if request.method == "POST":
        if names:
            _delete_tags(request, repository, names)
        else:
            messages.warning(request, _("No tag was selected."))
        return _after_delete(request, project, repository)
    return _confirm(request, repository, names, repository_url(repository, suffix="-/tags/delete/"))
