"""Changing CVE allowlists (a project's, or the system-wide one) and a project's
"scan on push" setting from the security pages.

A project's allowlist needs `Perm.MANAGE_ALLOWLIST`, the system-wide one a system
admin, "scan on push" `Perm.UPDATE_PROJECT` (as the REST API decides). The writes,
their audit rows and re-marking findings are `services.allowlists` and
`services.scanning.set_scan_on_push`. An htmx POST answers with the allowlist
section (inline errors, or the updated list); without JavaScript, a redirect.
"""

from __future__ import annotations

from datetime import datetime, time
from typing import Any

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.http import HttpResponse
from django.shortcuts import get_object_or_404, redirect
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _
from django.views.decorators.http import require_POST

from accounts.forms import BootstrapForm, apply_validation_error
from accounts.permissions import Perm, is_system_admin
from accounts.views.http import HtmxHttpRequest, render_page, system_admin_required
from audit.context import Actor

from ..access import get_project
from ..models import AllowlistEntry, Project
from ..services.allowlists import add_entry, remove_entry
from ..services.scanning import set_scan_on_push
from .tabs import project_context


class AllowlistEntryForm(BootstrapForm):
    vulnerability_id = forms.CharField(
        max_length=255,
        label=_("Vulnerability id"),
        help_text=_("e.g. CVE-2024-1234 or an OSV id; aliases match too."),
    )
    reason = forms.CharField(max_length=2000, widget=forms.Textarea(attrs={"rows": 2}))
    expires_on = forms.DateField(
        required=False,
        label=_("Expires on"),
        widget=forms.DateInput(attrs={"type": "date"}),
        help_text=_("Optional; the entry stops applying at the end of that day."),
    )

    def clean_vulnerability_id(self) -> str:
        value = self.cleaned_data["vulnerability_id"].strip()
        if not value or any(c.isspace() for c in value):
            raise ValidationError(gettext("One vulnerability id, without spaces."))
        return value

    def clean_expires_on(self) -> Any:
        value = self.cleaned_data.get("expires_on")
        if value is not None and value < timezone.localdate():
            raise ValidationError(gettext("The expiry date is in the past."))
        return value

    def expires_at(self) -> datetime | None:
        day = self.cleaned_data.get("expires_on")
        if day is None:
            return None
        return timezone.make_aware(datetime.combine(day, time.max))


def _section_url(project: Project | None) -> str:
    return (
        reverse("projects:security", args=[project.name]) if project else reverse("projects:system_security")
    )


def allowlist_context(
    request: HtmxHttpRequest, project: Project | None, form: AllowlistEntryForm | None = None
) -> dict[str, Any]:
    """What the allowlist section needs: the entries (system-wide ones too on a
    project's page, read-only there), the add form and whether the user may change it."""
    if project is None:
        entries = AllowlistEntry.objects.filter(project__isnull=True)
        can_manage = is_system_admin(request.user)
        system = []
        add_url = reverse("projects:system_allowlist_add")
    else:
        entries = AllowlistEntry.objects.filter(project=project)
        can_manage = Perm.MANAGE_ALLOWLIST in project.perms  # type: ignore[attr-defined]
        system = list(AllowlistEntry.objects.filter(project__isnull=True).select_related("author"))
        add_url = reverse("projects:allowlist_add", args=[project.name])
    return {
        "entries": list(entries.select_related("author").order_by("vulnerability_id")),
        "system_entries_list": system,
        "can_manage": can_manage,
        "allowlist_form": form or AllowlistEntryForm(),
        "add_url": add_url,
        "now": timezone.now(),
        "scope_project": project,
    }


def _answer(
    request: HtmxHttpRequest, project: Project | None, form: AllowlistEntryForm | None = None
) -> HttpResponse:
    if not request.htmx:
        if form is not None and form.errors:
            messages.error(request, " ".join(str(e) for errors in form.errors.values() for e in errors))
        return redirect(_section_url(project))
    context = allowlist_context(request, project, form)
    if project is not None:
        context |= project_context(project, "security")
    template = "scans/project_security.html" if project is not None else "scans/system_security.html"
    # 200 even with errors: htmx swaps only successful responses.
    return render_page(request, template, "allowlist", context)


def _add(request: HtmxHttpRequest, project: Project | None) -> HttpResponse:
    form = AllowlistEntryForm(request.POST)
    if form.is_valid():
        try:
            entry = add_entry(
                project=project,
                vulnerability_id=form.cleaned_data["vulnerability_id"],
                reason=form.cleaned_data["reason"],
                expires_at=form.expires_at(),
                actor=Actor.from_request(request),
            )
        except ValidationError as exc:
            apply_validation_error(form, exc)
            if not form.errors:  # a constraint message keyed by no field still shows
                form.add_error(None, exc)
        else:
            messages.success(
                request,
                gettext("%(vulnerability_id)s is allowlisted.")
                % {"vulnerability_id": entry.vulnerability_id},
            )
            return _answer(request, project)
    return _answer(request, project, form)


def _remove(request: HtmxHttpRequest, project: Project | None, pk: int) -> HttpResponse:
    entry = get_object_or_404(AllowlistEntry, pk=pk, project=project)
    remove_entry(entry, actor=Actor.from_request(request))
    messages.success(
        request,
        gettext("%(vulnerability_id)s is no longer allowlisted.")
        % {"vulnerability_id": entry.vulnerability_id},
    )
    return _answer(request, project)


@login_required
@require_POST
def allowlist_add(request: HtmxHttpRequest, name: str) -> HttpResponse:
    return _add(request, get_project(request.user, name, Perm.MANAGE_ALLOWLIST))


@login_required
@require_POST
def allowlist_remove(request: HtmxHttpRequest, name: str, pk: int) -> HttpResponse:
    return _remove(request, get_project(request.user, name, Perm.MANAGE_ALLOWLIST), pk)


@system_admin_required
@require_POST
def system_allowlist_add(request: HtmxHttpRequest) -> HttpResponse:
    return _add(request, None)


@system_admin_required
@require_POST
def system_allowlist_remove(request: HtmxHttpRequest, pk: int) -> HttpResponse:
    return _remove(request, None, pk)


@login_required
@require_POST
def scan_on_push(request: HtmxHttpRequest, name: str) -> HttpResponse:
    """Turn "scan on push" on (`enabled=on`) or off (anything else)."""
    project = get_project(request.user, name, Perm.UPDATE_PROJECT)
    enabled = request.POST.get("enabled") == "on"
    set_scan_on_push(project, enabled, actor=Actor.from_request(request))
    text = (
        gettext("Scan on push is on for %(name)s.")
        if enabled
        else gettext("Scan on push is off for %(name)s.")
    )
    messages.success(request, text % {"name": project.name})
    if request.htmx:
        context = project_context(project, "security") | {"scan_on_push": enabled, "can_update": True}
        return render_page(request, "scans/project_security.html", "scan_on_push", context)
    return redirect(_section_url(project))
