"""An artifact's page (one manifest by digest) and deleting it with all its tags."""

from __future__ import annotations

import contextlib
import json
from typing import Any

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.http import Http404, HttpResponse
from django.shortcuts import redirect
from django.utils.translation import gettext as _
from django.utils.translation import ngettext
from django.views.decorators.http import require_http_methods
from django_htmx.http import HttpResponseClientRedirect

from accounts.permissions import Perm
from accounts.views.http import HtmxHttpRequest, render_page
from audit.context import Actor

from ..access import get_project, get_repository_in
from ..models import Artifact, ArtifactSignature, Repository
from ..services.artifacts import RegistryActionFailed, delete_artifact
from .labels import artifact_labels_context
from .repositories import repository_url
from .tabs import project_context

# The manifest is shown pretty-printed up to this many characters; the registry
# caps manifests at 4 MiB, far more than a page should carry.
MANIFEST_SHOWN_MAX = 100_000


def artifact_url(repository: Repository, digest: str, suffix: str = "") -> str:
    return repository_url(repository, suffix=f"-/artifacts/{digest}/{suffix}")


def pretty_manifest(raw: bytes) -> tuple[str, bool]:
    """The manifest as indented JSON (or as raw text when it is not JSON), cut to
    `MANIFEST_SHOWN_MAX` characters; returns the text and whether it was cut."""
    text = bytes(raw).decode("utf-8", errors="replace")
    # Not JSON, or nested deeper than Python recurses (hostile input): shown raw.
    with contextlib.suppress(ValueError, RecursionError):
        text = json.dumps(json.loads(text), indent=2, ensure_ascii=False)
    if len(text) > MANIFEST_SHOWN_MAX:
        return text[:MANIFEST_SHOWN_MAX], True
    return text, False


def _items(mapping: Any) -> list[tuple[str, str]]:
    """A JSON object from the registry as sorted (key, value) string pairs."""
    if not isinstance(mapping, dict):
        return []
    return sorted((str(k), v if isinstance(v, str) else json.dumps(v)) for k, v in mapping.items())


def _strings(value: Any) -> list[str]:
    if value is None:
        return []
    if isinstance(value, (list, tuple)):
        return [str(v) for v in value]
    return [str(value)]


def _get_artifact(repository: Repository, digest: str) -> Artifact:
    artifact = Artifact.objects.select_related("parent").filter(repository=repository, digest=digest).first()
    if artifact is None:
        raise Http404(_("No such artifact."))
    artifact.repository = repository
    return artifact


@login_required
def artifact_detail(request: HtmxHttpRequest, name: str, repo: str, digest: str) -> HttpResponse:
    project = get_project(request.user, name, Perm.VIEW_REPOSITORIES)
    repository = get_repository_in(project, repo)
    artifact = _get_artifact(repository, digest)
    config = artifact.config if isinstance(artifact.config, dict) else {}
    manifest, manifest_cut = pretty_manifest(bytes(artifact.manifest))
    history_raw = config.get("history")
    history: list[Any] = history_raw if isinstance(history_raw, list) else []
    subject = None
    if artifact.subject_digest:
        subject = Artifact.objects.filter(repository=repository, digest=artifact.subject_digest).only("digest").first()
    context = project_context(project, "repositories") | {
        "repository": repository,
        "artifact": artifact,
        "children": list(
            artifact.children.only("digest", "os", "architecture", "variant", "size", "media_type", "parent_id")
            .order_by("os", "architecture", "variant")
        ),
        "tags": list(artifact.tags.order_by("name").values_list("name", flat=True)),
        "referrers": list(
            Artifact.objects.filter(repository=repository, subject_digest=artifact.digest)
            .only("digest", "artifact_type", "media_type", "size", "pushed_at", "pushed_at_source")
            .order_by("-pushed_at")
        ),
        "subject": subject,
        "signature": ArtifactSignature.objects.filter(artifact=artifact).first(),
        "layers": artifact.layers if isinstance(artifact.layers, list) else [],
        "config": {
            "env": _strings(config.get("env")),
            "entrypoint": _strings(config.get("entrypoint")),
            "cmd": _strings(config.get("cmd")),
            "working_dir": str(config.get("working_dir") or ""),
            "user": str(config.get("user") or ""),
            "exposed_ports": _strings(config.get("exposed_ports")),
            "volumes": _strings(config.get("volumes")),
        },
        "labels": _items(artifact.labels),
        "annotations": _items(artifact.annotations),
        "history": [h for h in history if isinstance(h, dict)],
        "manifest": manifest,
        "manifest_cut": manifest_cut,
        "repository_url": repository_url(repository),
        "pull_host": settings.REGISTRY_PUBLIC_HOST,
        "can_delete": Perm.DELETE_ARTIFACT in project.perms,  # type: ignore[attr-defined]
        "delete_url": artifact_url(repository, artifact.digest, "delete/"),
    } | artifact_labels_context(project, repository, artifact)
    return render_page(request, "repositories/artifact.html", "content", context)


@login_required
@require_http_methods(["GET", "POST"])
def artifact_delete(request: HtmxHttpRequest, name: str, repo: str, digest: str) -> HttpResponse:
    """GET: the confirmation listing every tag that goes with it; POST: delete."""
    project = get_project(request.user, name, Perm.DELETE_ARTIFACT)
    repository = get_repository_in(project, repo)
    artifact = _get_artifact(repository, digest)
    if request.method == "POST":
        try:
            delete_artifact(artifact, actor=Actor.from_request(request))
        except ValidationError as exc:  # e.g. it carries an immutable (protected) tag
            messages.error(request, " ".join(exc.messages))
            url = artifact_url(repository, artifact.digest)
        except RegistryActionFailed as exc:
            messages.error(request, exc.message)
            url = artifact_url(repository, artifact.digest)
        else:
            messages.success(request, _("Deleted %(name)s@%(digest)s.") % {"name": repository.name, "digest": artifact.digest})
            url = repository_url(repository)
        return HttpResponseClientRedirect(url) if request.htmx else redirect(url)
    tags = list(artifact.tags.order_by("name").values_list("name", flat=True))
    children = artifact.children.count()
    if children:
        message = ngettext(
            "This deletes %(name)s@%(digest)s from the registry, with its %(count)s platform image.",
            "This deletes %(name)s@%(digest)s from the registry, with its %(count)s platform images.",
            children,
        )
    else:
        message = _("This deletes %(name)s@%(digest)s from the registry.")
    message %= {"name": repository.name, "digest": artifact.digest, "count": children}
    message = " ".join([message, _("These tags go with it:") if tags else _("No tag points at it.")])
    context = {
        "title": _("Delete artifact %(short_digest)s?") % {"short_digest": artifact.short_digest},
        "message": message,
        "items": tags,
        "hidden": [],
        "action": artifact_url(repository, artifact.digest, "delete/"),
        "confirm_label": _("Delete artifact"),
        "cancel_url": artifact_url(repository, artifact.digest),
    }
    return render_page(request, "repositories/confirm_delete.html", "dialog", context)
