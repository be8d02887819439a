"""skopeo through the gate (nginx) in front of the real registry, Wharf judging each manifest."""

from __future__ import annotations

import os
import subprocess
import time
from pathlib import Path
from typing import Any

import httpx
import pytest

from audit.context import Actor
from audit.models import AuditAction, AuditEvent
from portal.metrics import GATE_DECISIONS
from repositories.models import Artifact, Project, ScanReport, Tag
from repositories.registry.builder import BuiltManifest, build_image, make_layer, push, write_oci_layout
from repositories.registry.manifests import OCI_MANIFEST
from repositories.services import gate as gate_service
from repositories.services import signatures
from repositories.services.registry import registry_client
from repositories.services.retention import save_immutable_rules
from repositories.services.sync import sync_now
from tests.gate.conftest import Gated, dead_wharf
from tests.support import cosign

pytestmark = [pytest.mark.slow]

ACTOR = Actor.system("test")


def _skopeo(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        ["skopeo", "--insecure-policy", *args], capture_output=True, text=True, timeout=60, check=False
    )


def inspect(host: str, reference: str) -> subprocess.CompletedProcess[str]:
    return _skopeo("inspect", "--raw", "--tls-verify=false", f"docker://{host}/{reference}")


def copy_in(layout: Path, tag: str, host: str, reference: str) -> subprocess.CompletedProcess[str]:
    return _skopeo("copy", "--dest-tls-verify=false", f"oci:{layout}:{tag}", f"docker://{host}/{reference}")


def pull(host: str, reference: str, directory: Path) -> subprocess.CompletedProcess[str]:
    return _skopeo("copy", "--src-tls-verify=false", f"docker://{host}/{reference}", f"dir:{directory}")


def _stored(gated: Gated, repository: str, manifest: BuiltManifest, tag: str) -> str:
    """Push straight to the registry (setting the scene) and sync, so Wharf has the rows."""
    digest = push(gated.registry.client(), repository, manifest, tag)
    sync_now()
    return digest


def _scanned(digest: str, **counts: int) -> None:
    for artifact in Artifact.objects.filter(digest=digest):
        ScanReport.objects.create(
            artifact=artifact,
            status=ScanReport.Status.SUCCEEDED,
            counts={"critical": 0, "high": 0, "medium": 0, "low": 0, "unknown": 0, **counts},
        )


def _registry_digest(gated: Gated, repository: str, tag: str) -> str | None:
    return registry_client().head_manifest(repository, tag)


def test_a_vulnerable_image_is_refused_with_the_policy_in_the_message_and_a_clean_one_pulls(
    gated: Gated, tmp_path: Path
) -> None:
    bad = _stored(gated, "acme/web", build_image(), "v1")
    good = _stored(gated, "acme/web", build_image(), "v2")
    _scanned(bad, critical=3, high=1)
    _scanned(good, medium=2)
    project = Project.objects.get(name="acme")
    gate_service.save_policy(project, {"block_severity": "critical"}, actor=ACTOR)

    refused = inspect(gated.gate.host, "acme/web:v1")
    assert refused.returncode != 0
    assert (
        f"denied: image acme/web:v1 ({bad}) has 3 critical vulnerabilities (policy: block critical)"
        in refused.stderr
    )

    by_digest = inspect(gated.gate.host, f"acme/web@{bad}")
    assert f"denied: image acme/web@{bad} has 3 critical vulnerabilities" in by_digest.stderr

    fetched = pull(gated.gate.host, "acme/web:v2", tmp_path / "v2")
    assert fetched.returncode == 0, fetched.stderr
    assert (tmp_path / "v2" / "manifest.json").exists()

    gate_service.save_policy(project, {"block_severity": "high"}, actor=ACTOR)
    assert (
        "has 3 critical and 1 high vulnerabilities (policy: block high and above)"
        in inspect(gated.gate.host, "acme/web:v1").stderr
    )

    events = AuditEvent.objects.filter(action=AuditAction.GATE_PULL_REFUSED)
    assert events.filter(target_name="acme/web:v1").count() == 2  # one per reason and minute, not per attempt
    assert events.first().details["policy"] == "vulnerable"  # type: ignore[union-attr]


