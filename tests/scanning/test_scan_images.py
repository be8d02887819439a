"""The built-in scanner end to end: images built in the test, pushed to the real
registry, synced, scanned from streamed layers and matched against OSV fixtures."""

from __future__ import annotations

import os
from io import StringIO
from pathlib import Path

import pytest
from django.core.management import call_command

from audit.models import AuditAction, AuditEvent
from repositories.models import Artifact, ScanReport
from repositories.services import scanning
from repositories.services.sync import sync_now
from repositories.tasks import fill_artifact_details, run_scan
from repositories.vulns.layers import MiB
from tests.scanning.support import (
    ACTOR,
    artifact_at,
    found,
    image_of,
    index_of,
    load_fixture_database,
    osv_records,
    push_image,
    write_directory,
)
from tests.vulns import images
from tests.vulns.tarballs import digest_of, file, gzip_bomb, layer

pytestmark = [pytest.mark.slow, pytest.mark.django_db]


@pytest.fixture
def database(tmp_path: Path) -> None:
    load_fixture_database(tmp_path)


def pushed(wharf_registry, repository: str, blobs: list[bytes]) -> Artifact:
    push_image(wharf_registry.client(), repository, image_of(blobs))
    run = sync_now()
    assert run.status == "succeeded", run.message
    return artifact_at(repository)


def test_debian_image_findings_name_binary_packages_matched_on_source(wharf_registry, database) -> None:
    blobs = images.debian_image()
    report = scanning.scan_now(pushed(wharf_registry, "acme/debian", blobs))
    assert report.status == ScanReport.Status.SUCCEEDED, report.error
    assert found(report) == {
        ("WHARF-TEST-0001", "libssl3"),
        ("WHARF-TEST-0001", "openssl"),
        ("WHARF-TEST-0002", "libcurl4"),
    }
    libssl = report.findings.get(package="libssl3")
    assert (libssl.installed_version, libssl.source_name, libssl.fixed_version) == (
        "3.0.9-1",
        "openssl",
        "3.0.11-1~deb12u2",
    )
    assert (libssl.severity, libssl.cvss_score, libssl.aliases) == ("critical", 9.8, ["CVE-2099-1001"])
    assert libssl.layer_digest == digest_of(blobs[0]) and libssl.path == "var/lib/dpkg/status"
    assert libssl.links == ["https://security-tracker.example/WHARF-TEST-0001"]
    assert report.counts == {"critical": 2, "high": 0, "medium": 0, "low": 1, "unknown": 0}
    assert report.fixable_counts["critical"] == 2 and report.fixable_counts["low"] == 0
    assert (report.worst_severity, report.distro, report.packages) == ("critical", "Debian:12", 4)
    assert report.database_version.startswith("2026-01-01")
    components = {c["name"] for c in report.sbom["components"]}
    assert {"libssl3", "openssl", "libcurl4", "zlib1g"} <= components
    assert report.sbom["metadata"]["component"]["name"] == "acme/debian"


def test_alpine_image_is_matched_on_apk_origin(wharf_registry, database) -> None:
    report = scanning.scan_now(pushed(wharf_registry, "acme/alpine", images.alpine_image()))
    assert report.status == ScanReport.Status.SUCCEEDED, report.error
    assert found(report) == {("WHARF-TEST-0010", "libcrypto3"), ("WHARF-TEST-0010", "libssl3")}
    assert report.distro == "Alpine:v3.19" and report.counts["medium"] == 2


def test_distroless_image_reads_status_d(wharf_registry, database) -> None:
    report = scanning.scan_now(pushed(wharf_registry, "acme/distroless", images.distroless_image()))
    assert found(report) == {("WHARF-TEST-0001", "libssl3")}


