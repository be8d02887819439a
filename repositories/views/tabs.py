"""The tab bar of a project's pages. Later features add a `ProjectTab` here."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from django.urls import reverse
from django.utils.translation import gettext_lazy as _

from accounts.permissions import Perm

from ..models import Project

if TYPE_CHECKING:
    from django_stubs_ext import StrOrPromise


@dataclass(frozen=True)
class ProjectTab:
    """One tab: shown to those holding `perm` in the project."""

    key: str
    label: StrOrPromise  # translated when the page renders
    url_name: str
    perm: Perm
    icon: str


PROJECT_TABS: list[ProjectTab] = [
    ProjectTab("summary", _("Summary"), "projects:detail", Perm.VIEW_PROJECT, "info-circle"),
    ProjectTab("repositories", _("Repositories"), "projects:repositories", Perm.VIEW_REPOSITORIES, "boxes"),
    ProjectTab("labels", _("Labels"), "projects:labels", Perm.VIEW_REPOSITORIES, "tags"),
    ProjectTab("statistics", _("Statistics"), "projects:statistics", Perm.VIEW_REPOSITORIES, "graph-up"),
    ProjectTab("security", _("Security"), "projects:security", Perm.VIEW_SCANS, "shield-check"),
    ProjectTab("signing", _("Signing"), "projects:signing_keys", Perm.VIEW_REPOSITORIES, "patch-check"),
    ProjectTab("policies", _("Policies"), "projects:policies", Perm.VIEW_PROJECT, "shield-lock"),
    ProjectTab("members", _("Members"), "projects:members", Perm.VIEW_MEMBERS, "people"),
    ProjectTab("retention", _("Retention"), "projects:retention", Perm.VIEW_RETENTION, "recycle"),
    ProjectTab("logs", _("Logs"), "projects:logs", Perm.VIEW_AUDIT, "journal-text"),
    ProjectTab("robots", _("Robots"), "projects:robots", Perm.VIEW_ROBOTS, "robot"),
    ProjectTab("webhooks", _("Webhooks"), "webhooks:project_list", Perm.MANAGE_WEBHOOKS, "broadcast"),
]


def project_context(project: Project, active: str) -> dict[str, Any]:
    """What every project page's template needs: the project, its visible tabs and
    `can` (a dict of the user's permissions there, for `{% if can.manage_members %}`).
    `project` must come from `repositories.access.get_project`, which sets `perms`."""
    perms: frozenset[Perm] = project.perms  # type: ignore[attr-defined]
    tabs = [
        {
            "key": tab.key,
            "label": tab.label,
            "icon": tab.icon,
            "url": reverse(tab.url_name, args=[project.name]),
            "active": tab.key == active,
        }
        for tab in PROJECT_TABS
        if tab.perm in perms
    ]
    return {"nav": "projects", "project": project, "tabs": tabs, "can": {perm.value: True for perm in perms}}
