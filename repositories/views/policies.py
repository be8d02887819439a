"""A project's Policies tab: what the gate in front of the registry refuses.

Everyone who sees the project sees the policies, its usage against the quotas and the
latest refusals; Project Admins change the pull policies and system admins the quotas
(`access.require_gate_policy_change`, the API's rule). Writes: `services.gate.save_policy`.
"""

from __future__ import annotations

from typing import Any

from django import forms
from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.http import HttpResponse
from django.shortcuts import redirect
from django.urls import reverse
from django.utils.translation import gettext, gettext_lazy
from django.views.decorators.http import require_POST

from accounts.forms import BootstrapForm, apply_validation_error
from accounts.permissions import Perm
from accounts.views.http import HtmxHttpRequest, render_page
from audit.context import Actor
from audit.models import AuditAction, AuditEvent

from ..access import gate_policy_editable, get_project, require_gate_policy_change
from ..gate.policy import human_size, parse_size
from ..models import Artifact, ImmutableRule, Project
from ..models.gate import BlockSeverity, GatePolicy
from ..services.gate import policy_of, save_policy
from ..services.usage import project_usage
from .tabs import project_context

REFUSALS_SHOWN = 10


class GatePolicyForm(BootstrapForm):
    require_signed = forms.BooleanField(
        required=False,
        label=gettext_lazy("Only signed images"),
        help_text=gettext_lazy("Refuse pulls of images no trusted key (Signing tab) has signed."),
    )
    block_severity = forms.ChoiceField(
        choices=BlockSeverity.choices,
        required=False,
        label=gettext_lazy("Prevent vulnerable images from running"),
        help_text=gettext_lazy(
            "Refuse pulls of images with vulnerabilities at or above this severity, or not scanned. "
            "Allowlisted vulnerabilities do not count."
        ),
    )
    quota_bytes = forms.CharField(
        required=False,
        label=gettext_lazy("Storage quota"),
        help_text=gettext_lazy("e.g. 10 GiB; each blob counted once; empty: unlimited."),
    )
    quota_artifacts = forms.IntegerField(
        required=False,
        min_value=0,
        max_value=2_147_483_647,
        label=gettext_lazy("Artifact quota"),
        help_text=gettext_lazy("Empty: unlimited."),
    )

    def __init__(self, *args: Any, editable: frozenset[str], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        for name, field in self.fields.items():
            if name not in editable:
                field.disabled = True

    def clean_quota_bytes(self) -> int | None:
        value = self.cleaned_data.get("quota_bytes")
        if isinstance(value, int) or value is None:
            return value
        try:
            return parse_size(str(value))
        except ValueError as exc:
            raise ValidationError(str(exc)) from exc


def _initial(policy: GatePolicy) -> dict[str, Any]:
    return {
        "require_signed": policy.require_signed,
        "block_severity": policy.block_severity,
        "quota_bytes": human_size(policy.quota_bytes) if policy.quota_bytes is not None else "",
        "quota_artifacts": policy.quota_artifacts,
    }


def _context(
    request: HtmxHttpRequest, project: Project, form: GatePolicyForm | None = None
) -> dict[str, Any]:
    policy = policy_of(project)
    editable = gate_policy_editable(request.user, project)
    can_audit = Perm.VIEW_AUDIT in project.perms  # type: ignore[attr-defined]
    refusals = (
        list(
            AuditEvent.objects.filter(
                project_id=project.pk,
                action__in=[AuditAction.GATE_PULL_REFUSED, AuditAction.GATE_PUSH_REFUSED],
            ).order_by("-id")[:REFUSALS_SHOWN]
        )
        if can_audit
        else []
    )
    usage = project_usage(project)
    return project_context(project, "policies") | {
        "policy": policy,
        "form": form or GatePolicyForm(initial=_initial(policy), editable=editable),
        "can_edit": bool(editable),
        "can_edit_quota": "quota_bytes" in editable,
        "used_bytes": usage.unique_size,
        "used_human": human_size(usage.unique_size),
        "quota_human": human_size(policy.quota_bytes) if policy.quota_bytes is not None else "",
        "artifacts": Artifact.objects.filter(repository__project=project).count(),
        "immutable_rules": ImmutableRule.objects.filter(project=project, enabled=True).count(),
        "refusals": refusals,
        "can_audit": can_audit,
        "gate_host": settings.REGISTRY_PUBLIC_HOST,
        "gate_on": bool(settings.WHARF_GATE_URL),
        "failure_mode": settings.WHARF_GATE_FAILURE,
    }


@login_required
def policies(request: HtmxHttpRequest, name: str) -> HttpResponse:
    project = get_project(request.user, name, Perm.VIEW_PROJECT)
    return render_page(request, "projects/policies.html", "policy", _context(request, project))


@login_required
@require_POST
def policies_save(request: HtmxHttpRequest, name: str) -> HttpResponse:
    project = get_project(request.user, name, Perm.VIEW_PROJECT)
    editable = gate_policy_editable(request.user, project)
    require_gate_policy_change(request.user, project, editable or {"require_signed"})
    form = GatePolicyForm(request.POST, initial=_initial(policy_of(project)), editable=editable)
    if form.is_valid():
        changes = {field: form.cleaned_data[field] for field in editable}
        try:
            save_policy(project, changes, actor=Actor.from_request(request), user=request.user)
        except ValidationError as exc:
            apply_validation_error(form, exc)
            if not form.errors:
                form.add_error(None, exc)
        else:
            messages.success(request, gettext("Policies saved; the gate applies them to the next manifest request."))
            if not request.htmx:
                return redirect(reverse("projects:policies", args=[project.name]))
            return render_page(request, "projects/policies.html", "policy", _context(request, project))
    if not request.htmx:
        messages.error(request, " ".join(str(e) for errors in form.errors.values() for e in errors))
        return redirect(reverse("projects:policies", args=[project.name]))
    return render_page(request, "projects/policies.html", "policy", _context(request, project, form))
