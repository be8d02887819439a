""""Run GC now" on the page and in the API: system admins only, refusals are messages, not 500s."""

from __future__ import annotations

import pytest

from audit.models import AuditAction, AuditEvent
from repositories.models import GcRun
from tests.support.images import build_image, push

pytestmark = [pytest.mark.slow, pytest.mark.django_db]


@pytest.fixture
def own_registry(wharf_registry, settings):
    settings.WHARF_REGISTRY_CONFIG = str(wharf_registry.config_path)
    return wharf_registry


def test_run_gc_now_from_the_page_runs_the_collector_through_the_task(
    world, own_registry, django_capture_on_commit_callbacks
) -> None:
    image = build_image()
    client = own_registry.client()
    push(client, "acme/app", image, tag="v1")
    client.delete_manifest("acme/app", image.digest)
    admin = world.client("sysadmin")
    assert admin.get("/gc/").status_code == 200
    with django_capture_on_commit_callbacks(execute=True):
        response = admin.post("/gc/run/", {"dry_run": ""})
    assert response.status_code == 302
    run = GcRun.objects.get()
    assert (run.status, run.dry_run, run.blobs_removed) == (GcRun.Status.SUCCEEDED, False, 3), run.message
    assert run.bytes_removed == image.size + sum(blob.size for blob in image.blobs)
    assert AuditEvent.objects.filter(action=AuditAction.GC_REQUEST, actor_name="sysadmin").count() == 1
    page = admin.get("/gc/").content.decode()
    assert f"#{run.pk}" in page and "Succeeded" in page


def test_only_system_admins_see_or_start_gc(world, own_registry) -> None:
    for persona in ("padmin", "developer", "outsider"):
        client = world.client(persona)
        assert client.get("/gc/").status_code == 403
        assert client.post("/gc/run/", {"dry_run": "on"}).status_code == 403
        assert client.get("/api/v1/gc-runs/").status_code == 403
        assert client.post("/api/v1/gc-runs/", {"dry_run": True}, content_type="application/json").status_code == 403
    assert not GcRun.objects.exists()


def test_a_refused_gc_is_a_form_error_on_the_page_and_a_409_in_the_api(world, settings, tmp_path) -> None:
    settings.WHARF_REGISTRY_CONFIG = str(tmp_path / "absent.yml")
    admin = world.client("sysadmin")
    response = admin.post("/gc/run/", {"dry_run": "on"})
    assert response.status_code == 200
    assert "Wharf collects garbage only in the registry it runs itself" in response.content.decode()
    api = admin.post("/api/v1/gc-runs/", {"dry_run": True}, content_type="application/json")
    assert api.status_code == 409 and api.json()["code"] == "gc_refused"
    assert not GcRun.objects.exists()


def test_api_starts_a_gc_refuses_a_second_and_rejects_bad_fields(world, own_registry) -> None:
    admin = world.client("sysadmin")
    bad = admin.post("/api/v1/gc-runs/", {"dry_run": "perhaps"}, content_type="application/json")
    assert bad.status_code == 400 and "dry_run" in bad.json()
    first = admin.post("/api/v1/gc-runs/", {"dry_run": True}, content_type="application/json")
    assert first.status_code == 201, first.content
    assert first.json()["status"] == "queued" and first.json()["requested_by"] == "sysadmin"
    second = admin.post("/api/v1/gc-runs/", {"dry_run": True}, content_type="application/json")
    assert second.status_code == 409 and "already queued or running" in second.json()["detail"]
    listed = admin.get("/api/v1/gc-runs/").json()
    assert [run["id"] for run in listed["results"]] == [first.json()["id"]]
