"""CVE allowlists: system-wide and per project, by id, alias or upstream id (ignoring
case); expired entries ignored; allowlisted findings stay listed but are not counted.

Tests marked slow scan images in the real registry; the others re-mark findings
made with the ORM."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest
from django.core.exceptions import ValidationError
from django.utils import timezone

from audit.models import AuditAction, AuditEvent
from repositories.models import AllowlistEntry, Artifact, Finding, Project, Repository, ScanReport
from repositories.services import allowlists, scanning
from repositories.services.osv_import import import_osv
from repositories.services.sync import sync_now
from tests.api.scanning_rows import finding, make_report
from tests.factories import ProjectFactory
from tests.scanning.support import (
    ACTOR,
    artifact_at,
    image_of,
    load_fixture_database,
    osv_records,
    push_image,
    write_directory,
)
from tests.vulns import images

pytestmark = pytest.mark.django_db
slow = pytest.mark.slow

# Debian's tracker publishes one record per CVE under its own id and names the CVE in
# `upstream`, not in `aliases`.
DEBIAN_RECORD = images.advisory(
    "DEBIAN-CVE-2099-3001", images.affects("Debian:12", "zlib", None), upstream=["CVE-2099-3001"]
)


@pytest.fixture
def debian(wharf_registry, tmp_path: Path):
    load_fixture_database(tmp_path)
    push_image(wharf_registry.client(), "acme/debian", image_of(images.debian_image()))
    sync_now()
    return artifact_at("acme/debian")


def allowlisted(report: ScanReport) -> set[tuple[str, str]]:
    return set(report.findings.filter(allowlisted=True).values_list("vulnerability_id", "package"))


@slow
def test_system_and_project_entries_mark_findings_and_leave_them_out_of_the_counts(debian) -> None:
    project = debian.repository.project
    # By alias, system-wide: both binary packages of source openssl.
    allowlists.add_entry(project=None, vulnerability_id="CVE-2099-1001", reason="not reachable", actor=ACTOR)
    allowlists.add_entry(project=project, vulnerability_id="WHARF-TEST-0002", reason="accepted", actor=ACTOR)
    report = scanning.scan_now(debian)
    assert report.findings.count() == 3, "allowlisted findings stay visible"
    assert allowlisted(report) == {
        ("WHARF-TEST-0001", "libssl3"),
        ("WHARF-TEST-0001", "openssl"),
        ("WHARF-TEST-0002", "libcurl4"),
    }
    assert report.counts == {"critical": 0, "high": 0, "medium": 0, "low": 0, "unknown": 0}
    assert (report.allowlisted, report.worst_severity) == (3, "")
    assert AuditEvent.objects.filter(action=AuditAction.ALLOWLIST_ADD).count() == 2


@slow
def test_expired_entries_and_other_projects_entries_are_ignored(debian) -> None:
    other = ProjectFactory(name="other")
    allowlists.add_entry(
        project=debian.repository.project,
        vulnerability_id="WHARF-TEST-0001",
        reason="was accepted until yesterday",
        actor=ACTOR,
        expires_at=timezone.now() - timedelta(days=1),
    )
    allowlists.add_entry(project=other, vulnerability_id="WHARF-TEST-0002", reason="theirs", actor=ACTOR)
    report = scanning.scan_now(debian)
    assert allowlisted(report) == set()
    assert (report.counts["critical"], report.counts["low"], report.allowlisted) == (2, 1, 0)


@slow
def test_changing_the_allowlist_recounts_finished_reports(debian) -> None:
    report = scanning.scan_now(debian)
    assert report.counts["critical"] == 2
    entry = allowlists.add_entry(
        project=debian.repository.project,
        vulnerability_id="WHARF-TEST-0001",
        reason="fixed by config",
        actor=ACTOR,
    )
    report.refresh_from_db()
    assert (report.counts["critical"], report.fixable_counts["critical"], report.allowlisted) == (0, 0, 2)
    assert report.worst_severity == "low"
    allowlists.remove_entry(entry, actor=ACTOR)
    report.refresh_from_db()
    assert (report.counts["critical"], report.allowlisted, report.worst_severity) == (2, 0, "critical")
    assert AuditEvent.objects.filter(
        action=AuditAction.ALLOWLIST_REMOVE, target_name="WHARF-TEST-0001"
    ).exists()


@slow
def test_the_same_id_cannot_be_allowlisted_twice_in_one_scope(debian) -> None:
    allowlists.add_entry(project=None, vulnerability_id="CVE-2099-1001", reason="once", actor=ACTOR)
    with pytest.raises(ValidationError):
        allowlists.add_entry(project=None, vulnerability_id="CVE-2099-1001", reason="twice", actor=ACTOR)
    assert AllowlistEntry.objects.count() == 1


@slow
def test_at_scan_time_a_cve_entry_covers_the_findings_whose_advisory_names_it_as_upstream_or_alias(
    debian, tmp_path: Path
) -> None:
    run = import_osv(write_directory(tmp_path / "debian", osv_records([DEBIAN_RECORD])), actor=ACTOR)
    assert run.status == "succeeded", run.errors
    project = debian.repository.project
    allowlists.add_entry(project=None, vulnerability_id="CVE-2099-3001", reason="upstream of Debian's", actor=ACTOR)
    allowlists.add_entry(project=project, vulnerability_id="cve-2099-1001", reason="alias, any case", actor=ACTOR)

    report = scanning.scan_now(debian)

    assert allowlisted(report) == {
        ("DEBIAN-CVE-2099-3001", "zlib1g"),
        ("WHARF-TEST-0001", "libssl3"),
        ("WHARF-TEST-0001", "openssl"),
    }
    assert report.findings.get(vulnerability_id="DEBIAN-CVE-2099-3001").upstream == ["CVE-2099-3001"]
    assert (report.counts["low"], report.allowlisted) == (1, 3), "WHARF-TEST-0002 (curl) still counts"


# --- re-marking stored findings -----------------------------------------------------


@pytest.fixture
def project() -> Project:
    return ProjectFactory(name="acme")


def names_report(project: Project) -> ScanReport:
    """A report holding a Debian record and a GitHub advisory about CVE-2099-0001, and
    two findings that merely look alike."""
    repository = Repository.objects.create(project=project, name="acme/app")
    artifact = Artifact.objects.create(repository=repository, digest="sha256:" + "e" * 64)
    return make_report(
        artifact,
        [
            finding("DEBIAN-CVE-2099-0001", "zlib1g", severity="critical", upstream=["CVE-2099-0001"]),
            finding("GHSA-aaaa-bbbb-cccc", "requests", severity="high", aliases=["CVE-2099-0001"]),
            finding("CVE-2099-00011", "bash", severity="low"),
            finding("GHSA-dddd-eeee-ffff", "urllib3", severity="low", aliases=["CVE-2099-00012"]),
        ],
    )


def marked(report: ScanReport) -> set[str]:
    return set(Finding.objects.filter(report=report, allowlisted=True).values_list("vulnerability_id", flat=True))


def test_adding_a_cve_marks_stored_findings_that_name_it_and_removing_it_restores_them(project) -> None:
    report = names_report(project)

    entry = allowlists.add_entry(project=project, vulnerability_id="CVE-2099-0001", reason="x", actor=ACTOR)
    report.refresh_from_db()
    while_listed = (marked(report), report.counts["critical"], report.counts["high"], report.allowlisted)
    allowlists.remove_entry(entry, actor=ACTOR)
    report.refresh_from_db()

    assert while_listed == ({"DEBIAN-CVE-2099-0001", "GHSA-aaaa-bbbb-cccc"}, 0, 0, 2)
    assert (marked(report), report.counts["critical"], report.counts["high"], report.allowlisted) == (set(), 1, 1, 0)


def test_removing_an_entry_keeps_the_findings_another_entry_still_names(project) -> None:
    report = names_report(project)
    allowlists.add_entry(project=None, vulnerability_id="DEBIAN-CVE-2099-0001", reason="system", actor=ACTOR)
    by_cve = allowlists.add_entry(project=project, vulnerability_id="CVE-2099-0001", reason="x", actor=ACTOR)

    allowlists.remove_entry(by_cve, actor=ACTOR)

    report.refresh_from_db()
    assert marked(report) == {"DEBIAN-CVE-2099-0001"}
    assert (report.counts["critical"], report.counts["high"], report.allowlisted) == (0, 1, 1)


def test_entries_match_names_ignoring_case_and_surrounding_spaces(project) -> None:
    report = names_report(project)

    allowlists.add_entry(project=project, vulnerability_id=" ghsa-AAAA-bbbb-cccc ", reason="x", actor=ACTOR)

    assert marked(report) == {"GHSA-aaaa-bbbb-cccc"}
