"""import_osv: a directory or all.zip of OSV records into the (ecosystem, name)-indexed database."""

from __future__ import annotations

import json
import time
import zipfile
from io import StringIO
from pathlib import Path

import pytest
from django.core.management import CommandError, call_command

from audit.models import AuditAction, AuditEvent
from repositories.models import Advisory, AdvisoryPackage, OsvImport
from repositories.services.advisory_index import load_index
from repositories.services.osv_import import import_osv
from tests.scanning.support import ACTOR, MODIFIED, osv_records, write_directory, write_zip
from tests.vulns.images import affects

pytestmark = pytest.mark.django_db


def record(id_: str, modified: str = MODIFIED, **extra: object) -> dict[str, object]:
    return {"id": id_, "modified": modified, "affected": [affects("PyPI", "Demo_Pkg", "2.0")], **extra}


def test_directory_import_creates_advisories_indexed_by_ecosystem_and_normalised_name(tmp_path: Path) -> None:
    run = import_osv(write_directory(tmp_path / "osv", osv_records()), actor=ACTOR)
    assert (run.status, run.seen, run.created, run.invalid) == ("succeeded", 11, 11, 0)
    assert run.withdrawn == 1 and run.database_version.startswith("2026-01-01T00:00:00")
    assert {"Debian:12", "Alpine:v3.19", "PyPI", "npm"} <= set(run.ecosystems)
    pyyaml = Advisory.objects.get(osv_id="WHARF-TEST-0020")
    assert list(pyyaml.packages.values_list("ecosystem", "name")) == [("PyPI", "pyyaml")]
    assert Advisory.objects.get(osv_id="WHARF-TEST-0001").aliases == ["CVE-2099-1001"]
    # A withdrawn advisory is kept (so an older copy cannot bring it back) but never indexed.
    withdrawn = Advisory.objects.get(osv_id="WHARF-TEST-0030")
    assert withdrawn.withdrawn is not None and not withdrawn.packages.exists()
    event = AuditEvent.objects.get(action=AuditAction.OSV_IMPORT)
    assert event.details["created"] == 11 and event.details["import"] == run.pk


def test_zip_import_reads_every_json_member(tmp_path: Path) -> None:
    path = write_zip(tmp_path / "all.zip", osv_records())
    with zipfile.ZipFile(path, "a") as archive:
        archive.writestr("README.txt", "not an advisory")
    run = import_osv(path, actor=ACTOR)
    assert (run.status, run.seen, run.created) == ("succeeded", 11, 11)
    assert Advisory.objects.count() == 11


def test_reimport_updates_only_advisories_with_a_newer_modified(tmp_path: Path) -> None:
    import_osv(
        write_directory(tmp_path / "one", [record("WHARF-TEST-A"), record("WHARF-TEST-B")]), actor=ACTOR
    )
    newer = record("WHARF-TEST-A", "2026-06-01T00:00:00Z", summary="newer text")
    newer["affected"] = [affects("npm", "left-pad", "1.1.0")]
    older = record("WHARF-TEST-B", "2025-01-01T00:00:00Z", summary="older text")
    run = import_osv(write_directory(tmp_path / "two", [newer, older]), actor=ACTOR)
    assert (run.created, run.updated, run.unchanged) == (0, 1, 1)
    a, b = Advisory.objects.get(osv_id="WHARF-TEST-A"), Advisory.objects.get(osv_id="WHARF-TEST-B")
    assert a.summary == "newer text" and b.summary == ""
    # The package rows follow the new affected list.
    assert list(a.packages.values_list("ecosystem", "name")) == [("npm", "left-pad")]
    assert run.database_version.startswith("2026-06-01")


def test_a_later_withdrawal_removes_the_advisory_from_matching(tmp_path: Path) -> None:
    import_osv(write_directory(tmp_path / "one", [record("WHARF-TEST-W")]), actor=ACTOR)
    assert load_index({("PyPI", "demo-pkg")})
    withdrawn = record("WHARF-TEST-W", "2026-02-01T00:00:00Z", withdrawn="2026-02-01T00:00:00Z")
    run = import_osv(write_directory(tmp_path / "two", [withdrawn]), actor=ACTOR)
    assert (run.updated, run.withdrawn) == (1, 1)
    assert load_index({("PyPI", "demo-pkg")}) == {}


