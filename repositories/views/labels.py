"""Label pages: a project's Labels tab (its own labels, and the global ones it may
use), the system-wide list of global labels, and putting labels on artifacts from
an artifact's page or from the tag list (the selected tags' artifacts).

Who may do what is asked of `repositories.access` (`require_label_manager`,
`require_label_attach`), which reads `accounts.permissions`; every change is a call
to `services.labels`, whose `ValidationError`s land on the form. An htmx POST is
answered with the section it changed; a plain POST with a redirect.
"""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.http import Http404, HttpResponse
from django.shortcuts import get_object_or_404, redirect
from django.urls import reverse
from django.utils.translation import gettext, ngettext
from django.utils.translation import gettext_lazy as _
from django.views.decorators.http import require_http_methods, require_POST
from django_htmx.http import HttpResponseClientRedirect

from accounts.forms import BootstrapForm, apply_validation_error
from accounts.permissions import Perm, may_manage_global_labels
from accounts.views.http import HtmxHttpRequest, render_page, system_admin_required
from audit.context import Actor
from portal.statements import Prepared

from ..access import (
    get_label_in,
    get_project,
    get_repository_in,
    require,
    require_global_label_manager,
    require_label_attach,
    require_label_manager,
    usable_label,
)
from ..models import Artifact, Label, Project, Repository, Tag
from ..models.labels import LABEL_NAME_MAX
from ..services import labels as label_service
from .tabs import project_context

MAX_BULK = 100


class LabelForm(BootstrapForm):
    name = forms.CharField(max_length=LABEL_NAME_MAX)
    color = forms.CharField(
        max_length=7,
        initial="#1f883d",
        widget=forms.TextInput(attrs={"type": "color", "class": "form-control-color"}),
        help_text=_("# and six hexadecimal digits."),
    )
    description = forms.CharField(required=False, max_length=1000, widget=forms.Textarea(attrs={"rows": 2}))


class AttachForm(forms.Form):
    """Which label to put on (`add`) or take off (`remove`) the chosen artifacts."""

    label = forms.IntegerField(min_value=1)
    action = forms.ChoiceField(choices=[("add", _("Add")), ("remove", _("Remove"))], initial="add")


# --- managing labels ------------------------------------------------------------------


def _labels_context(project: Project | None, user: Any, form: LabelForm | None = None) -> dict[str, Any]:
    if project is None:
        return {
            "nav": "labels",
            "labels": list(Label.objects.filter(project=None).order_by("name")),
            "label_form": form or LabelForm(),
            "can_manage": may_manage_global_labels(user),
            "create_url": reverse("projects:labels_system"),
            "scope": "global",
        }
    perms = project.perms  # type: ignore[attr-defined]
    own = list(Label.objects.filter(project=project).order_by("name"))
    return project_context(project, "labels") | {
        "labels": own,
        "global_labels": list(Label.objects.filter(project=None).order_by("name")),
        "label_form": form or LabelForm(),
        "can_manage": Perm.MANAGE_LABELS in perms,
        "create_url": reverse("projects:labels", args=[project.name]),
        "scope": "project",
    }


def _list_page(request: HtmxHttpRequest, project: Project | None, form: LabelForm | None = None) -> HttpResponse:
    template = "labels/system.html" if project is None else "labels/project.html"
    return render_page(request, template, "labels", _labels_context(project, request.user, form))


def _create(request: HtmxHttpRequest, project: Project | None) -> HttpResponse:
    form = LabelForm(request.POST)
    if form.is_valid():
        try:
            label = label_service.create_label(project=project, actor=Actor.from_request(request), **form.cleaned_data)
        except ValidationError as exc:
            apply_validation_error(form, exc)
        else:
            messages.success(request, gettext("Label %(name)s is created.") % {"name": label.name})
            if not request.htmx:
                return redirect(_list_url(project))
            return _list_page(request, project)
    return _list_page(request, project, form)


def _list_url(project: Project | None) -> str:
    return reverse("projects:labels_system") if project is None else reverse("projects:labels", args=[project.name])


@login_required
@require_http_methods(["GET", "POST"])
def project_labels(request: HtmxHttpRequest, name: str) -> HttpResponse:
    """GET: the project's labels and the global ones; POST: create a project label."""
    project = get_project(request.user, name, Perm.VIEW_REPOSITORIES)
    if request.method == "POST":
        require(request.user, project, Perm.MANAGE_LABELS)
        return _create(request, project)
    return _list_page(request, project)


