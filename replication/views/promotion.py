"""Promote an artifact (a dialog on the artifact page: pick the target project,
repository and tag) and its promotion history (a section the artifact page loads,
also a page of its own). Permissions: `replication.access`."""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.http import Http404, HttpResponse
from django.shortcuts import redirect
from django.urls import reverse
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_http_methods
from django_htmx.http import HttpResponseClientRedirect

from accounts.forms import BootstrapForm, apply_validation_error
from accounts.permissions import Perm
from accounts.views.http import HtmxHttpRequest, render_page
from audit.context import Actor
from repositories.access import get_project, get_repository_in
from repositories.models import Artifact, Project
from repositories.services.errors import RegistryActionFailed
from repositories.views.tabs import project_context

from .. import access
from ..services import promotion


class PromoteForm(BootstrapForm):
    project = forms.ChoiceField(label=gettext_lazy("Target project"))
    repository = forms.CharField(
        max_length=255, label=gettext_lazy("Repository"), help_text=gettext_lazy("Its name inside the target project.")
    )
    tag = forms.CharField(max_length=128, label=gettext_lazy("Tag"))

    def __init__(self, *args: Any, targets: list[Project], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["project"].choices = [(p.name, p.name) for p in targets]  # type: ignore[attr-defined]


def _artifact_page(artifact: Artifact) -> str:
    repository = artifact.repository
    return reverse(
        "projects:artifact", args=[repository.project.name, repository.short_name, artifact.digest]
    )


@login_required
@require_http_methods(["GET", "POST"])
def promote(request: HtmxHttpRequest, name: str, repo: str, digest: str) -> HttpResponse:
    """GET: the dialog; POST: promote, then back to the artifact page (the form again
    with its errors when something is wrong)."""
    artifact = access.promotion_source(request.user, name, repo, digest)
    targets = list(access.promotion_targets(request.user))
    tags = list(artifact.tags.order_by("name").values_list("name", flat=True))
    initial = {
        "project": next((p.name for p in targets if p.pk != artifact.repository.project_id), ""),
        "repository": artifact.repository.short_name,
        "tag": tags[0] if tags else "",
    }
    form = PromoteForm(request.POST or None, initial=initial, targets=targets)
    if request.method == "POST" and form.is_valid():
        try:
            target = access.promotion_target(request.user, form.cleaned_data["project"])
            done = promotion.promote(
                artifact,
                target_project=target,
                repository=form.cleaned_data["repository"],
                tag=form.cleaned_data["tag"],
                actor=Actor.from_request(request),
            )
        except ValidationError as exc:
            apply_validation_error(form, exc)
        except RegistryActionFailed as exc:
            form.add_error(None, exc.message)
        else:
            messages.success(
                request,
                _("Promoted to %(target)s (%(mounted)s blobs mounted, %(uploaded)s uploaded).")
                % {
                    "target": f"{done.target_repository}:{done.tag}",
                    "mounted": done.stats.get("blobs_mounted", 0),
                    "uploaded": done.stats.get("blobs_uploaded", 0),
                },
            )
            url = _artifact_page(artifact)
            return HttpResponseClientRedirect(url) if request.htmx else redirect(url)
    context = {
        "title": _("Promote %(digest)s") % {"digest": artifact.short_digest},
        "artifact": artifact,
        "form": form,
        "targets": targets,
        "action": request.path,
        "cancel_url": _artifact_page(artifact),
    }
    return render_page(request, "replication/promote.html", "dialog", context)


@login_required
def promotion_history(request: HtmxHttpRequest, name: str, repo: str, digest: str) -> HttpResponse:
    """Which projects hold this digest, and who promoted it where and when."""
    project = get_project(request.user, name, Perm.VIEW_REPOSITORIES)
    repository = get_repository_in(project, repo)
    if not Artifact.objects.filter(repository=repository, digest=digest).exists():
        raise Http404(_("No such artifact."))
    context = project_context(project, "repositories") | {
        "repository": repository,
        "digest": digest,
        "holders": promotion.holders(digest, request.user),
        "promotions": promotion.history(digest, request.user),
        "artifact_url": reverse("projects:artifact", args=[project.name, repo, digest]),
    }
    return render_page(request, "replication/history.html", "section", context)
