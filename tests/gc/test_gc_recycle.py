"""A real garbage collection marks the recycle bin entries whose layers it removed: the
page and the API say they cannot be restored, and a restore is refused without asking
the registry. A dry run only counts them."""

from __future__ import annotations

from typing import Any

import pytest
from django.core.exceptions import ValidationError

from audit.context import Actor
from audit.models import AuditAction, AuditEvent
from repositories.models import GcRun, RecycleBinEntry
from repositories.services import gc
from repositories.services.recycle import restore
from tests.retention_runs.test_recycle_bin import delete_v1_by_retention

pytestmark = [pytest.mark.slow, pytest.mark.django_db]


@pytest.fixture
def own_registry(wharf_registry: Any, settings: Any) -> Any:
    settings.WHARF_REGISTRY_CONFIG = str(wharf_registry.config_path)
    return wharf_registry


def _run(dry_run: bool) -> GcRun:
    run = gc.claim_gc(gc.request_gc(actor=Actor.system("admin"), dry_run=dry_run).pk)
    assert run is not None
    return gc.execute_gc(run)


def test_a_dry_run_counts_the_entries_it_would_make_unrestorable_and_marks_none(own_registry: Any) -> None:
    entry = delete_v1_by_retention(own_registry)
    run = _run(dry_run=True)
    assert run.status == GcRun.Status.SUCCEEDED, run.message
    assert run.recycle_entries == 1
    entry.refresh_from_db()
    assert entry.collected_at is None and entry.restorable


def test_a_real_gc_marks_the_entry_and_restore_is_refused_without_asking_the_registry(
    own_registry: Any, world: Any
) -> None:
    entry = delete_v1_by_retention(own_registry)
    untouched = RecycleBinEntry.objects.create(
        project=entry.project,
        repository_name=entry.repository_name,
        digest="sha256:" + "0" * 64,
        media_type=entry.media_type,
        manifest=b"{}",
        source=RecycleBinEntry.Source.MANUAL,
    )  # needs no blob: a GC leaves it alone
    run = _run(dry_run=False)
    assert run.status == GcRun.Status.SUCCEEDED, run.message
    assert run.recycle_entries == 1
    entry.refresh_from_db()
    assert entry.collected_by_id == run.pk and entry.collected_at == run.finished_at and not entry.restorable
    untouched.refresh_from_db()
    assert untouched.collected_at is None
    end = AuditEvent.objects.get(action=AuditAction.GC_END)
    assert end.details["recycle_entries"] == 1

    own_registry.stop()  # the refusal comes from Wharf's own record, not from a registry probe
    with pytest.raises(ValidationError, match=f"garbage collection #{run.pk} removed its layers") as refused:
        restore(entry, actor=Actor.system("test"))
    assert refused.value.code == "garbage_collected"

    admin = world.client("padmin")
    page = admin.get("/projects/acme/retention/deleted/").content.decode()
    assert "not restorable" in page and f"GC #{run.pk}" in page
    assert f"/projects/acme/retention/deleted/{entry.pk}/restore/" not in page
    dialog = admin.get(f"/projects/acme/retention/deleted/{entry.pk}/restore/").content.decode()
    assert "Not restorable" in dialog and "confirm-restore-button" not in dialog
    posted = admin.post(f"/projects/acme/retention/deleted/{entry.pk}/restore/", follow=True)
    assert (
        posted.status_code == 200
        and f"garbage collection #{run.pk} removed its layers" in posted.content.decode()
    )

    api = admin.get("/api/v1/projects/acme/recycle-bin/").json()["results"]
    row = next(r for r in api if r["id"] == entry.pk)
    assert (row["restorable"], row["collected_by"]) == (False, run.pk) and row["collected_at"]
    assert next(r for r in api if r["id"] == untouched.pk)["restorable"] is True
    answer = admin.post(f"/api/v1/projects/acme/recycle-bin/{entry.pk}/restore/")
    assert answer.status_code == 409 and answer.json()["code"] == "garbage_collected"
    assert f"garbage collection #{run.pk}" in answer.json()["detail"]


def test_a_restore_that_finds_blobs_gone_marks_the_entry_for_the_page(own_registry: Any) -> None:
    """A collector run outside Wharf: the probe finds the blobs missing once, then the row says so."""
    import subprocess

    from tests.support.registry import REGISTRY_BINARY

    entry = delete_v1_by_retention(own_registry)
    own_registry.stop()
    subprocess.run(
        [REGISTRY_BINARY, "garbage-collect", str(own_registry.config_path)],
        check=True,
        capture_output=True,
        timeout=60,
    )
    own_registry.start()
    with pytest.raises(ValidationError, match="cannot be restored"):
        restore(entry, actor=Actor.system("test"))
    entry.refresh_from_db()
    assert entry.collected_at is not None and entry.collected_by_id is None and not entry.restorable