@system_admin_required
@require_http_methods(["GET", "POST"])
def system_labels(request: HtmxHttpRequest) -> HttpResponse:
    """GET: the global labels; POST: create one (system admins)."""
    require_global_label_manager(request.user)
    if request.method == "POST":
        return _create(request, None)
    return _list_page(request, None)


def _edit(request: HtmxHttpRequest, label: Label, project: Project | None) -> HttpResponse:
    require_label_manager(request.user, label)
    initial = {"name": label.name, "color": label.color, "description": label.description}
    form = LabelForm(request.POST if request.method == "POST" else None, initial=initial)
    if request.method == "POST" and form.is_valid():
        try:
            label_service.update_label(label, actor=Actor.from_request(request), **form.cleaned_data)
        except ValidationError as exc:
            apply_validation_error(form, exc)
        else:
            messages.success(request, gettext("Label %(name)s is saved.") % {"name": label.name})
            url = _list_url(project)
            return HttpResponseClientRedirect(url) if request.htmx else redirect(url)
    context = {"label": label, "label_form": form, "cancel_url": _list_url(project), "project": project}
    context["action"] = request.path
    return render_page(request, "labels/edit.html", "dialog", context)


def _delete(request: HtmxHttpRequest, label: Label, project: Project | None) -> HttpResponse:
    require_label_manager(request.user, label)
    url = _list_url(project)
    if request.method == "POST":
        label_service.delete_label(label, actor=Actor.from_request(request))
        messages.success(request, gettext("Label %(name)s is deleted.") % {"name": label.name})
        return HttpResponseClientRedirect(url) if request.htmx else redirect(url)
    carried = label.artifact_links.count()
    context = {
        "title": gettext("Delete label %(name)s?") % {"name": label.name},
        "message": ngettext(
            "It comes off the %(count)s artifact that carries it.",
            "It comes off the %(count)s artifacts that carry it.",
            carried,
        )
        % {"count": carried},
        "action": request.path,
        "confirm_label": gettext("Delete label"),
        "cancel_url": url,
    }
    return render_page(request, "confirm.html", "dialog", context)


@login_required
@require_http_methods(["GET", "POST"])
def project_label_edit(request: HtmxHttpRequest, name: str, pk: int) -> HttpResponse:
    project = get_project(request.user, name, Perm.VIEW_REPOSITORIES)
    return _edit(request, get_label_in(project, pk), project)


@login_required
@require_http_methods(["GET", "POST"])
def project_label_delete(request: HtmxHttpRequest, name: str, pk: int) -> HttpResponse:
    project = get_project(request.user, name, Perm.VIEW_REPOSITORIES)
    return _delete(request, get_label_in(project, pk), project)


@system_admin_required
@require_http_methods(["GET", "POST"])
def system_label_edit(request: HtmxHttpRequest, pk: int) -> HttpResponse:
    return _edit(request, get_object_or_404(Label, pk=pk, project=None), None)


@system_admin_required
@require_http_methods(["GET", "POST"])
def system_label_delete(request: HtmxHttpRequest, pk: int) -> HttpResponse:
    return _delete(request, get_object_or_404(Label, pk=pk, project=None), None)


# --- the tag list: a label filter, a column, and the bulk action ----------------------


def filter_by_label(tags: Any, label_id: int | None) -> Any:
    """Tags whose artifact carries the label `label_id` (no filter when None)."""
    return tags if label_id is None else tags.filter(artifact__label_links__label_id=label_id)


def attach_row_labels(tags: Any) -> None:
    """Give each tag row `labels`: its artifact's labels, by name, in one query."""
    found = label_service.labels_by_artifact({tag.artifact_id for tag in tags})
    for tag in tags:
        tag.labels = found.get(tag.artifact_id, [])


def _usable_labels(project_id: int) -> Any:
    return Label.objects.usable_in(project_id).order_by("name", "id")


# Built and compiled once per process (`portal.statements`).
_USABLE_LABELS = Prepared(_usable_labels, int)


def tag_list_label_context(project: Project, repository: Repository) -> dict[str, Any]:
    """What the tag list needs for labels: those usable here (filter and bulk action),
    whether the user may put them on, and where the bulk action posts."""
    return {
        "usable_labels": _USABLE_LABELS.rows(project.pk, using=Label.objects.db),
        "can_label": Perm.PUSH in project.perms,  # type: ignore[attr-defined]
        "bulk_label_url": reverse("projects:tags_label", args=[project.name, repository.short_name]),
    }


# --- putting labels on artifacts ------------------------------------------------------


