"""CVE allowlists: system-wide and per project, by id or alias; expired entries ignored;
allowlisted findings stay listed but are not counted."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest
from django.core.exceptions import ValidationError
from django.utils import timezone

from audit.models import AuditAction, AuditEvent
from repositories.models import AllowlistEntry, ScanReport
from repositories.services import allowlists, scanning
from repositories.services.sync import sync_now
from tests.factories import ProjectFactory
from tests.scanning.support import ACTOR, artifact_at, image_of, load_fixture_database, push_image
from tests.vulns import images

pytestmark = [pytest.mark.slow, pytest.mark.django_db]


@pytest.fixture
def debian(wharf_registry, tmp_path: Path):
    load_fixture_database(tmp_path)
    push_image(wharf_registry.client(), "acme/debian", image_of(images.debian_image()))
    sync_now()
    return artifact_at("acme/debian")


def allowlisted(report: ScanReport) -> set[tuple[str, str]]:
    return set(report.findings.filter(allowlisted=True).values_list("vulnerability_id", "package"))


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


def test_the_same_id_cannot_be_allowlisted_twice_in_one_scope(debian) -> None:
    allowlists.add_entry(project=None, vulnerability_id="CVE-2099-1001", reason="once", actor=ACTOR)
    with pytest.raises(ValidationError):
        allowlists.add_entry(project=None, vulnerability_id="CVE-2099-1001", reason="twice", actor=ACTOR)
    assert AllowlistEntry.objects.count() == 1
