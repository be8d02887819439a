"""A project's trusted signing keys (the Signing tab): list, add, remove.

Anyone who sees the project's repositories sees the keys (public keys and their
fingerprints); `Perm.MANAGE_SIGNING_KEYS` (Project Admins) adds and removes them,
as the REST API decides. The writes, audit rows and the re-verification they queue
are `services.signatures`. An htmx POST answers with the section; without
JavaScript, a redirect.
"""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.db.models import Count, Q
from django.http import HttpResponse
from django.shortcuts import get_object_or_404, redirect
from django.urls import reverse
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _
from django.views.decorators.http import require_POST

from accounts.forms import BootstrapForm, apply_validation_error
from accounts.permissions import Perm
from accounts.views.http import HtmxHttpRequest, render_page
from audit.context import Actor

from ..access import get_project
from ..models import ArtifactSignature, Project, SignatureStatus, TrustedKey
from ..services.signatures import add_key, remove_key
from .tabs import project_context


class TrustedKeyForm(BootstrapForm):
    name = forms.CharField(max_length=100, help_text=_("How badges name this key, e.g. release or ci."))
    public_key = forms.CharField(
        max_length=20000,
        label=_("Public key (PEM)"),
        widget=forms.Textarea(attrs={"rows": 5, "class": "font-monospace"}),
        help_text=_(
            "cosign.pub as cosign generate-key-pair writes it: ECDSA P-256, RSA or Ed25519; "
            "or a CA certificate (PEM) that Notation signatures must chain to."
        ),
    )


def _context(
    request: HtmxHttpRequest, project: Project, form: TrustedKeyForm | None = None
) -> dict[str, Any]:
    counts = ArtifactSignature.objects.filter(artifact__repository__project=project).aggregate(
        signed=Count("pk", filter=Q(status=SignatureStatus.SIGNED)),
        invalid=Count("pk", filter=Q(status=SignatureStatus.INVALID)),
    )
    return project_context(project, "signing") | {
        "keys": list(TrustedKey.objects.filter(project=project).select_related("created_by")),
        "can_manage": Perm.MANAGE_SIGNING_KEYS in project.perms,  # type: ignore[attr-defined]
        "key_form": form or TrustedKeyForm(),
        "counts": counts,
    }


def _answer(request: HtmxHttpRequest, project: Project, form: TrustedKeyForm | None = None) -> HttpResponse:
    if not request.htmx:
        if form is not None and form.errors:
            messages.error(request, " ".join(str(e) for errors in form.errors.values() for e in errors))
        return redirect(reverse("projects:signing_keys", args=[project.name]))
    return render_page(request, "projects/signing_keys.html", "keys", _context(request, project, form))


@login_required
def signing_keys(request: HtmxHttpRequest, name: str) -> HttpResponse:
    project = get_project(request.user, name, Perm.VIEW_REPOSITORIES)
    return render_page(request, "projects/signing_keys.html", "keys", _context(request, project))


@login_required
@require_POST
def signing_key_add(request: HtmxHttpRequest, name: str) -> HttpResponse:
    project = get_project(request.user, name, Perm.MANAGE_SIGNING_KEYS)
    form = TrustedKeyForm(request.POST)
    if form.is_valid():
        try:
            key = add_key(
                project=project,
                name=form.cleaned_data["name"],
                public_key=form.cleaned_data["public_key"],
                actor=Actor.from_request(request),
            )
        except ValidationError as exc:
            apply_validation_error(form, exc)
            if not form.errors:
                form.add_error(None, exc)
        else:
            messages.success(
                request,
                gettext("%(name)s is trusted; signatures are being verified again.") % {"name": key.name},
            )
            return _answer(request, project)
    return _answer(request, project, form)


@login_required
@require_POST
def signing_key_remove(request: HtmxHttpRequest, name: str, pk: int) -> HttpResponse:
    project = get_project(request.user, name, Perm.MANAGE_SIGNING_KEYS)
    key = get_object_or_404(TrustedKey, pk=pk, project=project)
    remove_key(key, actor=Actor.from_request(request))
    messages.success(request, gettext("%(name)s is no longer trusted.") % {"name": key.name})
    return _answer(request, project)
