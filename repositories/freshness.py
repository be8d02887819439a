"""How current Wharf's view of one repository is: the newest successful sync that
covered it, and the newest registry notification about it.

A sync of the whole registry covers every repository, a project sync the
repositories of its project, a repository sync itself. Notifications keep a
repository current between syncs, so the page names the newer of the two.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from django.db.models import F, Q, QuerySet

from portal.statements import Prepared

from .models import RegistryEvent, Repository, SyncRun


@dataclass(frozen=True, slots=True)
class LastSynced:
    """`run`: the newest succeeded sync covering the repository, or None (never
    synced). `event_at` / `event_action`: its newest registry notification, if any."""

    run: SyncRun | None
    event_at: datetime | None = None
    event_action: str = ""

    @property
    def synced_at(self) -> datetime | None:
        return self.run.finished_at if self.run is not None else None

    @property
    def event_is_newer(self) -> bool:
        """Whether a notification arrived after the last sync (or with no sync at all)."""
        if self.event_at is None:
            return False
        return self.synced_at is None or self.event_at > self.synced_at


def covering_runs(project_id: int, repository_name: str) -> Q:
    """The sync runs whose scope includes the repository `repository_name` of project `project_id`."""
    return (
        Q(scope=SyncRun.Scope.REGISTRY)
        | Q(scope=SyncRun.Scope.PROJECT, project_id=project_id)
        | Q(scope=SyncRun.Scope.REPOSITORY, repository_name=repository_name)
    )


def _newest_covering_run(project_id: int, repository_name: str) -> QuerySet[SyncRun]:
    return (
        SyncRun.objects.filter(covering_runs(project_id, repository_name), status=SyncRun.Status.SUCCEEDED)
        .only("id", "scope", "project_id", "repository_name", "status", "finished_at", "created_at")
        .order_by(F("finished_at").desc(nulls_last=True), "-id")[:1]
    )


def _newest_event(repository_name: str) -> QuerySet[RegistryEvent, tuple[datetime, str]]:
    return RegistryEvent.objects.filter(repository=repository_name).order_by("-received_at").values_list("received_at", "action")[:1]


# Built and compiled once per process (`portal.statements`).
_NEWEST_COVERING_RUN = Prepared(_newest_covering_run, int, str)
_NEWEST_EVENT = Prepared(_newest_event, str)


def last_synced(repository: Repository) -> LastSynced:
    """Two queries: the newest covering succeeded run (`covering_runs`), and the newest
    notification (answered by the `regevent_repo_received` index)."""
    alias = SyncRun.objects.db
    run = _NEWEST_COVERING_RUN.first(repository.project_id, repository.name, using=alias)
    event = _NEWEST_EVENT.first(repository.name, using=alias)
    if event is None:
        return LastSynced(run)
    return LastSynced(run, event[0], event[1])
