"""Who may promote, and who may manage endpoints and replication: every page and
endpoint of this app asks here, and this module asks `accounts.permissions`."""

from __future__ import annotations

from typing import Any

from django.core.exceptions import PermissionDenied
from django.db.models import QuerySet
from django.http import Http404
from django.utils.translation import gettext as _

from accounts.permissions import PROMOTE_SOURCE_PERMISSION, PROMOTE_TARGET_PERMISSION, may_manage_replication
from repositories.access import get_project, get_repository, get_repository_in
from repositories.models import Artifact, Project, Repository


def _artifact_in(repository: Repository, digest: str) -> Artifact:
    artifact = Artifact.objects.filter(repository=repository, digest=digest).first()
    if artifact is None:
        raise Http404(_("No such artifact."))
    artifact.repository = repository
    return artifact


def promotion_source(user: Any, project_name: str, repo: str, digest: str) -> Artifact:
    """The artifact to promote, by project and repository path (pages): 404 when the
    user may not see it, 403 when they see it but may not pull it."""
    project = get_project(user, project_name, PROMOTE_SOURCE_PERMISSION)
    return _artifact_in(get_repository_in(project, repo), digest)


def promotion_source_by_name(user: Any, repository_name: str, digest: str) -> Artifact:
    """The same by the repository's full registry name (the API)."""
    return _artifact_in(get_repository(user, repository_name, PROMOTE_SOURCE_PERMISSION), digest)


def promotion_target(user: Any, project_name: str) -> Project:
    """The project to promote into: 404 when the user may not see it, 403 when they
    may not push there."""
    return get_project(user, project_name, PROMOTE_TARGET_PERMISSION)


def promotion_targets(user: Any) -> QuerySet[Project]:
    """The projects the target picker offers: where the user may push."""
    return Project.objects.where_user_may(user, PROMOTE_TARGET_PERMISSION).order_by("name")


def require_replication_manager(user: Any) -> None:
    """Raise PermissionDenied unless `user` may manage endpoints, rules and runs."""
    if not may_manage_replication(user):
        raise PermissionDenied(_("Only system admins may manage registry endpoints and replication."))
