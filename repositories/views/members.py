"""The Members tab: who belongs to a project, and (for Project Admins) changing that.

Every write answers an htmx request with the re-rendered members section (table,
add form and flash messages out of band), so the page updates in place; a plain
POST redirects back to the tab (POST/redirect/GET)."""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.core.paginator import Paginator
from django.http import HttpResponse
from django.shortcuts import get_object_or_404, redirect
from django.urls import reverse
from django.views.decorators.http import require_http_methods, require_POST
from django_htmx.http import HttpResponseClientRedirect

from accounts.forms import apply_validation_error
from accounts.permissions import Perm, Role
from accounts.views.http import HtmxHttpRequest, render_page
from audit.context import Actor

from ..access import get_project
from ..forms import MemberAddForm, MemberRoleForm
from ..models import Membership, Project
from ..services.projects import add_member, change_member_role, remove_member
from .tabs import project_context

MEMBERS_PER_PAGE = 50
TEMPLATE = "projects/members.html"


def _render(
    request: HtmxHttpRequest,
    project: Project,
    *,
    form: MemberAddForm | None = None,
    page_number: Any = None,
    row_errors: dict[int, list[str]] | None = None,
) -> HttpResponse:
    memberships = Membership.objects.filter(project=project).select_related("user").order_by("user__username")
    page = Paginator(memberships, MEMBERS_PER_PAGE).get_page(page_number)
    for membership in page.object_list:
        membership.errors = (row_errors or {}).get(membership.pk, [])  # type: ignore[attr-defined]
    context = project_context(project, "members") | {
        "page": page,
        "form": form or MemberAddForm(),
        "roles": Role.choices,
    }
    return render_page(request, TEMPLATE, "members", context)


def _back(request: HtmxHttpRequest, project: Project) -> HttpResponse:
    return redirect("projects:members", project.name)


@login_required
def member_list(request: HtmxHttpRequest, name: str) -> HttpResponse:
    project = get_project(request.user, name, Perm.VIEW_MEMBERS)
    return _render(request, project, page_number=request.GET.get("page"))


@login_required
@require_POST
def member_add(request: HtmxHttpRequest, name: str) -> HttpResponse:
    project = get_project(request.user, name, Perm.MANAGE_MEMBERS)
    form = MemberAddForm(request.POST)
    if form.is_valid():
        try:
            membership = add_member(project, actor=Actor.from_request(request), **form.cleaned_data)
        except ValidationError as exc:
            apply_validation_error(form, exc)
        else:
            messages.success(
                request,
                f"{membership.user.username} is now {membership.get_role_display()} in {project.name}.",
            )
            if not request.htmx:
                return _back(request, project)
            return _render(request, project)  # with a fresh, empty form for the next member
    return _render(request, project, form=form)


@login_required
@require_POST
def member_role(request: HtmxHttpRequest, name: str, pk: int) -> HttpResponse:
    project = get_project(request.user, name, Perm.MANAGE_MEMBERS)
    membership = get_object_or_404(Membership.objects.select_related("user"), pk=pk, project=project)
    form = MemberRoleForm(request.POST)
    row_errors: dict[int, list[str]] = {}
    if form.is_valid():
        try:
            membership = change_member_role(
                membership, actor=Actor.from_request(request), **form.cleaned_data
            )
        except ValidationError as exc:
            row_errors[membership.pk] = exc.messages
            messages.error(request, " ".join(exc.messages))
        else:
            messages.success(
                request,
                f"{membership.user.username} is now {membership.get_role_display()} in {project.name}.",
            )
    else:
        row_errors[membership.pk] = [str(e) for errors in form.errors.values() for e in errors]
    if not request.htmx:
        return _back(request, project)
    return _render(request, project, page_number=request.POST.get("page"), row_errors=row_errors)


@login_required
@require_http_methods(["GET", "POST"])
def member_remove(request: HtmxHttpRequest, name: str, pk: int) -> HttpResponse:
    """GET: the confirmation (in the modal for htmx, else as a page); POST: remove."""
    project = get_project(request.user, name, Perm.MANAGE_MEMBERS)
    membership = get_object_or_404(Membership.objects.select_related("user"), pk=pk, project=project)
    members_url = reverse("projects:members", args=[project.name])
    if request.method == "POST":
        try:
            remove_member(membership, actor=Actor.from_request(request))
        except ValidationError as exc:
            messages.error(request, " ".join(exc.messages))
        else:
            messages.success(request, f"{membership.user.username} was removed from {project.name}.")
        return HttpResponseClientRedirect(members_url) if request.htmx else redirect(members_url)
    context = {
        "title": f"Remove {membership.user.username}?",
        "message": f"{membership.user.username} loses their role ({membership.get_role_display()}) in {project.name}.",
        "action": reverse("projects:member_remove", args=[project.name, membership.pk]),
        "confirm_label": "Remove member",
        "cancel_url": members_url,
    }
    return render_page(request, "confirm.html", "dialog", context)
