"""scan_layers(): images built in memory, matched against OSV fixtures with invented ids."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from repositories.vulns.layers import LayerRejected, Limits
from repositories.vulns.osv import build_index
from repositories.vulns.scanner import ScanResult, scan_layers
from repositories.vulns.severity import Band
from tests.vulns import images
from tests.vulns.tarballs import digest_of, file, gzip_bomb, layer, layers, streams

ROOT = Path(__file__).resolve().parents[2]


def scan(blobs: list[bytes]) -> ScanResult:
    return scan_layers(streams(*blobs), images.INDEX)


def found(result: ScanResult) -> set[tuple[str, str]]:
    return {(f.vulnerability_id, f.package) for f in result.findings}


def test_debian_image_is_matched_on_source_packages_and_reported_per_binary_package() -> None:
    blobs = images.debian_image()
    result = scan(blobs)
    assert result.distro is not None and result.distro.ecosystem == "Debian:12"
    assert found(result) == {
        ("WHARF-TEST-0001", "libssl3"),  # source openssl
        ("WHARF-TEST-0001", "openssl"),
        ("WHARF-TEST-0002", "libcurl4"),  # source curl, never fixed
    }
    # Not: 0003 names a binary package, 0004 is fixed at the installed version,
    # 0005 is for Debian 11, 0030 is withdrawn.
    libssl = next(f for f in result.findings if f.package == "libssl3")
    assert libssl.aliases == ("CVE-2099-1001",)
    assert (libssl.installed_version, libssl.source_name, libssl.source_version) == (
        "3.0.9-1",
        "openssl",
        "3.0.9-1",
    )
    assert libssl.fixed_version == "3.0.11-1~deb12u2" and libssl.fixable
    assert (libssl.severity, libssl.cvss_score) == (Band.CRITICAL, 9.8)
    assert libssl.cvss_vector == images.CRITICAL_VECTOR
    assert libssl.title == "openssl: invented buffer overflow"
    assert libssl.references == ("https://security-tracker.example/WHARF-TEST-0001",)
    assert libssl.layer == digest_of(blobs[0]) and libssl.path == "var/lib/dpkg/status"
    curl = next(f for f in result.findings if f.package == "libcurl4")
    assert curl.installed_version == "7.88.1-10+deb12u1+b1" and curl.source_version == "7.88.1-10+deb12u1"
    assert (curl.severity, curl.cvss_score, curl.fixed_version, curl.fixable) == (Band.LOW, None, "", False)


def test_findings_come_most_severe_first_with_counts_per_band() -> None:
    result = scan(images.debian_image())
    assert [f.severity for f in result.findings] == [Band.CRITICAL, Band.CRITICAL, Band.LOW]
    assert result.counts == {Band.CRITICAL: 2, Band.HIGH: 0, Band.MEDIUM: 0, Band.LOW: 1, Band.UNKNOWN: 0}
    assert result.fixable_counts[Band.CRITICAL] == 2 and result.fixable_counts[Band.LOW] == 0
    assert (result.total, result.fixable) == (3, 2)
    assert [summary.digest for summary in result.layers] == [digest_of(b) for b in images.debian_image()]


def test_distroless_image_is_matched_from_status_d() -> None:
    result = scan(images.distroless_image())
    assert found(result) == {("WHARF-TEST-0001", "libssl3")}
    assert next(iter(result.findings)).path == "var/lib/dpkg/status.d/libssl3"


def test_alpine_image_is_matched_on_the_origin_package() -> None:
    result = scan(images.alpine_image())
    assert found(result) == {("WHARF-TEST-0010", "libcrypto3"), ("WHARF-TEST-0010", "libssl3")}
    finding = result.findings[0]
    assert (finding.ecosystem, finding.source_name, finding.fixed_version) == (
        "Alpine:v3.19",
        "openssl",
        "3.1.4-r5",
    )
    assert finding.severity == Band.MEDIUM


def test_python_and_npm_packages_are_matched() -> None:
    blobs = images.language_image()
    result = scan(blobs)
    assert found(result) >= {
        ("WHARF-TEST-0020", "PyYAML"),
        ("WHARF-TEST-0021", "lodash"),
        ("WHARF-TEST-0022", "@babel/traverse"),
    }
    pyyaml = next(f for f in result.findings if f.package == "PyYAML")
    assert (pyyaml.severity, pyyaml.fixed_version, pyyaml.layer) == (Band.HIGH, "5.4", digest_of(blobs[1]))
    lodash = next(f for f in result.findings if f.package == "lodash")
    assert lodash.aliases == ("CVE-2099-2001",) and lodash.layer == digest_of(blobs[2])


def test_a_later_layer_deleting_the_package_database_leaves_no_os_packages() -> None:
    result = scan(images.deleted_database_image())
    assert result.distro is not None  # os-release is still there
    assert result.packages == [] and result.findings == []
    assert result.total == 0


def test_ubuntu_lts_packages_match_advisories_under_either_ecosystem_name() -> None:
    index = build_index(
        [
            images.advisory(
                "WHARF-TEST-0040", images.affects("Ubuntu:22.04:LTS", "openssl", "3.0.2-0ubuntu1.12")
            ),
            images.advisory(
                "WHARF-TEST-0041", images.affects("Ubuntu:22.04", "openssl", "3.0.2-0ubuntu1.12")
            ),
            images.advisory(
                "WHARF-TEST-0042",
                images.affects("Ubuntu:22.04", "openssl", "9"),
                images.affects("Ubuntu:22.04:LTS", "openssl", "9"),
            ),
        ]
    )
    blob = layer(
        file("etc/os-release", 'ID=ubuntu\nVERSION="22.04.3 LTS (Jammy Jellyfish)"\nVERSION_ID="22.04"\n'),
        file(
            "var/lib/dpkg/status",
            "Package: openssl\nStatus: install ok installed\nVersion: 3.0.2-0ubuntu1.10\n",
        ),
    )
    result = scan_layers(layers(blob), index)
    assert sorted(f.vulnerability_id for f in result.findings) == [
        "WHARF-TEST-0040",
        "WHARF-TEST-0041",
        "WHARF-TEST-0042",
    ]


def test_os_packages_of_an_unknown_distribution_are_not_matched() -> None:
    blob = layer(
        file("etc/os-release", "ID=plan9\nVERSION_ID=4\n"),
        file("var/lib/dpkg/status", "Package: openssl\nStatus: install ok installed\nVersion: 3.0.9-1\n"),
    )
    result = scan_layers(layers(blob), images.INDEX)
    assert [p.name for p in result.packages] == ["openssl"] and result.findings == []
    assert any("unsupported distribution plan9" in note for note in result.notes)


def test_a_hostile_layer_fails_the_scan_with_a_clear_error() -> None:
    bomb = gzip_bomb(32 * 1024 * 1024)
    with pytest.raises(LayerRejected, match="bytes once decompressed"):
        scan_layers(
            layers(*images.debian_image(), bomb),
            images.INDEX,
            limits=Limits(max_layer_bytes=16 * 1024 * 1024),
        )


def test_the_scanner_modules_load_no_django_and_no_other_project_code() -> None:
    probe = (
        "import sys\n"
        "import repositories.vulns.scanner, repositories.vulns.sbom, repositories.vulns.layers\n"
        "print(','.join(sorted(n for n in sys.modules if n.split('.')[0] in "
        "{'django', 'rest_framework', 'accounts', 'audit', 'portal', 'celery', 'httpx'} "
        "or (n.startswith('repositories.') and not n.startswith('repositories.vulns')))))\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", probe], cwd=ROOT, capture_output=True, text=True, check=True, env={"PATH": ""}
    )
    assert result.stdout.strip() == ""