def test_python_and_npm_packages_are_found_in_their_layers(wharf_registry, database) -> None:
    blobs = images.language_image()
    report = scanning.scan_now(pushed(wharf_registry, "acme/lang", blobs))
    assert report.status == ScanReport.Status.SUCCEEDED, report.error
    assert {
        ("WHARF-TEST-0020", "PyYAML"),
        ("WHARF-TEST-0021", "lodash"),
        ("WHARF-TEST-0022", "@babel/traverse"),
    } <= found(report)
    lodash = report.findings.get(vulnerability_id="WHARF-TEST-0021")
    assert lodash.layer_digest == digest_of(blobs[2]) and lodash.fixed_version == "4.17.21"
    assert report.findings.get(vulnerability_id="WHARF-TEST-0020").severity == "high"


def test_a_later_layer_that_deletes_the_package_database_leaves_no_findings(wharf_registry, database) -> None:
    report = scanning.scan_now(pushed(wharf_registry, "acme/wiped", images.deleted_database_image()))
    assert report.status == ScanReport.Status.SUCCEEDED, report.error
    assert report.findings.count() == 0 and report.total == 0 and report.worst_severity == ""


def test_a_static_image_without_os_or_packages_found_nothing_rather_than_clean(wharf_registry, database) -> None:
    blobs = [layer(file("app/server", b"\x7fELF not really"))]
    report = scanning.scan_now(pushed(wharf_registry, "acme/static", blobs))
    assert report.status == ScanReport.Status.SUCCEEDED, report.error
    assert (report.packages, report.distro, report.total) == (0, "", 0)
    assert report.found_nothing


def test_an_image_with_packages_and_no_findings_is_not_found_nothing(wharf_registry, database) -> None:
    report = scanning.scan_now(pushed(wharf_registry, "acme/wiped2", images.deleted_database_image()))
    assert report.status == ScanReport.Status.SUCCEEDED, report.error
    # The database was deleted, but the distribution was still recognised.
    assert report.distro and not report.found_nothing


def test_an_index_gets_one_report_per_platform_and_a_summary(wharf_registry, database) -> None:
    amd = image_of(images.debian_image(), architecture="amd64")
    arm = image_of(images.alpine_image(), architecture="arm64", variant="v8")
    push_image(wharf_registry.client(), "acme/multi", index_of(amd, arm))
    sync_now()
    index = artifact_at("acme/multi")
    assert index.kind == Artifact.Kind.INDEX
    summary = scanning.scan_now(index)
    assert summary.status == ScanReport.Status.SUCCEEDED, summary.error
    children = {r.artifact.platform: r for r in summary.children.select_related("artifact")}
    assert set(children) == {"linux/amd64", "linux/arm64/v8"}
    assert children["linux/amd64"].distro == "Debian:12" and children["linux/amd64"].counts["critical"] == 2
    assert children["linux/arm64/v8"].counts["medium"] == 2
    assert summary.counts == {"critical": 2, "high": 0, "medium": 2, "low": 1, "unknown": 0}
    assert summary.worst_severity == "critical" and not summary.findings.exists()
    assert summary.distro == "Alpine:v3.19, Debian:12" and not summary.found_nothing


def test_registry_down_during_a_scan_fails_the_report_with_a_clear_message(wharf_registry, database) -> None:
    artifact = pushed(wharf_registry, "acme/down", images.debian_image())
    wharf_registry.stop()
    report = scanning.scan_now(artifact)
    assert report.status == ScanReport.Status.FAILED
    assert report.error.startswith("The registry is unavailable")
    assert not report.findings.exists() and report.finished_at is not None


def test_the_task_requeues_while_retries_remain_then_fails(wharf_registry, database, monkeypatch) -> None:
    artifact = pushed(wharf_registry, "acme/retry", images.debian_image())
    wharf_registry.stop()
    report, _ = scanning.request_scan(artifact, ACTOR)
    claimed = scanning.claim_scan(report.pk)
    with pytest.raises(scanning.RegistryUnavailable):
        scanning.execute_scan(claimed, retry=True)
    report.refresh_from_db()
    assert report.status == ScanReport.Status.QUEUED, "back in the queue for the retry"
    run_scan.apply(args=[report.pk], retries=run_scan.max_retries)  # the last attempt
    report.refresh_from_db()
    assert report.status == ScanReport.Status.FAILED and "unavailable" in report.error


