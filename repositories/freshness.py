"""How current Wharf's view of one repository is: the newest successful sync that
covered it, and the newest registry notification about it.

A sync of the whole registry covers every repository, a project sync the
repositories of its project, a repository sync itself. Notifications keep a
repository current between syncs, so the page names the newer of the two.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from django.db.models import F, Q

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


def covering_runs(repository: Repository) -> Q:
    """The sync runs whose scope includes `repository`."""
    return (
        Q(scope=SyncRun.Scope.REGISTRY)
        | Q(scope=SyncRun.Scope.PROJECT, project_id=repository.project_id)
        | Q(scope=SyncRun.Scope.REPOSITORY, repository_name=repository.name)
    )


def last_synced(repository: Repository) -> LastSynced:
    """Two queries: the newest covering succeeded run, and the newest notification
    (answered by the `regevent_repo_received` index)."""
    run = (
        SyncRun.objects.filter(covering_runs(repository), status=SyncRun.Status.SUCCEEDED)
        .only("id", "scope", "project_id", "repository_name", "status", "finished_at", "created_at")
        .order_by(F("finished_at").desc(nulls_last=True), "-id")
        .first()
    )
    event = (
        RegistryEvent.objects.filter(repository=repository.name)
        .order_by("-received_at")
        .values_list("received_at", "action")
        .first()
    )
    if event is None:
        return LastSynced(run)
    return LastSynced(run, event[0], event[1])
