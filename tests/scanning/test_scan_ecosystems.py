"""Every ecosystem end to end: an image carrying an rpm database, a Go binary, a Rust
binary and a Spring Boot jar, built in the test, pushed to the real registry, synced,
scanned from streamed layers and matched against an OSV export of those ecosystems
imported with `import_osv`; the report, its SBOM, its page and its API entry."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from django.test import Client

from repositories.models import ScanReport
from repositories.models.scanning import UNMATCHED
from repositories.services import scanning
from repositories.services.osv_import import import_osv
from repositories.services.sync import sync_now
from repositories.vulns.sbom import LAYER_PROPERTY
from tests.conftest import World
from tests.scanning.support import ACTOR, artifact_at, found, image_of, osv_records, push_image, write_zip
from tests.vulns import ecosystems as eco
from tests.vulns.images import advisory, affects
from tests.vulns.tarballs import digest_of, executable, file, layer

pytestmark = [pytest.mark.slow, pytest.mark.django_db, eco.needs_rpm, eco.needs_go]

RPMS = (("openssl", 1, "3.0.7", "24.el9", ("openssl-libs",)), ("bash", 0, "5.1.8", "6.el9", ()))

ADVISORIES = [
    advisory(
        "WHARF-ROCKY-1", affects("Rocky Linux:9", "openssl", "1:3.0.7-27.el9"), aliases=["CVE-2099-3001"]
    ),
    advisory("WHARF-RHEL-1", affects("Red Hat:enterprise_linux:9::appstream", "openssl", "1:3.0.7-27.el9")),
    advisory("WHARF-GO-1", affects("Go", "example.com/greeting", "1.5.0", type_="SEMVER")),
    advisory("WHARF-GO-STD", affects("Go", "stdlib", "1.19.99", type_="SEMVER")),
    advisory(
        "WHARF-MVN-1",
        affects("Maven", "org.apache.logging.log4j:log4j-core", "2.15.0"),
        aliases=["CVE-2021-44228"],
    ),
    advisory("WHARF-MVN-NESTED", affects("Maven", "org.example:inner", "3.0.1")),
    advisory("WHARF-CRATE-1", affects("crates.io", "smallvec", "1.6.1", type_="SEMVER")),
    advisory("WHARF-WOLFI-1", affects("Wolfi", "glibc", "2.39-r1")),
]


@pytest.fixture
def database(tmp_path: Path) -> None:
    run = import_osv(write_zip(tmp_path / "all.zip", osv_records(ADVISORIES)), actor=ACTOR)
    assert run.status == "succeeded" and run.invalid == 0, run.errors
    assert {"Rocky Linux:9", "Go", "Maven", "crates.io", "Wolfi"} <= set(run.ecosystems)


def blobs() -> list[bytes]:
    return [
        layer(
            file("etc/os-release", eco.ROCKY_OS_RELEASE),
            file("var/lib/rpm/rpmdb.sqlite", eco.rpm_database(RPMS)),
        ),
        layer(
            executable("usr/local/bin/demo", eco.go_binary()),
            executable(
                "usr/bin/wharf-tool",
                eco.auditable_elf([{"name": "smallvec", "version": "1.6.0", "source": "crates.io"}]),
            ),
        ),
        layer(file("app/app.jar", eco.nested_fat_jar())),
    ]


def test_rocky_image_with_go_rust_and_java_is_matched_in_every_ecosystem(
    wharf_registry, database, world: World
) -> None:
    layers = blobs()
    push_image(wharf_registry.client(), "acme/polyglot", image_of(layers))
    assert sync_now().status == "succeeded"
    artifact = artifact_at("acme/polyglot")

    report = scanning.scan_now(artifact)

    assert report.status == ScanReport.Status.SUCCEEDED, report.error
    assert found(report) == {
        ("WHARF-ROCKY-1", "openssl"),
        ("WHARF-ROCKY-1", "openssl-libs"),
        ("WHARF-GO-1", "example.com/greeting"),
        ("WHARF-GO-STD", "stdlib"),
        ("WHARF-MVN-1", "org.apache.logging.log4j:log4j-core"),
        ("WHARF-MVN-NESTED", "org.example:inner"),
        ("WHARF-CRATE-1", "smallvec"),
    }
    nested = report.findings.get(vulnerability_id="WHARF-MVN-NESTED")
    assert nested.path == "app/app.jar!/BOOT-INF/lib/outer.jar!/lib/middle.jar!/lib/inner.jar"
    assert nested.layer_digest == digest_of(layers[2])
    assert report.findings.get(vulnerability_id="WHARF-GO-1").layer_digest == digest_of(layers[1])
    assert report.distro == "Rocky Linux:9"
    ecosystems = report.ecosystems
    assert ecosystems["Rocky Linux:9"] == 3 and ecosystems["Maven"] == 5 and ecosystems["crates.io"] == 1
    assert ecosystems["Go"] == 2  # the dependency and stdlib; the (devel) main module is not a release
    assert sum(ecosystems.values()) == report.packages and not report.found_nothing

    components = [c for c in report.sbom["components"] if c["type"] == "library"]
    assert len(components) == report.packages
    assert all(any(p["name"] == LAYER_PROPERTY for p in c["properties"]) for c in components)
    purls = {c["purl"] for c in components}
    assert "pkg:maven/org.example/inner@3.0.0" in purls
    assert "pkg:golang/example.com/greeting@v1.4.2" in purls
    assert any(p.startswith("pkg:rpm/rocky/openssl-libs@3.0.7-24.el9?") for p in purls)

    client = Client()
    client.force_login(world.users["guest"])
    api = client.get(f"/api/v1/repositories/acme/polyglot/-/artifacts/{artifact.digest}/scans/{report.pk}/")
    assert api.status_code == 200 and api.json()["ecosystems"] == ecosystems
    page = client.get(f"/projects/acme/repositories/polyglot/-/artifacts/{artifact.digest}/vulnerabilities/")
    assert page.status_code == 200
    assert b'id="scan-ecosystems"' in page.content and b"Rocky Linux:9 3" in page.content
    outsider = Client()
    outsider.force_login(world.users["outsider"])
    assert (
        outsider.get(
            f"/api/v1/repositories/acme/polyglot/-/artifacts/{artifact.digest}/scans/{report.pk}/"
        ).status_code
        == 404
    )


def test_packages_no_advisory_can_name_are_not_reported_clean(wharf_registry, database, world: World) -> None:
    amazon = layer(
        file("etc/os-release", 'ID="amzn"\nVERSION_ID="2023"\n'),
        file("var/lib/rpm/rpmdb.sqlite", eco.rpm_database(RPMS)),
    )
    push_image(wharf_registry.client(), "acme/amazon", image_of([amazon]))
    assert sync_now().status == "succeeded"

    report = scanning.scan_now(artifact_at("acme/amazon"))

    assert report.status == ScanReport.Status.SUCCEEDED, report.error
    assert report.ecosystems == {UNMATCHED: 3}
    assert report.found_nothing and report.total == 0
    assert any("Amazon Linux" in note for note in report.notes)
    client = Client()
    client.force_login(world.users["guest"])
    page: Any = client.get(
        f"/projects/acme/repositories/amazon/-/artifacts/{report.artifact.digest}/vulnerabilities/"
    )
    assert b"No package could be checked" in page.content and b"No vulnerabilities" not in page.content