def _apply(
    request: HtmxHttpRequest, project: Project, artifacts: list[Artifact], form: AttachForm
) -> None:
    """Add or remove the form's label on `artifacts`, leaving one flash message."""
    label = usable_label(project, form.cleaned_data["label"])
    if label is None:
        messages.error(request, gettext("No such label in this project."))
        return
    actor = Actor.from_request(request)
    try:
        if form.cleaned_data["action"] == "add":
            changed = label_service.add_label(label, artifacts, project=project, actor=actor)
            text = ngettext("Label %(name)s put on %(count)s artifact.", "Label %(name)s put on %(count)s artifacts.", changed)
            messages.success(request, text % {"name": label.name, "count": changed})
        else:
            changed = label_service.remove_label(label, artifacts, project=project, actor=actor)
            text = ngettext(
                "Label %(name)s taken off %(count)s artifact.", "Label %(name)s taken off %(count)s artifacts.", changed
            )
            messages.success(request, text % {"name": label.name, "count": changed})
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))


def artifact_labels_context(project: Project, repository: Repository, artifact: Artifact) -> dict[str, Any]:
    """The artifact page's labels section: its labels, and those it could get."""
    perms = project.perms  # type: ignore[attr-defined]
    current = list(Label.objects.filter(artifact_links__artifact=artifact).order_by("name"))
    have = {label.pk for label in current}
    return {
        "artifact_labels": current,
        "can_label": Perm.PUSH in perms,
        "labels_url": reverse("projects:artifact_labels", args=[project.name, repository.short_name, artifact.digest]),
        "addable_labels": [
            label for label in Label.objects.usable_in(project).order_by("project_id", "name") if label.pk not in have
        ]
        if Perm.PUSH in perms
        else [],
    }


@login_required
@require_POST
def artifact_labels(request: HtmxHttpRequest, name: str, repo: str, digest: str) -> HttpResponse:
    """Put a label on this artifact or take it off (`label`, `action`)."""
    project = get_project(request.user, name, Perm.VIEW_REPOSITORIES)
    require_label_attach(request.user, project)
    repository = get_repository_in(project, repo)
    artifact = Artifact.objects.filter(repository=repository, digest=digest).first()
    if artifact is None:
        raise Http404(gettext("No such artifact."))
    artifact.repository = repository
    form = AttachForm(request.POST)
    if form.is_valid():
        _apply(request, project, [artifact], form)
    else:
        messages.error(request, gettext("Choose a label."))
    if not request.htmx:
        return redirect(reverse("projects:artifact", args=[project.name, repository.short_name, digest]))
    context = {"project": project, "repository": repository, "artifact": artifact}
    context |= artifact_labels_context(project, repository, artifact)
    return render_page(request, "labels/_artifact_labels.html", "section", context)


@login_required
@require_http_methods(["GET", "POST"])
def tags_label(request: HtmxHttpRequest, name: str, repo: str) -> HttpResponse:
    """The tag list's bulk action on the selected tags' artifacts: GET shows the dialog
    (choose a label, add or remove; `tag` repeated in the query), POST applies it."""
    from .repositories import current_query, repository_url, tags_context

    project = get_project(request.user, name, Perm.VIEW_REPOSITORIES)
    require_label_attach(request.user, project)
    repository = get_repository_in(project, repo)
    source = request.POST if request.method == "POST" else request.GET
    names = list(dict.fromkeys(n for n in source.getlist("tag") if n))[:MAX_BULK]
    tags = list(Tag.objects.filter(repository=repository, name__in=names).select_related("artifact").order_by("name"))
    if request.method == "GET":
        context = {
            "title": ngettext("Label %(count)s tag", "Label %(count)s tags", len(tags)) % {"count": len(tags)},
            "tags": tags,
            "labels": list(Label.objects.usable_in(project).order_by("name", "id")),
            "action": request.path,
            "next": request.GET.get("next", ""),
            "cancel_url": repository_url(repository),
        }
        return render_page(request, "labels/bulk.html", "dialog", context)
    form = AttachForm(request.POST)
    if not tags:
        messages.warning(request, gettext("No tag was selected."))
    elif not form.is_valid():
        messages.error(request, gettext("Choose a label."))
    else:
        artifacts = {t.artifact.pk: t.artifact for t in tags}
        for artifact in artifacts.values():
            artifact.repository = repository
        _apply(request, project, list(artifacts.values()), form)
    if not request.htmx:
        return redirect(repository_url(repository) + (f"?{request.POST['next']}" if request.POST.get("next") else ""))
    context = tags_context(project, repository, current_query(request))
    response = render_page(request, "repositories/detail.html", "tags", context)
    response["HX-Retarget"] = "#tags-section"
    response["HX-Reswap"] = "outerHTML"
    response["HX-Trigger"] = "wharf:close-modal"
    return response