def test_a_layer_over_the_size_cap_fails_the_report(wharf_registry, database, settings) -> None:
    settings.WHARF_SCAN_MAX_LAYER_BYTES = 1 * MiB
    # Random bytes do not compress: the layer's blob is over the 1 MiB cap as stored.
    big = layer(file("etc/os-release", images.DEBIAN_OS_RELEASE), file("blob.bin", os.urandom(2 * MiB)))
    report = scanning.scan_now(pushed(wharf_registry, "acme/big", [big]))
    assert report.status == ScanReport.Status.FAILED and report.error.startswith("A layer was refused")


def test_two_claims_of_one_report_run_it_once(wharf_registry, database) -> None:
    artifact = pushed(wharf_registry, "acme/claims", images.alpine_image())
    report, created = scanning.request_scan(artifact, ACTOR)
    again, created_again = scanning.request_scan(artifact, ACTOR)
    assert created and not created_again and again.pk == report.pk, "no duplicate while queued"
    first, second = scanning.claim_scan(report.pk), scanning.claim_scan(report.pk)
    assert first is not None and second is None
    assert AuditEvent.objects.filter(action=AuditAction.SCAN_REQUEST).count() == 1


def test_scan_on_push_queues_a_scan_once_the_manifest_is_read(
    wharf_registry, database, django_capture_on_commit_callbacks
) -> None:
    push_image(wharf_registry.client(), "acme/onpush", image_of(images.alpine_image()))
    sync_now()
    artifact = artifact_at("acme/onpush")
    fill_artifact_details(artifact.pk)
    assert not ScanReport.objects.exists(), "scan on push is off by default"
    scanning.set_scan_on_push(artifact.repository.project, True, actor=ACTOR)
    assert AuditEvent.objects.filter(action=AuditAction.SCAN_SETTINGS_UPDATE).count() == 1
    with django_capture_on_commit_callbacks(execute=True):
        fill_artifact_details(artifact.pk)
    report = ScanReport.objects.get(artifact=artifact)
    assert (report.trigger, report.status) == ("push", "succeeded")
    assert found(report) == {("WHARF-TEST-0010", "libcrypto3"), ("WHARF-TEST-0010", "libssl3")}


def test_import_with_rescan_queues_and_runs_a_scan_of_every_image(
    wharf_registry, database, tmp_path, django_capture_on_commit_callbacks
) -> None:
    pushed(wharf_registry, "acme/one", images.alpine_image())
    push_image(wharf_registry.client(), "acme/two", image_of(images.debian_image()))
    sync_now()
    newer = [{**record, "modified": "2026-03-01T00:00:00Z"} for record in osv_records()]
    with django_capture_on_commit_callbacks(execute=True):
        call_command(
            "import_osv", str(write_directory(tmp_path / "newer", newer)), "--rescan", stdout=StringIO()
        )
    reports = ScanReport.objects.filter(trigger=ScanReport.Trigger.SCHEDULE)
    assert {r.artifact.repository.name for r in reports} == {"acme/one", "acme/two"}
    assert all(r.status == "succeeded" and r.database_version.startswith("2026-03-01") for r in reports)
    summary = AuditEvent.objects.get(action=AuditAction.SCAN_REQUEST, target_name="all images")
    assert summary.details["reports"] == 2


def test_only_images_and_indexes_can_be_scanned(wharf_registry, database) -> None:
    artifact = pushed(wharf_registry, "acme/thing", images.alpine_image())
    artifact.kind = Artifact.Kind.OTHER
    with pytest.raises(scanning.ScanRefused):
        scanning.request_scan(artifact, ACTOR)


def test_a_gzip_bomb_layer_is_refused_within_the_ratio_cap(wharf_registry, database) -> None:
    bomb = gzip_bomb(96 * MiB)
    assert len(bomb) < MiB
    report = scanning.scan_now(pushed(wharf_registry, "acme/bomb", [bomb]))
    assert report.status == ScanReport.Status.FAILED
    assert report.error.startswith("A layer was refused") and "compression bomb" in report.error
