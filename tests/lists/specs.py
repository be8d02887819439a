"""The long lists that page by cursor (`portal.keyset`), as the tests walk them: where a
list's page and API are, their orders, and how to add one more row to it (with sort values
that fall anywhere in the list: repeats, and NULLs where the column allows them)."""

from __future__ import annotations

import hashlib
import random
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

from django.utils import timezone

from accounts.models import RobotAccount, User
from audit.context import Actor
from audit.models import AuditAction
from audit.services import record
from repositories.api.registry_filters import ARTIFACT_API_ORDERINGS, REPOSITORY_API_ORDERINGS
from repositories.api.scanning_filters import ORDERINGS as FINDING_API_ORDERINGS
from repositories.models import (
    Artifact,
    Finding,
    Project,
    RecycleBinEntry,
    Repository,
    RetentionRun,
    RetentionRunItem,
    ScanReport,
)
from repositories.views.repositories import REPOSITORY_SORTS
from repositories.views.scans import SORTS as FINDING_PAGE_SORTS
from tests.conftest import World
from webhooks.models import Delivery, Webhook

NOW = timezone.now()


def _digest(text: str) -> str:
    return "sha256:" + hashlib.sha256(text.encode()).hexdigest()


def _when(rng: random.Random, nullable: bool = False) -> Any:
    if nullable and rng.random() < 0.25:
        return None
    return NOW - timedelta(minutes=rng.randrange(12))  # repeats on purpose


@dataclass
class ListSpec:
    """One list: `make(world, rng, k)` adds its k-th row; `api` / `page` are its URLs (None:
    it has none), `api_orders` / `page_sorts` the `ordering` / `sort` values to walk, `user`
    who reads it, `key` what identifies a row of the API answer / the page."""

    name: str
    user: str
    make: Callable[[World, random.Random, int], Any]
    api: str | None = None
    api_orders: list[str | None] = field(default_factory=lambda: [None])
    page: str | None = None
    page_sorts: list[str | None] = field(default_factory=lambda: [None])
    api_key: str = "id"
    context: Callable[[World], Any] | None = None


class _Scope:
    """Rows the specs share: a repository with its artifact, a report, a run, a webhook."""

    def __init__(self, world: World) -> None:
        self.repository = Repository.objects.create(project=world.private, name="acme/lists")
        self.artifact = Artifact.objects.create(repository=self.repository, digest=_digest("subject"))
        self.report = ScanReport.objects.create(artifact=self.artifact, status=ScanReport.Status.SUCCEEDED)
        self.run = RetentionRun.objects.create(
            project=world.private, status="succeeded", policy={"rules": []}
        )
        self.webhook = Webhook.objects.create(
            project=world.private, name="lists", url="https://example.invalid/hook"
        )


_SCOPES: dict[int, _Scope] = {}


def scope(world: World) -> _Scope:
    key = world.private.pk
    if key not in _SCOPES or not Repository.objects.filter(pk=_SCOPES[key].repository.pk).exists():
        _SCOPES[key] = _Scope(world)
    return _SCOPES[key]


def _project(world: World, rng: random.Random, k: int) -> Any:
    return Project.objects.create(
        name=f"list-{rng.randrange(10**6):06d}-{k}", created_at=_when(rng), is_public=True
    )


def _repository(world: World, rng: random.Random, k: int) -> Any:
    return Repository.objects.create(
        project=world.private,
        name=f"acme/r-{rng.randrange(10**6):06d}-{k}",
        size=rng.randrange(4),
        pull_count=rng.randrange(4),
        tag_count=rng.randrange(4),
        last_push_at=_when(rng, nullable=True),
    )


def _artifact(world: World, rng: random.Random, k: int) -> Any:
    return Artifact.objects.create(
        repository=scope(world).repository,
        digest=_digest(f"artifact-{k}-{rng.random()}"),
        size=rng.randrange(4),
        pull_count=rng.randrange(4),
        pushed_at=_when(rng),
        last_pull_at=_when(rng, nullable=True),
    )


def _finding(world: World, rng: random.Random, k: int) -> Any:
    return Finding.objects.create(
        report=scope(world).report,
        vulnerability_id=f"CVE-2027-{rng.randrange(30):04d}",
        package=rng.choice(["openssl", "zlib", "curl"]),
        severity=rng.choice(["critical", "high", "medium", "low", "unknown"]),
        cvss_score=None if rng.random() < 0.25 else rng.choice([2.5, 5.0, 7.5, 9.8]),
    )


def _run(world: World, rng: random.Random, k: int) -> Any:
    return RetentionRun.objects.create(
        project=world.private, status="succeeded", policy={"rules": []}, created_at=_when(rng)
    )


