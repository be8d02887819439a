"""Team pages: the list, and one page per team with its members and projects.

Everyone signed in sees the teams they belong to; system admins see and change every
team (`accounts.permissions.can_manage_teams`). A team someone may not see is a 404,
one they see but may not change a 403."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.db.models import Count, OuterRef, QuerySet, Subquery
from django.db.models.functions import Coalesce
from django.http import HttpResponse
from django.shortcuts import get_object_or_404, redirect
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods, require_POST
from django_htmx.http import HttpResponseClientRedirect

from audit.context import Actor
from repositories.models import ProjectTeam

from ..forms import TeamForm, TeamMemberAddForm, apply_validation_error
from ..models import Team, TeamMember
from ..permissions import can_manage_teams
from ..services import teams as team_services
from .http import HtmxHttpRequest, render_page


def get_team(request: HtmxHttpRequest, pk: int, *, manage: bool = False) -> Team:
    """The team `pk` if the user may see it (else 404), and may change it when `manage` (else 403)."""
    team = get_object_or_404(Team.objects.visible_to(request.user), pk=pk)
    if manage and not can_manage_teams(request.user):
        raise PermissionDenied(_("Only system admins may change teams."))
    return team


@login_required
@require_http_methods(["GET", "POST"])
def team_list(request: HtmxHttpRequest) -> HttpResponse:
    """The teams the user may see; system admins create teams here (POST)."""
    manage = can_manage_teams(request.user)
    form = TeamForm(request.POST or None)
    if request.method == "POST":
        if not manage:
            raise PermissionDenied(_("Only system admins may create teams."))
        if form.is_valid():
            try:
                team = team_services.create_team(actor=Actor.from_request(request), **form.cleaned_data)
            except ValidationError as exc:
                apply_validation_error(form, exc)
            else:
                messages.success(request, _("Team %(name)s created.") % {"name": team.name})
                url = reverse("accounts:team_detail", args=[team.pk])
                return HttpResponseClientRedirect(url) if request.htmx else redirect(url)
    teams = Team.objects.visible_to(request.user).order_by("name")
    context = {"nav": "teams", "teams": _with_counts(teams), "form": form, "can_manage": manage}
    return render_page(request, "accounts/team_list.html", "create", context)


def _with_counts(teams: QuerySet[Team]) -> QuerySet[Team]:
    """Counts as subqueries: two joined counts would multiply each other."""
    members = TeamMember.objects.filter(team=OuterRef("pk")).order_by().values("team").annotate(n=Count("pk"))
    grants = ProjectTeam.objects.filter(team=OuterRef("pk")).order_by().values("team").annotate(n=Count("pk"))
    return teams.annotate(
        member_count=Coalesce(Subquery(members.values("n")), 0),
        project_count=Coalesce(Subquery(grants.values("n")), 0),
    )


def _render_detail(
    request: HtmxHttpRequest,
    team: Team,
    *,
    form: TeamForm | None = None,
    member_form: TeamMemberAddForm | None = None,
    status: int = 200,
) -> HttpResponse:
    context = {
        "nav": "teams",
        "team": team,
        "form": form or TeamForm(initial={"name": team.name, "description": team.description}),
        "member_form": member_form or TeamMemberAddForm(),
        "members": team.memberships.select_related("user").order_by("user__username"),
        "projects": team.project_memberships.select_related("project").order_by("project__name"),
        "can_manage": can_manage_teams(request.user),
    }
    return render_page(request, "accounts/team_detail.html", "members", context, status=status)


@login_required
def team_detail(request: HtmxHttpRequest, pk: int) -> HttpResponse:
    return _render_detail(request, get_team(request, pk))


@login_required
@require_POST
def team_update(request: HtmxHttpRequest, pk: int) -> HttpResponse:
    team = get_team(request, pk, manage=True)
    form = TeamForm(request.POST)
    if form.is_valid():
        try:
            team = team_services.update_team(team, actor=Actor.from_request(request), **form.cleaned_data)
        except ValidationError as exc:
            apply_validation_error(form, exc)
        else:
            messages.success(request, _("Team %(name)s saved.") % {"name": team.name})
            return redirect("accounts:team_detail", team.pk)
    return _render_detail(request, team, form=form)


@login_required
@require_http_methods(["GET", "POST"])
def team_delete(request: HtmxHttpRequest, pk: int) -> HttpResponse:
    team = get_team(request, pk, manage=True)
    if request.method == "POST":
        team_services.delete_team(team, actor=Actor.from_request(request))
        messages.success(request, _("Team %(name)s deleted.") % {"name": team.name})
        url = reverse("accounts:teams")
        return HttpResponseClientRedirect(url) if request.htmx else redirect(url)
    context = {
        "title": _("Delete team %(name)s?") % {"name": team.name},
        "message": _("Its members lose the roles %(name)s holds in %(count)s project(s).")
        % {"name": team.name, "count": team.project_memberships.count()},
        "action": reverse("accounts:team_delete", args=[team.pk]),
        "confirm_label": _("Delete team"),
        "cancel_url": reverse("accounts:team_detail", args=[team.pk]),
    }
    return render_page(request, "confirm.html", "dialog", context)


@login_required
@require_POST
def team_member_add(request: HtmxHttpRequest, team_id: int) -> HttpResponse:
    team = get_team(request, team_id, manage=True)
    form = TeamMemberAddForm(request.POST)
    if form.is_valid():
        try:
            member = team_services.add_team_member(
                team, actor=Actor.from_request(request), **form.cleaned_data
            )
        except ValidationError as exc:
            apply_validation_error(form, exc)
        else:
            messages.success(
                request,
                _("%(username)s is now in %(name)s.") % {"username": member.user.username, "name": team.name},
            )
            if not request.htmx:
                return redirect("accounts:team_detail", team.pk)
            return _render_detail(request, team)
    return _render_detail(request, team, member_form=form)


@login_required
@require_http_methods(["GET", "POST"])
def team_member_remove(request: HtmxHttpRequest, team_id: int, pk: int) -> HttpResponse:
    team = get_team(request, team_id, manage=True)
    member = get_object_or_404(TeamMember.objects.select_related("user"), pk=pk, team=team)
    url = reverse("accounts:team_detail", args=[team.pk])
    if request.method == "POST":
        team_services.remove_team_member(member, actor=Actor.from_request(request))
        messages.success(
            request,
            _("%(username)s was removed from %(name)s.")
            % {"username": member.user.username, "name": team.name},
        )
        return HttpResponseClientRedirect(url) if request.htmx else redirect(url)
    context = {
        "title": _("Remove %(username)s from %(name)s?")
        % {"username": member.user.username, "name": team.name},
        "message": _("%(username)s loses the roles %(name)s holds in projects.")
        % {"username": member.user.username, "name": team.name},
        "action": reverse("accounts:team_member_remove", args=[team.pk, member.pk]),
        "confirm_label": _("Remove from team"),
        "cancel_url": url,
    }
    return render_page(request, "confirm.html", "dialog", context)
