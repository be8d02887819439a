"""Project list, creation, summary, edit and delete pages."""

from __future__ import annotations

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.contrib.auth.views import redirect_to_login
from django.core.exceptions import PermissionDenied, ValidationError
from django.db.models import Count, OuterRef, Q, QuerySet, Subquery
from django.db.models.functions import Coalesce
from django.http import HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods, require_POST
from django_htmx.http import HttpResponseClientRedirect

from accounts.forms import apply_validation_error
from accounts.permissions import Perm, Role, can_create_projects
from accounts.views.http import HtmxHttpRequest, render_page
from audit.context import Actor
from portal import keyset
from portal.keyset import Ordering

from ..access import get_project
from ..forms import PROJECTS_PER_PAGE, ProjectCreateForm, ProjectListForm, ProjectUpdateForm
from ..models import Membership, Project
from ..models.projects import role_sort_key
from ..services.projects import create_project, delete_project, update_project
from ..services.usage import project_usage
from .tabs import project_context

# The page's sorts, paged by cursor (`portal.keyset`): name through the unique name index,
# creation through `project_created_name`; the member count and the role are computed per
# project (no index can hold them), which a list of projects affords.
_ORDERINGS: dict[str, Ordering] = {
    "name": Ordering("name", ("name",)),
    "-name": Ordering("-name", ("name",), descending=True),
    "-created": Ordering("-created", ("created_at", "name"), descending=True),
    "created": Ordering("created", ("created_at", "name")),
    "members": Ordering("members", ("member_count", "-name"), descending=True),
    "role": Ordering("role", ("role_rank", "name")),
}


def _projects(request: HtmxHttpRequest, q: str, sort: str) -> QuerySet[Project]:
    """The visible projects with their member count and the user's role, in two
    subqueries, so a page of projects costs one query whatever its size."""
    member_count = (
        Membership.objects.filter(project=OuterRef("pk"))
        .order_by()
        .values("project")
        .annotate(n=Count("pk"))
        .values("n")
    )
    projects = (
        Project.objects.for_user(request.user)
        .with_role(request.user)
        .annotate(member_count=Coalesce(Subquery(member_count), 0), role_rank=role_sort_key("my_role"))
    )
    if q:
        projects = projects.filter(Q(name__icontains=q) | Q(description__icontains=q))
    return projects


def project_list(request: HtmxHttpRequest) -> HttpResponse:
    """All projects the user may see; htmx requests (search, sort, pages) get the table alone."""
    anonymous_allowed = settings.WHARF_ANONYMOUS_PUBLIC_LIST
    if not request.user.is_authenticated and not anonymous_allowed:
        return redirect_to_login(request.get_full_path())
    form = ProjectListForm(request.GET)
    form.is_valid()  # a bad value (say ?sort=bogus) drops only that parameter
    data = form.cleaned_data
    q, sort = data.get("q") or "", data.get("sort") or "name"
    listed = keyset.page_context(
        _projects(request, q, sort), _ORDERINGS.get(sort, _ORDERINGS["name"]), request.GET, PROJECTS_PER_PAGE
    )
    for project in listed["page"].rows:
        project.my_role_label = Role(project.my_role).label if project.my_role else ""  # type: ignore[attr-defined]
    context = listed | {
        "nav": "projects",
        "form": form,
        "q": q,
        "sort": sort,
        "can_create": can_create_projects(request.user, settings.WHARF_PROJECT_CREATION),
    }
    return render_page(request, "projects/list.html", "table", context)


@login_required
@require_http_methods(["GET", "POST"])
def project_create(request: HtmxHttpRequest) -> HttpResponse:
    if not can_create_projects(request.user, settings.WHARF_PROJECT_CREATION):
        raise PermissionDenied(_("Only system admins may create projects on this site."))
    form = ProjectCreateForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            project = create_project(
                actor=Actor.from_request(request),
                creator=request.user,
                **form.cleaned_data,
            )
        except ValidationError as exc:
            apply_validation_error(form, exc)
        else:
            messages.success(
                request, _("Project %(name)s created. You are its Project Admin.") % {"name": project.name}
            )
            return redirect("projects:detail", project.name)
    return render(request, "projects/create.html", {"nav": "projects", "form": form})


def _member_count(project: Project) -> int:
    return Membership.objects.filter(project=project).count()


@login_required
def project_detail(request: HtmxHttpRequest, name: str) -> HttpResponse:
    project = get_project(request.user, name)
    form = ProjectUpdateForm(initial={"description": project.description, "is_public": project.is_public})
    return _render_summary(request, project, form)


def _render_summary(request: HtmxHttpRequest, project: Project, form: ProjectUpdateForm) -> HttpResponse:
    context = project_context(project, "summary") | {
        "form": form,
        "member_count": _member_count(project),
        "usage": project_usage(project),
    }
    return render(request, "projects/detail.html", context)


@login_required
@require_POST
def project_update(request: HtmxHttpRequest, name: str) -> HttpResponse:
    project = get_project(request.user, name, Perm.UPDATE_PROJECT)
    form = ProjectUpdateForm(request.POST)
    if form.is_valid():
        try:
            update_project(project, actor=Actor.from_request(request), **form.cleaned_data)
        except ValidationError as exc:
            apply_validation_error(form, exc)
        else:
            messages.success(request, _("Project %(name)s saved.") % {"name": project.name})
            return redirect("projects:detail", project.name)
    return _render_summary(request, project, form)


@login_required
@require_http_methods(["GET", "POST"])
def project_delete(request: HtmxHttpRequest, name: str) -> HttpResponse:
    """GET: the confirmation (in the modal for htmx, else as a page); POST: delete."""
    project = get_project(request.user, name, Perm.DELETE_PROJECT)
    if request.method == "POST":
        delete_project(project, actor=Actor.from_request(request))
        messages.success(request, _("Project %(name)s deleted.") % {"name": project.name})
        url = reverse("projects:list")
        return HttpResponseClientRedirect(url) if request.htmx else redirect(url)
    context = {
        "title": _("Delete project %(name)s?") % {"name": project.name},
        "message": (
            _("This deletes %(name)s and its memberships. Its audit history stays. This cannot be undone.")
            % {"name": project.name}
        ),
        "action": reverse("projects:delete", args=[project.name]),
        "confirm_label": _("Delete project"),
        "cancel_url": reverse("projects:detail", args=[project.name]),
    }
    return render_page(request, "confirm.html", "dialog", context)