def _item(world: World, rng: random.Random, k: int) -> Any:
    return RetentionRunItem.objects.create(
        run=scope(world).run, repository_name="acme/lists", digest=_digest(f"item-{k}"), action="delete"
    )


def _entry(world: World, rng: random.Random, k: int) -> Any:
    return RecycleBinEntry.objects.create(
        project=world.private,
        repository_name="acme/lists",
        digest=_digest(f"entry-{k}"),
        media_type="x",
        manifest=b"{}",
        source="manual",
        deleted_at=_when(rng),
    )


def _robot(world: World, rng: random.Random, k: int) -> Any:
    return RobotAccount.objects.create(
        project=world.private,
        name=f"bot-{rng.randrange(10**6):06d}-{k}",
        secret_hash=_digest(f"robot-{k}")[7:71],
    )


def _system_robot(world: World, rng: random.Random, k: int) -> Any:
    return RobotAccount.objects.create(
        project=None, name=f"sys-{rng.randrange(10**6):06d}-{k}", secret_hash=_digest(f"system-{k}")[7:71]
    )


def _user(world: World, rng: random.Random, k: int) -> Any:
    return User.objects.create(username=f"user-{rng.randrange(10**6):06d}-{k}")


def _event(world: World, rng: random.Random, k: int) -> Any:
    return record(
        rng.choice([AuditAction.MEMBER_ADD, AuditAction.PROJECT_UPDATE]),
        actor=Actor.for_user(world.users["padmin"]),
        project=world.private,
        target_type="user",
        target_name=f"target-{k}",
    )


def _delivery(world: World, rng: random.Random, k: int) -> Any:
    return Delivery.objects.create(
        webhook=scope(world).webhook, event="PUSH_ARTIFACT", payload={}, status="succeeded"
    )


SPECS = [
    ListSpec(
        "projects",
        "sysadmin",
        _project,
        api="/api/v1/projects/",
        api_orders=["name", "-name", "created_at", "-created_at"],
        page="/projects/",
        page_sorts=["name", "-name", "created", "-created", "members", "role"],
        api_key="name",
    ),
    ListSpec(
        "repositories",
        "guest",
        _repository,
        api="/api/v1/projects/acme/repositories/",
        api_orders=list(REPOSITORY_API_ORDERINGS),
        page="/projects/acme/repositories/",
        page_sorts=list(REPOSITORY_SORTS),
        api_key="name",
    ),
    ListSpec(
        "artifacts",
        "guest",
        _artifact,
        api="/api/v1/repositories/acme/lists/-/artifacts/",
        api_orders=list(ARTIFACT_API_ORDERINGS),
        api_key="digest",
    ),
    ListSpec(
        "findings",
        "guest",
        _finding,
        api="/api/v1/repositories/acme/lists/-/artifacts/{digest}/scans/{report}/findings/",
        api_orders=list(FINDING_API_ORDERINGS),
        page="/projects/acme/repositories/lists/-/artifacts/{digest}/vulnerabilities/",
        page_sorts=list(FINDING_PAGE_SORTS),
    ),
    ListSpec(
        "retention runs",
        "guest",
        _run,
        api="/api/v1/projects/acme/retention-runs/",
        page="/projects/acme/retention/runs/",
    ),
    ListSpec(
        "retention run items",
        "guest",
        _item,
        api="/api/v1/projects/acme/retention-runs/{run}/items/",
        page="/projects/acme/retention/runs/{run}/",
    ),
    ListSpec(
        "recycle bin",
        "guest",
        _entry,
        api="/api/v1/projects/acme/recycle-bin/",
        page="/projects/acme/retention/deleted/",
    ),
    ListSpec(
        "project robots", "padmin", _robot, api="/api/v1/projects/acme/robots/", page="/projects/acme/robots/"
    ),
    ListSpec("system robots", "sysadmin", _system_robot, api="/api/v1/robots/", page="/robots/"),
    ListSpec("users", "sysadmin", _user, api="/api/v1/users/", page="/users/"),
    ListSpec("audit log", "sysadmin", _event, api="/api/v1/audit-events/", api_orders=[None]),
    ListSpec("project audit log", "guest", _event, api="/api/v1/projects/acme/audit-events/"),
    ListSpec(
        "webhook deliveries",
        "padmin",
        _delivery,
        api="/api/v1/projects/acme/webhooks/{webhook}/deliveries/",
        page="/projects/acme/webhooks/{webhook}/",
    ),
]


def url(world: World, template: str) -> str:
    """`template` with the shared rows' ids filled in."""
    if "{" not in template:
        return template
    shared = scope(world)
    return template.format(
        digest=shared.artifact.digest, report=shared.report.pk, run=shared.run.pk, webhook=shared.webhook.pk
    )
