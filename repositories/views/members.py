"""The Members tab: who belongs to a project, users and teams, and (for Project Admins)
changing that. Each user reached through a team is listed with the teams it comes from.

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
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods, require_POST
from django_htmx.http import HttpResponseClientRedirect

from accounts.forms import apply_validation_error
from accounts.permissions import Perm, Role, highest_role
from accounts.views.http import HtmxHttpRequest, render_page
from audit.context import Actor

from ..access import get_project
from ..forms import MemberAddForm, MemberRoleForm, ProjectTeamAddForm
from ..models import Membership, Project, ProjectTeam
from ..services.project_teams import add_project_team, change_project_team_role, remove_project_team
from ..services.projects import add_member, change_member_role, remove_member
from .tabs import project_context

MEMBERS_PER_PAGE = 50
TEMPLATE = "projects/members.html"


def _render(
    request: HtmxHttpRequest,
    project: Project,
    *,
    form: MemberAddForm | None = None,
    team_form: ProjectTeamAddForm | None = None,
    page_number: Any = None,
    row_errors: dict[int, list[str]] | None = None,
    team_errors: dict[int, list[str]] | None = None,
) -> HttpResponse:
    memberships = Membership.objects.filter(project=project).select_related("user").order_by("user__username")
    page = Paginator(memberships, MEMBERS_PER_PAGE).get_page(page_number)
    grants = list(
        ProjectTeam.objects.filter(project=project)
        .select_related("team")
        .prefetch_related("team__memberships__user")
        .order_by("team__name")
    )
    via: dict[str, list[ProjectTeam]] = {}  # username -> the team grants reaching them
    for grant in grants:
        grant.errors = (team_errors or {}).get(grant.pk, [])  # type: ignore[attr-defined]
        for member in grant.team.memberships.all():
            via.setdefault(member.user.username, []).append(grant)
    for membership in page.object_list:
        membership.errors = (row_errors or {}).get(membership.pk, [])  # type: ignore[attr-defined]
        membership.via = via.get(membership.user.username, [])  # type: ignore[attr-defined]
        membership.effective = highest_role(  # type: ignore[attr-defined]
            [membership.role, *(g.role for g in membership.via)]  # type: ignore[attr-defined]
        )
    direct = set(memberships.values_list("user__username", flat=True))
    through_teams = [
        {"username": name, "via": found, "role": highest_role(g.role for g in found)}
        for name, found in sorted(via.items())
        if name not in direct
    ]
    context = project_context(project, "members") | {
        "page": page,
        "form": form or MemberAddForm(),
        "team_form": team_form or ProjectTeamAddForm(),
        "grants": grants,
        "through_teams": through_teams,
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
                _("%(username)s is now %(role)s in %(name)s.")
                % {
                    "username": membership.user.username,
                    "role": membership.get_role_display(),
                    "name": project.name,
                },
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
                _("%(username)s is now %(role)s in %(name)s.")
                % {
                    "username": membership.user.username,
                    "role": membership.get_role_display(),
                    "name": project.name,
                },
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
            messages.success(
                request,
                _("%(username)s was removed from %(name)s.")
                % {"username": membership.user.username, "name": project.name},
            )
        return HttpResponseClientRedirect(members_url) if request.htmx else redirect(members_url)
    context = {
        "title": _("Remove %(username)s?") % {"username": membership.user.username},
        "message": _("%(username)s loses their role (%(role)s) in %(name)s.")
        % {"username": membership.user.username, "role": membership.get_role_display(), "name": project.name},
        "action": reverse("projects:member_remove", args=[project.name, membership.pk]),
        "confirm_label": _("Remove member"),
        "cancel_url": members_url,
    }
    return render_page(request, "confirm.html", "dialog", context)


# --- teams as members ------------------------------------------------------------------------------


@login_required
@require_POST
def team_add(request: HtmxHttpRequest, name: str) -> HttpResponse:
    project = get_project(request.user, name, Perm.MANAGE_MEMBERS)
    form = ProjectTeamAddForm(request.POST)
    if form.is_valid():
        try:
            grant = add_project_team(project, actor=Actor.from_request(request), **form.cleaned_data)
        except ValidationError as exc:
            apply_validation_error(form, exc)
        else:
            messages.success(
                request,
                _("Team %(name)s is now %(role)s in %(project)s.")
                % {"name": grant.team.name, "role": grant.get_role_display(), "project": project.name},
            )
            if not request.htmx:
                return _back(request, project)
            return _render(request, project)
    return _render(request, project, team_form=form)


@login_required
@require_POST
def team_role(request: HtmxHttpRequest, name: str, pk: int) -> HttpResponse:
    project = get_project(request.user, name, Perm.MANAGE_MEMBERS)
    grant = get_object_or_404(ProjectTeam.objects.select_related("team"), pk=pk, project=project)
    form = MemberRoleForm(request.POST)
    team_errors: dict[int, list[str]] = {}
    if form.is_valid():
        grant = change_project_team_role(grant, actor=Actor.from_request(request), **form.cleaned_data)
        messages.success(
            request,
            _("Team %(name)s is now %(role)s in %(project)s.")
            % {"name": grant.team.name, "role": grant.get_role_display(), "project": project.name},
        )
    else:
        team_errors[grant.pk] = [str(e) for errors in form.errors.values() for e in errors]
    if not request.htmx:
        return _back(request, project)
    return _render(request, project, team_errors=team_errors)


@login_required
@require_http_methods(["GET", "POST"])
def team_remove(request: HtmxHttpRequest, name: str, pk: int) -> HttpResponse:
    """GET: the confirmation (in the modal for htmx, else as a page); POST: remove."""
    project = get_project(request.user, name, Perm.MANAGE_MEMBERS)
    grant = get_object_or_404(ProjectTeam.objects.select_related("team"), pk=pk, project=project)
    members_url = reverse("projects:members", args=[project.name])
    if request.method == "POST":
        remove_project_team(grant, actor=Actor.from_request(request))
        messages.success(
            request,
            _("Team %(name)s was removed from %(project)s.")
            % {"name": grant.team.name, "project": project.name},
        )
        return HttpResponseClientRedirect(members_url) if request.htmx else redirect(members_url)
    context = {
        "title": _("Remove team %(name)s?") % {"name": grant.team.name},
        "message": _("Its members lose the team's role (%(role)s) in %(name)s; their own roles stay.")
        % {"role": grant.get_role_display(), "name": project.name},
        "action": reverse("projects:team_remove", args=[project.name, grant.pk]),
        "confirm_label": _("Remove team"),
        "cancel_url": members_url,
    }
    return render_page(request, "confirm.html", "dialog", context)
