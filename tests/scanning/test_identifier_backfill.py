"""Migration 0007 gives rows stored before it the names allowlists and filters look up:
advisories take `upstream` from their OSV record, built-in findings their advisory's,
and every finding gets its identifier rows, the same ones `store_findings` writes."""

from __future__ import annotations

from importlib import import_module
from types import ModuleType

import pytest
from django.apps import apps
from django.utils import timezone

from repositories.models import Advisory, Artifact, Finding, FindingIdentifier, Repository, ScanReport
from tests.api.scanning_rows import finding, make_report
from tests.factories import ProjectFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def migration(monkeypatch: pytest.MonkeyPatch) -> ModuleType:
    module = import_module("repositories.migrations.0007_finding_identifiers")
    monkeypatch.setattr(module, "BATCH", 2)  # several batches out of a handful of rows
    return module


def advisory(osv_id: str, **raw: object) -> Advisory:
    return Advisory.objects.create(osv_id=osv_id, modified=timezone.now(), raw={"id": osv_id, **raw})


def stored_before_the_migration(report: ScanReport, rows: list[Finding]) -> list[Finding]:
    """Findings written the old way: no upstream, no identifier rows."""
    for row in rows:
        row.report = report
    return Finding.objects.bulk_create(rows)


def names_stored(row: Finding) -> set[str]:
    return set(FindingIdentifier.objects.filter(finding=row).values_list("value", flat=True))


def test_the_backfill_stores_upstream_ids_and_every_findings_names(migration: ModuleType) -> None:
    advisory("DEBIAN-CVE-2099-0001", upstream=["CVE-2099-0001"])
    advisory("WHARF-TEST-0001", aliases=["CVE-2099-1001"])
    advisory("ODD-1", upstream="CVE-2099-9999")  # not a list: ignored
    repository = Repository.objects.create(project=ProjectFactory(name="acme"), name="acme/app")
    artifact = Artifact.objects.create(repository=repository, digest="sha256:" + "f" * 64)
    builtin = stored_before_the_migration(
        make_report(artifact),
        [
            finding("DEBIAN-CVE-2099-0001", "zlib1g"),
            finding("WHARF-TEST-0001", "openssl", aliases=["CVE-2099-1001", "cve-2099-1001", 42]),  # type: ignore[list-item]
            finding("GHSA-aaaa-bbbb-cccc", "requests", aliases=["CVE-2099-0002"]),
        ],
    )
    trivy = stored_before_the_migration(
        make_report(artifact, scanner=ScanReport.Scanner.TRIVY), [finding("DEBIAN-CVE-2099-0001", "zlib1g")]
    )

    migration.backfill(apps, None)
    migration.backfill(apps, None)  # again: adds nothing twice

    upstream = dict(Advisory.objects.values_list("osv_id", "upstream"))
    assert upstream == {"DEBIAN-CVE-2099-0001": ["CVE-2099-0001"], "WHARF-TEST-0001": [], "ODD-1": []}
    debian, wharf, ghsa = (Finding.objects.get(pk=row.pk) for row in builtin)
    (imported,) = (Finding.objects.get(pk=row.pk) for row in trivy)
    assert debian.upstream == ["CVE-2099-0001"]
    assert imported.upstream == [], "only the built-in scanner's findings come from these advisories"
    assert names_stored(debian) == {"DEBIAN-CVE-2099-0001", "CVE-2099-0001"}
    assert names_stored(wharf) == {"WHARF-TEST-0001", "CVE-2099-1001"}
    assert names_stored(ghsa) == {"GHSA-AAAA-BBBB-CCCC", "CVE-2099-0002"}
    for row in (debian, wharf, ghsa, imported):
        assert names_stored(row) == set(row.names), "the same names as store_findings writes"
    assert FindingIdentifier.objects.count() == 2 + 2 + 2 + 1
    assert set(Finding.objects.named(["cve-2099-0001"])) == {debian}