def test_an_unscanned_image_is_refused_and_projects_without_policies_pull_freely(gated: Gated) -> None:
    _stored(gated, "acme/web", build_image(), "v1")
    _stored(gated, "open/web", build_image(), "v1")
    gate_service.save_policy(Project.objects.get(name="acme"), {"block_severity": "low"}, actor=ACTOR)
    assert "has not been scanned for vulnerabilities" in inspect(gated.gate.host, "acme/web:v1").stderr
    assert inspect(gated.gate.host, "open/web:v1").returncode == 0
    assert "not known to Wharf yet" in inspect(gated.gate.host, "acme/web:nope").stderr


def test_only_signed_images_pull_once_signed_by_a_trusted_key(gated: Gated, tmp_path: Path) -> None:
    image = build_image()
    digest = _stored(gated, "acme/web", image, "v1")
    project = Project.objects.get(name="acme")
    gate_service.save_policy(project, {"require_signed": True}, actor=ACTOR)

    refused = inspect(gated.gate.host, "acme/web:v1")
    assert (
        f"denied: image acme/web:v1 ({digest}): it is not signed by a key the project trusts "
        "(policy: only signed images)" in refused.stderr
    )

    key = cosign.new_key()
    signatures.add_key(project=project, name="release", public_key=cosign.public_pem(key), actor=ACTOR)
    sig_tag = digest.replace(":", "-") + ".sig"
    _stored(gated, "acme/web", cosign.legacy_signature(key, digest), sig_tag)
    signatures.verify_project(project, registry_client())

    assert pull(gated.gate.host, "acme/web:v1", tmp_path / "v1").returncode == 0
    assert inspect(gated.gate.host, f"acme/web:{sig_tag}").returncode == 0  # cosign verify reads it

    tampered = _stored(gated, "acme/web", build_image(), "v2")
    _stored(
        gated,
        "acme/web",
        cosign.legacy_signature(key, tampered, tamper=True, rekor=True),
        tampered.replace(":", "-") + ".sig",
    )
    signatures.verify_project(project, registry_client())
    assert (
        "its signature is not valid: payload changed after signing"
        in inspect(gated.gate.host, "acme/web:v2").stderr
    )


def test_overwriting_an_immutable_tag_fails_at_push_and_the_tag_keeps_its_digest(
    gated: Gated, tmp_path: Path
) -> None:
    image = build_image()
    first = _stored(gated, "acme/web", image, "v1")
    project = Project.objects.get(name="acme")
    save_immutable_rules(
        project,
        ACTOR,
        rules=[{"repositories": {"include": ["**"]}, "tags": {"include": ["v*"]}}],
        revert_protected_overwrites=False,
    )
    other = build_image()
    write_oci_layout(tmp_path / "layout", {"new": other})

    refused = copy_in(tmp_path / "layout", "new", gated.gate.host, "acme/web:v1")
    assert refused.returncode != 0
    assert f"denied: tag acme/web:v1 is immutable and already points at {first}" in refused.stderr
    assert "(policy: immutable rule 1)" in refused.stderr
    assert _registry_digest(gated, "acme/web", "v1") == first
    assert AuditEvent.objects.filter(action=AuditAction.GATE_PUSH_REFUSED, target_name="acme/web:v1").exists()

    # Another tag goes through the gate (Wharf forwards the PUT), and so does the same digest again.
    pushed = copy_in(tmp_path / "layout", "new", gated.gate.host, "acme/web:latest")
    assert pushed.returncode == 0, pushed.stderr
    assert _registry_digest(gated, "acme/web", "latest") == other.digest
    write_oci_layout(tmp_path / "same", {"v1": image})
    again = copy_in(tmp_path / "same", "v1", gated.gate.host, "acme/web:v1")
    assert again.returncode == 0, again.stderr


