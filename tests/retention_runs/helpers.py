"""Helpers of the retention run tests: content rows, pushed images, policies as data."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from django.conf import settings
from django.utils import timezone

from audit.context import Actor
from repositories.models import Artifact, Project, PushedAtSource, Repository, Tag
from repositories.registry import RegistryClient
from repositories.services import retention_runs
from repositories.services.registry import job_client
from repositories.services.sync import sync_now
from tests.support.images import build_image, push
from tests.support.registry import RegistryServer

ACTOR = Actor.system("test")


def runs_client(monkeypatch: pytest.MonkeyPatch) -> RegistryClient:
    """The client the next real run deletes through (a run builds its own), for a test to patch."""
    client = job_client(settings.WHARF_RETENTION_CONCURRENCY + 1)
    monkeypatch.setattr(retention_runs, "job_client", lambda connections: client)
    return client


def rule(
    template: str = "latest_pushed_n",
    n: int | None = 2,
    *,
    repos: list[str] | None = None,
    tags: list[str] | None = None,
    exclude_tags: list[str] | None = None,
    untagged: bool = False,
) -> dict[str, Any]:
    """A rule as policy data (the services' input shape)."""
    return {
        "repositories": {"include": repos or ["**"], "exclude": []},
        "tags": {"include": ["**"] if tags is None else tags, "exclude": exclude_tags or [], "untagged": untagged},
        "template": template,
        "n": n,
    }


def immutable(repos: list[str] | None = None, tags: list[str] | None = None, enabled: bool = True) -> dict[str, Any]:
    return {
        "repositories": {"include": repos or ["**"], "exclude": []},
        "tags": {"include": tags or ["**"], "exclude": []},
        "enabled": enabled,
    }


def rows(project: Project, repository: str, tags: dict[str, int]) -> dict[str, Artifact]:
    """Artifact and tag rows without a registry: one artifact per tag, pushed `days` ago."""
    repo, _ = Repository.objects.get_or_create(name=f"{project.name}/{repository}", defaults={"project": project})
    now = timezone.now()
    made = {}
    for index, (tag, days) in enumerate(tags.items()):
        at = now - timedelta(days=days)
        artifact = Artifact.objects.create(
            repository=repo, digest="sha256:" + f"{index:02d}{repository}".encode().hex().ljust(64, "0")[:64],
            pushed_at=at,
            pushed_at_source=PushedAtSource.PUSH,
        )
        Tag.objects.create(
            repository=repo, name=tag, artifact=artifact, pushed_at=at, pushed_at_source=PushedAtSource.PUSH
        )
        made[tag] = artifact
    return made


def seed(server: RegistryServer, repository: str, tags: dict[str, int]) -> dict[str, str]:
    """Push one image per tag to the real registry, sync, then date each push `days` ago.

    Returns tag → digest. Pushes are spread in time so "most recently pushed" is defined.
    """
    client = server.client()
    digests = {tag: push(client, repository, build_image(), tag=tag) for tag in tags}
    sync_now()
    now = timezone.now()
    for tag, days in tags.items():
        at = now - timedelta(days=days)
        Tag.objects.filter(repository__name=repository, name=tag).update(pushed_at=at)
        Artifact.objects.filter(repository__name=repository, digest=digests[tag]).update(pushed_at=at)
    return digests