def test_invalid_entries_are_counted_with_their_reasons_and_the_rest_imported(tmp_path: Path) -> None:
    directory = write_directory(tmp_path / "osv", [record("WHARF-TEST-OK")])
    (directory / "garbage.json").write_text("{not json")
    (directory / "list.json").write_text("[]")
    (directory / "no-id.json").write_text(json.dumps({"modified": MODIFIED}))
    (directory / "bad-date.json").write_text(json.dumps({"id": "WHARF-TEST-D", "modified": "yesterday"}))
    (directory / "bad-affected.json").write_text(json.dumps(record("WHARF-TEST-E", affected={"x": 1})))
    (directory / "bad-package.json").write_text(
        json.dumps(record("WHARF-TEST-F", affected=[{"package": {"name": "x"}}]))
    )
    (directory / "bad-ranges.json").write_text(
        json.dumps(
            record("WHARF-TEST-G", affected=[{"package": {"ecosystem": "npm", "name": "x"}, "ranges": [{}]}])
        )
    )
    run = import_osv(directory, actor=ACTOR)
    assert (run.status, run.created, run.invalid) == ("succeeded", 1, 7)
    reasons = {error["entry"]: error["reason"] for error in run.errors}
    assert reasons["no-id.json"] == "no id"
    assert reasons["bad-date.json"].startswith("modified is missing")
    assert reasons["bad-affected.json"] == "affected is not a list"
    assert reasons["bad-package.json"] == "affected[0].package.ecosystem is missing or invalid"
    assert reasons["bad-ranges.json"] == "affected[0].ranges[0] has no type"
    assert reasons["garbage.json"].startswith("not JSON")


def test_command_reports_counts_and_refuses_a_missing_or_garbled_path(tmp_path: Path) -> None:
    out = StringIO()
    call_command("import_osv", str(write_directory(tmp_path / "osv", osv_records())), stdout=out)
    assert "11 created" in out.getvalue()
    with pytest.raises(CommandError, match="does not exist"):
        call_command("import_osv", str(tmp_path / "missing.zip"))
    garbled = tmp_path / "all.zip"
    garbled.write_bytes(b"PK\x03\x04 this is not really a zip")
    with pytest.raises(CommandError, match="neither a directory nor a zip"):
        call_command("import_osv", str(garbled))
    assert OsvImport.objects.count() == 1, "a refused path records no import"


def test_index_loads_only_the_packages_asked_for(tmp_path: Path) -> None:
    import_osv(write_directory(tmp_path / "osv", osv_records()), actor=ACTOR)
    index = load_index({("Debian:12", "openssl"), ("npm", "lodash")})
    assert set(index) == {("Debian:12", "openssl"), ("npm", "lodash")}
    # 0030 (withdrawn) is left out; 0005 is Debian:11 and never loaded.
    assert [a["id"] for a in index[("Debian:12", "openssl")]] == ["WHARF-TEST-0001"]


def test_import_of_20000_generated_advisories_runs_in_batches(
    tmp_path: Path, capsys: pytest.CaptureFixture
) -> None:
    records = [
        {
            "id": f"WHARF-TEST-GEN-{i:06d}",
            "modified": MODIFIED,
            "summary": f"generated advisory {i}",
            "affected": [
                {
                    "package": {"ecosystem": "PyPI", "name": f"pkg-{i % 5000}"},
                    "ranges": [
                        {"type": "ECOSYSTEM", "events": [{"introduced": "0"}, {"fixed": f"{i % 7}.0"}]}
                    ],
                }
            ],
        }
        for i in range(20_000)
    ]
    path = write_zip(tmp_path / "all.zip", records)
    started = time.monotonic()
    run = import_osv(path, actor=ACTOR)
    elapsed = time.monotonic() - started
    with capsys.disabled():
        print(f"\nimport_osv: 20,000 advisories in {elapsed:.1f}s")
    assert (run.created, run.invalid) == (20_000, 0)
    assert AdvisoryPackage.objects.count() == 20_000
    started = time.monotonic()
    again = import_osv(path, actor=ACTOR)
    with capsys.disabled():
        print(f"import_osv: unchanged re-import of 20,000 in {time.monotonic() - started:.1f}s")
    assert (again.created, again.updated, again.unchanged) == (0, 0, 20_000)
    assert len(load_index({("PyPI", "pkg-42")})[("PyPI", "pkg-42")]) == 4