def test_a_push_over_the_storage_quota_is_refused_and_nothing_is_half_written(
    gated: Gated, tmp_path: Path
) -> None:
    shared = make_layer({"shared.txt": b"s" * 2000})
    _stored(gated, "acme/web", build_image(layer_blobs=[shared]), "v1")
    project = Project.objects.get(name="acme")
    used = gate_service.project_usage(project).unique_size
    gate_service.save_policy(project, {"quota_bytes": used + 3000}, actor=ACTOR)
    artifacts_before = Artifact.objects.count()

    big = build_image(layer_blobs=[shared, make_layer({"big.bin": os.urandom(20_000)})])
    write_oci_layout(tmp_path / "big", {"big": big})
    refused = copy_in(tmp_path / "big", "big", gated.gate.host, "acme/web:v2")
    assert refused.returncode != 0
    assert "denied: pushing acme/web:v2 would exceed project acme's storage quota" in refused.stderr
    assert "(policy: storage quota)" in refused.stderr
    assert _registry_digest(gated, "acme/web", "v2") is None
    assert Artifact.objects.count() == artifacts_before and not Tag.objects.filter(name="v2").exists()

    # Dedup-aware: an image that only adds a small config and manifest to the shared layer fits.
    small = build_image(layer_blobs=[shared], labels={"x": "y"})
    write_oci_layout(tmp_path / "small", {"small": small})
    assert copy_in(tmp_path / "small", "small", gated.gate.host, "acme/web:v3").returncode == 0

    gate_service.save_policy(
        project, {"quota_bytes": None, "quota_artifacts": Artifact.objects.count()}, actor=ACTOR
    )
    sync_now()
    gate_service.save_policy(
        project,
        {"quota_artifacts": Artifact.objects.filter(repository__project=project).count()},
        actor=ACTOR,
    )
    over = copy_in(tmp_path / "big", "big", gated.gate.host, "acme/web:v4")
    assert "quota of" in over.stderr and "(policy: artifact quota)" in over.stderr


def test_when_wharf_does_not_answer_projects_with_policies_are_refused_and_others_pass(gated: Gated) -> None:
    _stored(gated, "acme/web", build_image(), "v1")
    _stored(gated, "open/web", build_image(), "v1")
    gate_service.save_policy(Project.objects.get(name="acme"), {"require_signed": True}, actor=ACTOR)
    manifest = httpx.get(
        f"{gated.registry.url}/v2/open/web/manifests/v1", headers={"Accept": OCI_MANIFEST}
    ).content
    put = {"content": manifest, "headers": {"Content-Type": OCI_MANIFEST}}
    blind = gated.start_gate(wharf=dead_wharf(), timeout=0.5)

    refused = httpx.get(f"{blind.url}/v2/acme/web/manifests/v1")
    assert refused.status_code == 503 and refused.json()["errors"][0]["code"] == "UNAVAILABLE"
    assert httpx.put(f"{blind.url}/v2/acme/web/manifests/v9", **put).status_code == 503  # type: ignore[arg-type]
    # A project without policies never needed Wharf's answer: pulls and pushes go through.
    assert (
        httpx.get(f"{blind.url}/v2/open/web/manifests/v1", headers={"Accept": OCI_MANIFEST}).status_code
        == 200
    )
    assert httpx.put(f"{blind.url}/v2/open/web/manifests/v9", **put).status_code == 201  # type: ignore[arg-type]

    closed = gated.start_gate(wharf=dead_wharf(), timeout=0.5, failure="closed")
    assert httpx.put(f"{closed.url}/v2/open/web/manifests/v10", **put).status_code == 503  # type: ignore[arg-type]
    opened = gated.start_gate(wharf=dead_wharf(), timeout=0.5, failure="open")
    assert (
        httpx.get(f"{opened.url}/v2/acme/web/manifests/v1", headers={"Accept": OCI_MANIFEST}).status_code
        == 200
    )


def test_only_nginx_may_ask_the_gate_endpoints(gated: Gated, live_server: Any) -> None:
    assert httpx.get(f"{live_server.url}/service/gate/pull").status_code == 404
    assert (
        httpx.put(f"{live_server.url}/service/gate/push/v2/acme/web/manifests/v1", content=b"{}").status_code
        == 404
    )


def _decisions() -> float:
    """Pull decisions Wharf made so far (the live server runs in this process)."""
    return sum(
        sample.value
        for metric in GATE_DECISIONS.collect()
        for sample in metric.samples
        if sample.name.endswith("_total") and sample.labels.get("operation") == "pull"
    )


