"""Proxy-cache projects against real registries: the upstream, the project's
pull-through instance (Distribution in proxy mode, run from the config Wharf writes),
and Wharf's own. A pull of an image that exists only upstream goes through the
instance, and the import rule brings it into the project; the pages and the API
are for system admins; configuring and removing are audited."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import pytest

from audit.context import Actor
from audit.models import AuditAction, AuditEvent
from replication.management.commands.proxy_cache import write_config
from replication.models import ProxyCache, RegistryEndpoint, ReplicationRule
from replication.services import proxy_caches, runs
from repositories.models import Repository, Tag
from repositories.registry.builder import build_image, push
from tests.conftest import World
from tests.factories import ProjectFactory
from tests.support.registry import RegistryServer, free_port

pytestmark = pytest.mark.django_db

ADMIN = Actor.system("tests")


@pytest.mark.slow
def test_a_pull_through_the_cache_of_an_image_only_upstream_lands_in_the_project(
    world: World,
    wharf_registry: Any,
    registry_factory: Any,
    tmp_path: Path,
    settings: Any,
    django_capture_on_commit_callbacks: Any,
) -> None:
    settings.WHARF_PROXY_CACHE_DIR = tmp_path / "proxy-cache"
    upstream = registry_factory()
    image = build_image(layers=2)
    push(upstream.client(), "library/alpine", image, "3.19")
    push(upstream.client(), "library/busybox", build_image(), "1.36")  # never pulled
    hub = ProjectFactory(name="hub")
    endpoint = RegistryEndpoint.objects.create(name="upstream", url=upstream.url)
    cache = proxy_caches.configure(actor=ADMIN, project=hub, upstream=endpoint, port=free_port())
    config = write_config(cache)
    assert oct(os.stat(config).st_mode & 0o777) == "0o600" and "remoteurl" in config.read_text()
    instance = RegistryServer(tmp_path / "instance", port=cache.port)
    instance.config_path = config
    instance.start()
    try:
        client = instance.client()
        pulled = client.get_manifest("library/alpine", "3.19")  # what `docker pull` reads
        for blob in (pulled.config, *pulled.layers):
            assert blob is not None
            client.get_blob("library/alpine", blob.digest)
        assert pulled.digest == image.digest
        with django_capture_on_commit_callbacks(execute=True):
            run = runs.run_now(cache.rule, actor=ADMIN)
        assert run.status == "succeeded", run.message
        assert wharf_registry.client().head_manifest("hub/library/alpine", "3.19") == image.digest
        tag = Tag.objects.select_related("artifact", "repository__project").get(
            repository__name="hub/library/alpine", name="3.19"
        )
        assert tag.repository.project == hub and tag.artifact.details_synced
        assert not Repository.objects.filter(name__contains="busybox").exists()
    finally:
        instance.stop()


def test_configuring_makes_the_import_rule_and_removing_takes_it_away(world: World) -> None:
    hub = ProjectFactory(name="hub")
    endpoint = RegistryEndpoint.objects.create(name="upstream", url="https://registry-1.example.com")
    cache = proxy_caches.configure(actor=ADMIN, project=hub, upstream=endpoint)
    rule = cache.rule
    assert (rule.direction, rule.destination_namespace, rule.replace_namespace) == ("pull", "hub", False)
    assert rule.trigger == "scheduled" and rule.endpoint.url == cache.url
    assert cache.port == 5100
    second = proxy_caches.configure(actor=ADMIN, project=ProjectFactory(name="quay"), upstream=endpoint)
    assert second.port == 5101
    with pytest.raises(Exception, match="proxy cache already"):
        proxy_caches.configure(actor=ADMIN, project=hub, upstream=endpoint)
    with pytest.raises(Exception, match="instance itself"):
        proxy_caches.configure(actor=ADMIN, project=ProjectFactory(name="x"), upstream=rule.endpoint)
    from replication.services import endpoints, rules

    with pytest.raises(Exception, match="remove the proxy cache instead"):
        rules.delete_rule(rule, actor=ADMIN)
    with pytest.raises(Exception, match="Proxy-cache projects pull through it: hub, quay"):
        endpoints.delete_endpoint(endpoint, actor=ADMIN)
    proxy_caches.remove(cache, actor=ADMIN)
    assert not ReplicationRule.objects.filter(name="proxy-cache-hub").exists()
    assert not RegistryEndpoint.objects.filter(name="proxy-cache-hub").exists()
    actions = list(AuditEvent.objects.filter(project_name="hub").values_list("action", flat=True))
    assert AuditAction.PROXY_CACHE_CREATE in actions and AuditAction.PROXY_CACHE_DELETE in actions


@pytest.mark.parametrize(
    ("persona", "api_status", "page_status"),
    [
        ("sysadmin", 200, 200),
        ("padmin", 403, 403),
        ("developer", 403, 403),
        ("outsider", 403, 403),
        ("anonymous", 401, 302),
    ],
)
def test_only_system_admins_manage_proxy_caches(
    api: Any, world: World, persona: str, api_status: int, page_status: int
) -> None:
    endpoint = RegistryEndpoint.objects.create(name="upstream", url="https://registry-1.example.com")
    created = api(persona).post("/api/v1/proxy-caches/", {"project": "pub", "upstream": "upstream"})
    assert created.status_code == (201 if api_status == 200 else api_status), created.content
    assert api(persona).get("/api/v1/proxy-caches/").status_code == api_status
    assert world.client(persona).get("/replication/proxy-caches/").status_code == page_status
    if api_status == 200:
        cache = ProxyCache.objects.get()
        assert created.json()["url"] == f"http://127.0.0.1:{cache.port}"
        page = world.client(persona).get("/replication/proxy-caches/").content.decode()
        assert "proxy-cache-pub" in page and endpoint.name in page
        refused = api(persona).post("/api/v1/proxy-caches/", {"project": "pub", "upstream": "upstream"})
        assert refused.status_code == 400 and "project" in refused.json()
        assert api(persona).post(f"/api/v1/proxy-caches/{cache.pk}/imports/").status_code == 202
