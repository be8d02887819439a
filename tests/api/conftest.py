"""Helpers for the API tests: JSON clients per persona, a fast password hasher, and
repository / artifact / tag rows made with the ORM (no registry needed)."""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import pytest
from django.test import Client
from django.utils import timezone

from audit.models import AuditEvent
from repositories.models import Artifact, Project, Repository, Tag
from repositories.services.content import refresh_repository_counts
from repositories.services.registry import reset_registry_client
from tests.conftest import World
from tests.support.registry import RegistryServer
from tests.support.shared_rows import ModuleRows, fresh, shared


@pytest.fixture(autouse=True)
def _fast_passwords(settings: Any) -> None:
    # The personas are created per test; PBKDF2 would dominate the run time.
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


class JsonClient:
    """A test client that sends JSON bodies, logged in as one persona (or not at all)."""

    def __init__(self, client: Client, **headers: str) -> None:
        self.client = client
        self.headers = headers

    def request(self, method: str, url: str, data: Any = None, **extra: Any) -> Any:
        call = getattr(self.client, method.lower())
        if method.upper() in ("GET", "HEAD"):
            return call(url, data, headers=self.headers, **extra)
        return call(url, data, content_type="application/json", headers=self.headers, **extra)

    def get(self, url: str, data: Any = None, **extra: Any) -> Any:
        return self.request("GET", url, data, **extra)

    def post(self, url: str, data: Any = None, **extra: Any) -> Any:
        return self.request("POST", url, data, **extra)

    def patch(self, url: str, data: Any = None, **extra: Any) -> Any:
        return self.request("PATCH", url, data, **extra)

    def delete(self, url: str, data: Any = None, **extra: Any) -> Any:
        return self.request("DELETE", url, data, **extra)


@pytest.fixture
def api(world: World) -> Callable[[str], JsonClient]:
    """`api("guest")`: a JSON client with a session for that persona."""
    return lambda persona: JsonClient(world.client(persona))


@pytest.fixture
def last_event_id(db: Any) -> Callable[[], int]:
    """The id of the newest audit event (0 if none), to find the events a call wrote."""
    return lambda: AuditEvent.objects.order_by("-id").values_list("id", flat=True).first() or 0


def digest_of(text: str) -> str:
    """A well-formed sha256 digest, distinct per `text`."""
    return "sha256:" + hashlib.sha256(text.encode()).hexdigest()


@dataclass
class RepoRows:
    """The rows `content` made in one project."""

    app: Repository
    nested: Repository
    image: Artifact
    index: Artifact
    children: list[Artifact]


def fill_project(project: Project) -> RepoRows:
    """`{p}/app` with an image tagged `v1` and `latest` and a two-platform index
    tagged `multi`, and `{p}/team/app/sub` with an image tagged `v2`: rows only,
    nothing in any registry."""
    name = project.name
    app = Repository.objects.create(project=project, name=f"{name}/app", description="The app")
    nested = Repository.objects.create(project=project, name=f"{name}/team/app/sub")
    now = timezone.now()
    image = Artifact.objects.create(
        repository=app,
        digest=digest_of(f"{name}-image"),
        media_type="application/vnd.oci.image.manifest.v1+json",
        kind=Artifact.Kind.IMAGE,
        size=1234,
        os="linux",
        architecture="amd64",
        pushed_at=now - timedelta(days=2),
        pull_count=7,
        labels={"org.opencontainers.image.title": "app"},
        config={
            "env": ["PATH=/usr/bin"],
            "entrypoint": ["/app"],
            "cmd": None,
            "working_dir": "/srv",
            "user": "",
            "exposed_ports": ["8080/tcp"],
            "volumes": [],
            "history": [{"created": None, "created_by": "COPY app /app", "comment": "", "empty_layer": False}],
        },
        layers=[{"digest": digest_of("layer"), "size": 1000, "media_type": "application/vnd.oci.image.layer.v1.tar+gzip"}],
        manifest=b'{"schemaVersion":2}',
        details_synced=True,
    )
    index = Artifact.objects.create(
        repository=app,
        digest=digest_of(f"{name}-index"),
        media_type="application/vnd.oci.image.index.v1+json",
        kind=Artifact.Kind.INDEX,
        size=4000,
        pushed_at=now - timedelta(days=1),
    )
    children = [
        Artifact.objects.create(
            repository=app, parent=index, digest=digest_of(f"{name}-{arch}"), os="linux", architecture=arch,
            variant=variant, size=2000, pushed_at=index.pushed_at,
        )
        for arch, variant in (("amd64", ""), ("arm64", "v8"))
    ]
    Tag.objects.create(repository=app, name="v1", artifact=image, pushed_at=image.pushed_at)
    Tag.objects.create(repository=app, name="latest", artifact=image, pushed_at=image.pushed_at)
    Tag.objects.create(repository=app, name="multi", artifact=index, pushed_at=index.pushed_at)
    nested_image = Artifact.objects.create(repository=nested, digest=digest_of(f"{name}-nested"), size=99)
    Tag.objects.create(repository=nested, name="v2", artifact=nested_image)
    for repository in (app, nested):
        refresh_repository_counts(repository)
        repository.refresh_from_db()
    return RepoRows(app=app, nested=nested, image=image, index=index, children=children)


def _fill_both(world: World) -> dict[str, RepoRows]:
    return {"acme": fill_project(world.private), "pub": fill_project(world.public)}


@pytest.fixture(scope="module")
def _module_content(module_rows: ModuleRows | None, _module_world: World | None) -> dict[str, RepoRows] | None:
    return shared(module_rows, "content", lambda: _fill_both(_module_world)) if _module_world else None


@pytest.fixture
def content(world: World, _module_content: dict[str, RepoRows] | None) -> dict[str, RepoRows]:
    """Repository rows in both `acme` and `pub` (see `fill_project`), by project name
    (made once per module when it can be: tests/support/shared_rows.py)."""
    return fresh(_module_content, lambda: _fill_both(world))


@pytest.fixture
def wharf_shared_registry(registry: RegistryServer, settings: Any) -> Iterator[RegistryServer]:
    """Wharf pointed at the session's registry: enough where a delete only has to
    reach a working registry (rows that were never pushed are 404s there, which
    the delete services accept)."""
    settings.REGISTRY_URL = registry.url
    reset_registry_client()
    yield registry
    reset_registry_client()


def body_without_request_id(response: Any) -> Any:
    """An error body less its request id, which differs per request, to compare two answers."""
    body = response.json()
    body.pop("request_id", None)
    return body