def test_answers_kept_by_nginx_still_name_the_policy_and_a_policy_change_applies_within_the_kept_time(
    gated: Gated,
) -> None:
    digest = _stored(gated, "acme/web", build_image(), "v1")
    _scanned(digest)
    project = Project.objects.get(name="acme")
    gate_service.save_policy(project, {"require_signed": True}, actor=ACTOR)
    kept = gated.start_gate(cache_seconds=1)
    url = f"{kept.url}/v2/acme/web/manifests/v1"
    accept = {"Accept": OCI_MANIFEST}

    asked = _decisions()
    started = time.monotonic()
    answers = [httpx.get(url, headers=accept) for _ in range(5)]
    quick = time.monotonic() - started < 1.0  # nginx's kept "1 s" lasts at least that long
    for answer in answers:  # the first asks Wharf, the others get nginx's kept answer, message and all
        assert answer.status_code == 403
        assert f"({digest}): it is not signed" in answer.json()["errors"][0]["message"]
    if quick:
        assert _decisions() - asked == 1, "nginx did not keep Wharf's answer"

    # A change is seen by every request that starts more than the kept time (+1 s: nginx's
    # clock counts whole seconds) after it: an expired answer is never used again.
    for change, status in (({"require_signed": False, "block_severity": "critical"}, 200),
                           ({"block_severity": "", "require_signed": True}, 403)):
        assert httpx.get(url, headers=accept).status_code != status  # the old answer, now kept
        gate_service.save_policy(project, change, actor=ACTOR)
        time.sleep(2.05)
        assert httpx.get(url, headers=accept).status_code == status


def test_with_bounded_staleness_an_expired_answer_serves_at_most_the_stale_time_more(
    gated: Gated, settings: Any
) -> None:
    settings.WHARF_GATE_DECISION_STALE = 1
    digest = _stored(gated, "acme/web", build_image(), "v1")
    _scanned(digest)
    project = Project.objects.get(name="acme")
    gate_service.save_policy(project, {"require_signed": True}, actor=ACTOR)
    kept = gated.start_gate(cache_seconds=1, stale_seconds=1)
    url = f"{kept.url}/v2/acme/web/manifests/v1"
    accept = {"Accept": OCI_MANIFEST}
    while True:  # an answer kept within one second of nginx's clock
        before = time.time()
        assert httpx.get(url, headers=accept).status_code == 403
        stored = time.time()
        if int(before) == int(stored):
            break
        time.sleep(3.1)  # let it expire and go stale, then try again
    gate_service.save_policy(project, {"require_signed": False, "block_severity": "critical"}, actor=ACTOR)
    # nginx counts whole seconds: kept "1 s" means through second int(stored) + 1, then stale
    # (used while Wharf is asked in the background) through int(stored) + 2.
    time.sleep(max(0.0, int(stored) + 2.2 - time.time()))
    if time.time() < int(stored) + 2.8:
        assert httpx.get(url, headers=accept).status_code == 403  # the expired answer, no wait
    time.sleep(max(0.0, stored + 3.05 - time.time()))  # kept 1 s (+1 s clock) and 1 s stale at most
    assert httpx.get(url, headers=accept).status_code == 200
    gate_service.save_policy(project, {"require_signed": True, "block_severity": ""}, actor=ACTOR)
    time.sleep(3.05)
    answer = httpx.get(url, headers=accept)
    assert answer.status_code == 403 and "it is not signed" in answer.json()["errors"][0]["message"]


def test_a_large_manifest_passes_the_gate_and_an_oversized_one_is_refused(gated: Gated) -> None:
    image = build_image(annotations={"padding": "x" * 3_000_000})  # over Django's 2.5 MB form limit
    for blob in image.blobs:
        gated.registry.client().upload_blob("acme/web", blob.data)
    url = f"{gated.gate.url}/v2/acme/web/manifests/big"
    answer = httpx.put(url, content=image.raw, headers={"Content-Type": image.media_type})
    assert answer.status_code == 201, answer.text
    too_big = httpx.put(
        url, content=b"{" + b" " * (4 * 1024 * 1024 + 10) + b"}", headers={"Content-Type": OCI_MANIFEST}
    )
    assert too_big.status_code == 413
