"""Quotas are reserved at decision time: concurrent pushes through the gate (nginx in front
of a real registry) that each fit but together exceed the quota cannot both pass.

The test registry sends no notifications, so Wharf's rows never show a push made through
the gate until `sync_now`: without reservations every push below would be judged on the
same usage and all would pass.
"""

from __future__ import annotations

import os
import subprocess
import threading
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path
from typing import TypeVar

import httpx
import pytest
from django.utils import timezone

from audit.context import Actor
from repositories.models import Artifact, Project, QuotaReservation
from repositories.registry.builder import BuiltManifest, build_image, make_layer, write_oci_layout
from repositories.services import gate as gate_service
from repositories.services.sync import sync_now
from tests.gate.conftest import Gated
from tests.gate.test_gate_registry import _registry_digest, _stored, copy_in

pytestmark = [pytest.mark.slow]

ACTOR = Actor.system("test")
T = TypeVar("T")


def _together(*calls: Callable[[], T]) -> list[T]:
    """Run the callables in threads released at the same moment; their results in order."""
    barrier = threading.Barrier(len(calls))
    results: dict[int, T] = {}

    def run(index: int, call: Callable[[], T]) -> None:
        barrier.wait()
        results[index] = call()

    threads = [threading.Thread(target=run, args=(i, call)) for i, call in enumerate(calls)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    return [results[i] for i in range(len(calls))]


def _quota_project(gated: Gated, **quota: int | None) -> Project:
    _stored(gated, "acme/web", build_image(), "base")
    project = Project.objects.get(name="acme")
    gate_service.save_policy(project, quota, actor=ACTOR)
    return project


def _image(size: int) -> BuiltManifest:
    return build_image(layer_blobs=[make_layer({"data.bin": os.urandom(size)})])


def test_two_concurrent_skopeo_pushes_that_together_exceed_the_storage_quota_one_is_refused(
    gated: Gated, tmp_path: Path
) -> None:
    project = _quota_project(gated)
    used = gate_service.project_usage(project).unique_size
    first, second = _image(20_000), _image(20_000)  # random bytes: gzip keeps them ~20 kB each
    gate_service.save_policy(project, {"quota_bytes": used + 30_000}, actor=ACTOR)  # room for one
    write_oci_layout(tmp_path / "one", {"t": first})
    write_oci_layout(tmp_path / "two", {"t": second})

    results: list[subprocess.CompletedProcess[str]] = _together(
        lambda: copy_in(tmp_path / "one", "t", gated.gate.host, "acme/web:one"),
        lambda: copy_in(tmp_path / "two", "t", gated.gate.host, "acme/web:two"),
    )

    assert sorted(r.returncode == 0 for r in results) == [False, True], [r.stderr for r in results]
    refused = next(r for r in results if r.returncode != 0)
    assert "would exceed project acme's storage quota" in refused.stderr
    assert "pushes in progress add" in refused.stderr
    stored = [_registry_digest(gated, "acme/web", tag) for tag in ("one", "two")]
    assert sorted(d is None for d in stored) == [False, True]
    assert QuotaReservation.objects.filter(project=project).count() == 1  # the one that passed

    # Once Wharf's rows hold the pushed image, its reservation has done its work: it settles,
    # and the quota counts the image once (as usage), not twice.
    sync_now()
    assert gate_service.project_usage(project).unique_size > used + 20_000
    small = build_image(layer_blobs=[], labels={"x": "y"})
    write_oci_layout(tmp_path / "small", {"t": small})
    pushed = copy_in(tmp_path / "small", "t", gated.gate.host, "acme/web:small")
    assert pushed.returncode == 0, pushed.stderr
    assert not QuotaReservation.objects.filter(project=project, digest__in=[d for d in stored if d]).exists()


def test_concurrent_manifest_puts_over_the_artifact_quota_pass_exactly_as_many_as_fit(gated: Gated) -> None:
    project = _quota_project(gated)
    images = [_image(100) for _ in range(4)]
    for image in images:  # blobs straight to the registry: only the manifest PUTs race
        for blob in image.blobs:
            gated.registry.client().upload_blob("acme/web", blob.data)
    held = Artifact.objects.filter(repository__project=project).count()
    gate_service.save_policy(project, {"quota_artifacts": held + 2}, actor=ACTOR)  # room for two of four

    def put(index: int) -> httpx.Response:
        image = images[index]
        return httpx.put(
            f"{gated.gate.url}/v2/acme/web/manifests/t{index}",
            content=image.raw,
            headers={"Content-Type": image.media_type},
            timeout=60,
        )

    answers = _together(*(lambda i=i: put(i) for i in range(4)))  # type: ignore[misc]
    assert sorted(a.status_code for a in answers) == [201, 201, 403, 403], [a.text for a in answers]
    assert all(
        "quota of" in a.text and "(policy: artifact quota)" in a.text for a in answers if a.status_code == 403
    )


def test_a_reservation_is_released_when_the_registry_refuses_the_manifest_or_when_it_expires(
    gated: Gated, settings: object
) -> None:
    project = _quota_project(gated, quota_artifacts=None)
    gate_service.save_policy(project, {"quota_artifacts": 100}, actor=ACTOR)
    orphan = _image(100)  # its blobs were never uploaded: the registry answers 400
    answer = httpx.put(
        f"{gated.gate.url}/v2/acme/web/manifests/orphan",
        content=orphan.raw,
        headers={"Content-Type": orphan.media_type},
    )
    assert answer.status_code == 400 and "BLOB_UNKNOWN" in answer.text
    assert not QuotaReservation.objects.exists()

    # A push that passed the gate but never reached Wharf's rows stops counting at its expiry.
    gate_service.save_policy(project, {"quota_artifacts": 2}, actor=ACTOR)  # `base` + one more
    first, second = _image(100), _image(100)
    for image in (first, second):
        for blob in image.blobs:
            gated.registry.client().upload_blob("acme/web", blob.data)

    def put(image: BuiltManifest, tag: str) -> int:
        return httpx.put(
            f"{gated.gate.url}/v2/acme/web/manifests/{tag}",
            content=image.raw,
            headers={"Content-Type": image.media_type},
        ).status_code

    assert put(first, "first") == 201
    assert put(second, "second") == 403  # `first` is reserved (Wharf's rows do not show it)
    QuotaReservation.objects.update(expires_at=timezone.now() - timedelta(seconds=1))
    assert put(second, "second") == 201  # nothing holds the quota any more (the rows still lag)
    assert QuotaReservation.objects.count() == 1
