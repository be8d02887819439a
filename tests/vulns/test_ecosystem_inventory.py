"""Inventories beyond dpkg/apk/Python/npm, read from layers built in the test:
rpm databases written by rpm, Go binaries built by Go, cargo-auditable sections,
Java archives nested three levels deep, and whiteouts removing each of them."""

from __future__ import annotations

from typing import Any

import pytest

from repositories.vulns.inventory import Inventory, extract, inventory, wanted
from repositories.vulns.inventory.osrelease import distro_from_os_release
from repositories.vulns.inventory.packages import CARGO, COMPOSER, DEB, GEM, GOLANG, MAVEN, NUGET, PYPI, RPM
from repositories.vulns.layers import read_layers
from repositories.vulns.osv import build_index
from repositories.vulns.sbom import LAYER_PROPERTY, build_sbom, purl_for
from repositories.vulns.scanner import find_vulnerabilities
from tests.vulns import ecosystems as eco
from tests.vulns.images import advisory, affects
from tests.vulns.tarballs import digest_of, executable, file, layer, layers, whiteout

ROCKY_PACKAGES_V1 = (("openssl", 1, "3.0.7", "24.el9", ("openssl-libs",)), ("bash", 0, "5.1.8", "6.el9", ()))
ROCKY_PACKAGES_V2 = (
    ("openssl", 1, "3.0.7", "24.el9", ("openssl-libs",)),
    ("bash", 0, "5.1.8", "9.el9", ()),
    ("zlib", 0, "1.2.11", "40.el9", ()),
)


def scan(*blobs: bytes) -> Inventory:
    return inventory(read_layers(layers(*blobs), wanted, extract=extract))


def by_name(found: Inventory, kind: str) -> dict[str, Any]:
    return {p.name: p for p in found.of_kind(kind)}


# --- rpm -------------------------------------------------------------------------------


@eco.needs_rpm
def test_rpm_sqlite_database_written_by_rpm_is_read_with_sources_epochs_and_layers() -> None:
    base = layer(
        file("etc/os-release", eco.ROCKY_OS_RELEASE),
        file("var/lib/rpm/rpmdb.sqlite", eco.rpm_database(ROCKY_PACKAGES_V1)),
    )
    update = layer(file("var/lib/rpm/rpmdb.sqlite", eco.rpm_database(ROCKY_PACKAGES_V2)))
    found = scan(base, update)
    assert found.distro is not None and found.distro.ecosystems == ("Rocky Linux:9",)
    rpms = by_name(found, RPM)
    assert set(rpms) == {"openssl", "openssl-libs", "bash", "zlib"}
    libs = rpms["openssl-libs"]
    assert (libs.version, libs.source_name, libs.source_version, libs.ecosystem) == (
        "1:3.0.7-24.el9",
        "openssl",
        "1:3.0.7-24.el9",
        "Rocky Linux:9",
    )
    assert libs.layer == digest_of(base)  # unchanged by the update
    assert rpms["bash"].version == "5.1.8-9.el9" and rpms["bash"].layer == digest_of(update)
    assert rpms["zlib"].layer == digest_of(update)
    assert purl_for(libs, found.distro) == (
        "pkg:rpm/rocky/openssl-libs@3.0.7-24.el9?arch=noarch&distro=rocky-9.3&epoch=1&upstream=openssl"
    )


@eco.needs_rpm
def test_rpm_database_removed_by_a_whiteout_lists_nothing() -> None:
    base = layer(
        file("etc/os-release", eco.ROCKY_OS_RELEASE),
        file("var/lib/rpm/rpmdb.sqlite", eco.rpm_database(ROCKY_PACKAGES_V1)),
    )
    found = scan(base, layer(whiteout("var/lib/rpm/rpmdb.sqlite")))
    assert found.of_kind(RPM) == []


@eco.needs_rpm
def test_the_benchmark_header_writer_matches_what_rpm_writes() -> None:
    from repositories.vulns.inventory.rpm import (
        TAG_NAME,
        TAG_RELEASE,
        TAG_VERSION,
        parse_header,
        sqlite_blobs,
    )

    real = [parse_header(blob) for blob in sqlite_blobs(eco.rpm_database(ROCKY_PACKAGES_V1))]
    written = parse_header(eco.rpm_header("bash", "5.1.8", "6.el9"))
    bash = next(tags for tags in real if tags[TAG_NAME] == "bash")
    for tag in (TAG_NAME, TAG_VERSION, TAG_RELEASE):
        assert written[tag] == bash[tag]


def test_rpm_header_blobs_that_rpm_would_refuse_are_skipped() -> None:
    from repositories.vulns.inventory.rpm import package_from_header

    good = eco.rpm_header("zlib", "1.2.11", "40.el9")
    assert package_from_header(good) is not None
    assert package_from_header(good[:40]) is None  # truncated
    assert package_from_header(b"\xff\xff\xff\xff" + good[4:]) is None  # negative index count
    assert package_from_header(eco.rpm_header("gpg-pubkey", "fd431d51", "4ae0493b")) is None  # a key
    corrupt = eco.rpm_sqlite([good, b"garbage", eco.rpm_header("bash", "5.1.8", "6.el9")])
    found = scan(
        layer(file("etc/os-release", eco.ROCKY_OS_RELEASE), file("var/lib/rpm/rpmdb.sqlite", corrupt))
    )
    assert set(by_name(found, RPM)) == {"zlib", "bash"}
    not_sqlite = scan(layer(file("var/lib/rpm/rpmdb.sqlite", b"not a database" * 100)))
    assert not_sqlite.packages == []


@eco.needs_db_load
def test_berkeleydb_packages_written_by_berkeleydb_is_read_inline_and_overflow_headers() -> None:
    headers = [
        eco.rpm_header("bash", "4.2.46", "35.el7_9"),  # small: stored in the hash page
        eco.rpm_header("glibc", "2.17", "326.el7_9", files=400),  # large: overflow pages
        eco.rpm_header("gpg-pubkey", "f4a80eb5", "53a7ff4b"),
    ]
    os_release = 'NAME="CentOS Linux"\nID="centos"\nVERSION_ID="7"\n'
    found = scan(
        layer(file("etc/os-release", os_release), file("var/lib/rpm/Packages", eco.bdb_database(headers)))
    )
    assert {(p.name, p.version) for p in found.of_kind(RPM)} == {
        ("bash", "4.2.46-35.el7_9"),
        ("glibc", "2.17-326.el7_9"),
    }
    assert any("CentOS" in note for note in found.notes)  # no OSV ecosystem: listed, not matched


def test_ndb_packages_db_is_read() -> None:
    headers = [
        eco.rpm_header("libopenssl3", "3.0.8", "150500.5.8.1"),
        eco.rpm_header("gpg-pubkey", "39db7c82", "5f68629b"),
    ]
    found = scan(
        layer(
            file("etc/os-release", 'NAME="SLES"\nID="sles"\nVERSION_ID="15.5"\n'),
            file("usr/lib/sysimage/rpm/Packages.db", eco.ndb_database(headers)),
        )
    )
    assert [(p.name, p.ecosystem) for p in found.of_kind(RPM)] == [
        ("libopenssl3", "SUSE:Linux Enterprise Server 15 SP5")
    ]


@pytest.mark.parametrize(
    ("text", "ecosystems", "remark"),
    [
        (
            'ID="rhel"\nVERSION_ID="9.4"\n',
            tuple(f"Red Hat:enterprise_linux:9::{r}" for r in ("baseos", "appstream", "crb")),
            "BaseOS",
        ),
        ('ID="almalinux"\nVERSION_ID="8.9"\n', ("AlmaLinux:8",), ""),
        (eco.ROCKY_OS_RELEASE, ("Rocky Linux:9",), ""),
        ('ID="sles"\nVERSION_ID="15.5"\n', ("SUSE:Linux Enterprise Server 15 SP5",), ""),
        ('ID="sles"\nVERSION_ID="15"\n', ("SUSE:Linux Enterprise Server 15",), ""),
        ('ID="opensuse-leap"\nVERSION_ID="15.5"\n', ("openSUSE:Leap 15.5",), ""),
        ('ID="opensuse-tumbleweed"\nVERSION_ID="20240101"\n', ("openSUSE:Tumbleweed",), ""),
        ('ID="amzn"\nVERSION_ID="2023"\n', (), "Amazon Linux"),
        ('ID="ol"\nVERSION_ID="9.3"\n', (), "Oracle Linux"),
        ("ID=wolfi\nVERSION_ID=20230201\n", ("Wolfi",), ""),
        ("ID=chainguard\n", ("Chainguard",), ""),
        (
            'ID=debian\nVERSION_CODENAME=trixie\nPRETTY_NAME="Debian GNU/Linux trixie/sid"\n',
            ("Debian:13",),
            "testing",
        ),
        ('ID=debian\nPRETTY_NAME="Debian GNU/Linux trixie/sid"\n', (), "unstable"),
        ("ID=alpine\nVERSION_ID=3.21_alpha20240807\n", ("Alpine:v3.21",), "edge"),
    ],
)
def test_distributions_get_their_osv_ecosystems_or_say_why_not(
    text: str, ecosystems: tuple[str, ...], remark: str
) -> None:
    distro = distro_from_os_release(text)
    assert distro is not None
    assert distro.ecosystems == ecosystems
    assert remark in distro.remark if remark else distro.remark == ""


# --- Go and Rust binaries ----------------------------------------------------------------


@eco.needs_go
def test_go_binary_built_by_go_lists_its_modules_and_the_standard_library() -> None:
    binary = layer(executable("usr/local/bin/demo", eco.go_binary()))
    found = scan(layer(file("etc/os-release", "ID=debian\nVERSION_ID=12\n")), binary)
    modules = {(p.name, p.version) for p in found.of_kind(GOLANG)}
    stdlib = next(p for p in found.of_kind(GOLANG) if p.name == "stdlib")
    assert ("example.com/greeting", "v1.4.2") in modules
    assert stdlib.version.startswith("1.19.") and stdlib.ecosystem == "Go"
    assert not any(name == "example.com/wharfdemo" for name, _ in modules)  # main module is (devel)
    greeting = next(p for p in found.of_kind(GOLANG) if p.name == "example.com/greeting")
    assert greeting.layer == digest_of(binary) and greeting.path == "usr/local/bin/demo"
    assert purl_for(greeting) == "pkg:golang/example.com/greeting@v1.4.2"


@eco.needs_go
def test_go_binary_removed_or_not_executable_is_not_listed() -> None:
    go = eco.go_binary()
    assert scan(layer(executable("app/server", go)), layer(whiteout("app/server"))).packages == []
    assert scan(layer(file("app/server", go))).packages == []  # 0644: not an executable


def test_go_build_info_fixture_without_go_installed_reads_the_same() -> None:
    binary = eco.go_buildinfo_elf("go1.22", [("github.com/gin-gonic/gin", "v1.9.0")], padding=4096)
    found = scan(layer(executable("srv/api", binary)))
    assert {(p.name, p.version) for p in found.of_kind(GOLANG)} == {
        ("github.com/gin-gonic/gin", "v1.9.0"),
        ("stdlib", "1.22.0"),
    }


@pytest.mark.parametrize(
    ("toolchain", "stdlib"),
    [
        ("go1.21.5", "1.21.5"),
        ("go1.22", "1.22.0"),
        ("go1.21rc2", "1.21.0-rc.2"),
        ("go1.22.1 X:boringcrypto", "1.22.1"),
        ("devel", None),
    ],
)
def test_go_toolchain_versions_become_osv_stdlib_versions(toolchain: str, stdlib: str | None) -> None:
    from repositories.vulns.inventory.binaries import stdlib_version

    assert stdlib_version(toolchain) == stdlib


def test_cargo_auditable_section_lists_crates() -> None:
    binary = eco.auditable_elf(
        [
            {"name": "wharf-tool", "version": "0.1.0", "source": "local", "root": True},
            {"name": "serde", "version": "1.0.100", "source": "crates.io"},
            {"name": "smallvec", "version": "1.6.0", "source": "crates.io", "kind": "build"},
        ]
    )
    found = scan(layer(executable("usr/bin/wharf-tool", binary)))
    crates = by_name(found, CARGO)
    assert set(crates) == {"wharf-tool", "serde", "smallvec"}
    assert crates["serde"].ecosystem == "crates.io" and crates["wharf-tool"].ecosystem is None
    assert purl_for(crates["serde"]) == "pkg:cargo/serde@1.0.100"


def test_executables_that_are_not_elf_or_hold_nothing_are_dropped() -> None:
    script = executable("usr/bin/tool.sh", b"#!/bin/sh\necho hi\n" * 40)
    plain_elf = executable("usr/bin/c-tool", eco.minimal_elf({".text": b"\x90" * 1024}))
    broken = executable("usr/bin/broken", b"\x7fELF" + b"\xff" * 600)
    found = scan(layer(script, plain_elf, broken))
    assert found.packages == []


# --- Java ---------------------------------------------------------------------------------


def test_fat_jar_lists_nested_artifacts_three_levels_deep() -> None:
    app = layer(file("app/app.jar", eco.nested_fat_jar()))
    found = scan(app)
    maven = by_name(found, MAVEN)
    assert set(maven) == {
        "com.acme:app",
        "org.example:outer",
        "org.example:middle",
        "org.example:inner",
        "org.apache.logging.log4j:log4j-core",
    }
    inner = maven["org.example:inner"]
    assert inner.path == "app/app.jar!/BOOT-INF/lib/outer.jar!/lib/middle.jar!/lib/inner.jar"
    assert (inner.version, inner.ecosystem, inner.layer) == ("3.0.0", "Maven", digest_of(app))
    assert (
        purl_for(maven["org.apache.logging.log4j:log4j-core"])
        == "pkg:maven/org.apache.logging.log4j/log4j-core@2.14.1"
    )


def test_jar_without_pom_properties_is_identified_from_its_manifest_with_its_sha1() -> None:
    bare = eco.jar(
        (
            "META-INF/MANIFEST.MF",
            eco.manifest(
                Implementation_Title="commons-text",
                Implementation_Version="1.9",
                Implementation_Vendor_Id="org.apache.commons",
            ),
        ),
        ("org/apache/commons/text/StringSubstitutor.class", b"\xca\xfe\xba\xbe"),
    )
    named_only = eco.jar(("META-INF/MANIFEST.MF", eco.manifest(Created_By="ant")))
    found = scan(
        layer(file("opt/lib/commons-text.jar", bare), file("opt/lib/snakeyaml-1.33.jar", named_only))
    )
    maven = by_name(found, MAVEN)
    assert maven["org.apache.commons:commons-text"].version == "1.9"
    assert "sha1 " in maven["org.apache.commons:commons-text"].note
    assert (
        maven["snakeyaml"].version == "1.33" and maven["snakeyaml"].ecosystem is None
    )  # no group: unmatched


def test_jar_removed_by_a_whiteout_and_broken_archives_list_nothing() -> None:
    app = layer(file("app/app.jar", eco.nested_fat_jar()))
    assert scan(app, layer(whiteout("app/app.jar"))).of_kind(MAVEN) == []
    assert scan(layer(file("app/broken.jar", b"PK\x03\x04 not really a zip" * 10))).packages == []


# --- Ruby -----------------------------------------------------------------------------

GEMSPEC = """# -*- encoding: utf-8 -*-
# stub: rack 2.2.8 ruby lib

Gem::Specification.new do |s|
  s.name = "rack".freeze
  s.version = "2.2.8"

  s.required_rubygems_version = Gem::Requirement.new(">= 0".freeze) if s.respond_to? :required_rubygems_version=
  s.require_paths = ["lib".freeze]
  s.authors = ["Leah Neukirchen".freeze]
  s.summary = "A modular Ruby webserver interface".freeze
end
"""


def test_installed_gem_specifications_are_read_and_whiteouts_remove_them() -> None:
    gem_home = "usr/local/bundle/specifications"
    base = layer(
        file(f"{gem_home}/rack-2.2.8.gemspec", GEMSPEC),
        file("usr/local/lib/ruby/3.2.0/specifications/default/json-2.6.3.gemspec", "# generated\n"),
        file(
            "usr/local/bundle/gems/rack-2.2.8/example.gemspec", GEMSPEC
        ),  # a gem's own file: not installed metadata
    )
    found = scan(base)
    gems = {(p.name, p.version, p.ecosystem) for p in found.of_kind(GEM)}
    assert gems == {("rack", "2.2.8", "RubyGems"), ("json", "2.6.3", "RubyGems")}
    assert purl_for(found.of_kind(GEM)[1]) == "pkg:gem/rack@2.2.8"
    assert scan(base, layer(whiteout(f"{gem_home}/rack-2.2.8.gemspec"))).of_kind(GEM)[0].name == "json"


def test_ubuntu_with_esm_packages_is_also_matched_as_ubuntu_pro() -> None:
    os_release = 'ID=ubuntu\nVERSION="18.04.6 LTS (Bionic Beaver)"\nVERSION_ID="18.04"\n'
    status = "Package: libssl1.1\nStatus: install ok installed\nSource: openssl\nVersion: 1.1.1-1ubuntu2.1~18.04.23+esm4\n"
    found = scan(layer(file("etc/os-release", os_release), file("var/lib/dpkg/status", status)))
    assert found.distro is not None
    assert found.distro.ecosystems == ("Ubuntu:18.04", "Ubuntu:18.04:LTS", "Ubuntu:Pro:18.04:LTS")
    index = build_index(
        [
            advisory(
                "WHARF-ESM-1", affects("Ubuntu:Pro:18.04:LTS", "openssl", "1.1.1-1ubuntu2.1~18.04.23+esm5")
            )
        ]
    )
    assert [f.vulnerability_id for f in find_vulnerabilities(found, index)] == ["WHARF-ESM-1"]
    plain = scan(
        layer(file("etc/os-release", os_release), file("var/lib/dpkg/status", status.replace("+esm4", "")))
    )
    assert plain.distro is not None and "Ubuntu:Pro:18.04:LTS" not in plain.distro.ecosystems


# --- .NET and PHP ----------------------------------------------------------------------

DEPS_JSON = {
    "runtimeTarget": {"name": ".NETCoreApp,Version=v8.0", "signature": ""},
    "targets": {
        ".NETCoreApp,Version=v8.0": {"WebApp/1.0.0": {"dependencies": {"Newtonsoft.Json": "13.0.1"}}}
    },
    "libraries": {
        "WebApp/1.0.0": {"type": "project", "serviceable": False, "sha512": ""},
        "Newtonsoft.Json/13.0.1": {
            "type": "package",
            "serviceable": True,
            "sha512": "sha512-ppPFpBcvxdsfUonNcvITKqLl3bqxWbDCZIzDWHzjpdAHRFfZe0Dw9HmA0+za13IdyrgJwpkDTDA9fHaxOrt20A==",
            "path": "newtonsoft.json/13.0.1",
            "hashPath": "newtonsoft.json.13.0.1.nupkg.sha512",
        },
        "Microsoft.NETCore.App.Runtime.linux-x64/8.0.0": {
            "type": "runtimepack",
            "serviceable": False,
            "sha512": "",
        },
    },
}
INSTALLED_JSON = {
    "packages": [
        {
            "name": "symfony/http-kernel",
            "version": "v5.4.30",
            "version_normalized": "5.4.30.0",
            "type": "library",
        },
        {"name": "Monolog/Monolog", "version": "2.9.1", "version_normalized": "2.9.1.0", "type": "library"},
    ],
    "dev": True,
    "dev-package-names": [],
}


def test_dotnet_deps_json_and_composer_installed_json_list_their_packages() -> None:
    import json

    found = scan(
        layer(
            file("app/WebApp.deps.json", json.dumps(DEPS_JSON)),
            file("var/www/vendor/composer/installed.json", json.dumps(INSTALLED_JSON)),
            file("var/www/composer.lock", json.dumps({"packages": [{"name": "x/y", "version": "1.0"}]})),
        )
    )
    nuget = {(p.name, p.version, p.source_name, p.ecosystem) for p in found.of_kind(NUGET)}
    assert nuget == {("Newtonsoft.Json", "13.0.1", "newtonsoft.json", "NuGet")}
    composer = {(p.name, p.version, p.ecosystem) for p in found.of_kind(COMPOSER)}
    assert composer == {
        ("symfony/http-kernel", "v5.4.30", "Packagist"),
        ("monolog/monolog", "2.9.1", "Packagist"),
    }
    index = build_index(
        [
            advisory("WHARF-NUGET-1", affects("NuGet", "Newtonsoft.Json", "13.0.2")),
            advisory("WHARF-PHP-1", affects("Packagist", "symfony/http-kernel", "5.4.31")),
        ]
    )
    assert {(f.vulnerability_id, f.package) for f in find_vulnerabilities(found, index)} == {
        ("WHARF-NUGET-1", "Newtonsoft.Json"),
        ("WHARF-PHP-1", "symfony/http-kernel"),
    }
    assert purl_for(found.of_kind(COMPOSER)[1]) == "pkg:composer/symfony/http-kernel@v5.4.30"
    assert purl_for(found.of_kind(NUGET)[0]) == "pkg:nuget/Newtonsoft.Json@13.0.1"


# --- one package per distribution-installed Python module ------------------------------


def test_python_installed_by_dpkg_is_one_package_and_pip_installs_stay() -> None:
    status = (
        "Package: python3-requests\nStatus: install ok installed\nArchitecture: all\n"
        "Source: requests\nVersion: 2.28.1+dfsg-1\n"
    )
    found = scan(
        layer(
            file("etc/os-release", "ID=debian\nVERSION_ID=12\n"),
            file("var/lib/dpkg/status", status),
            file(
                "usr/lib/python3/dist-packages/requests-2.28.1.dist-info/METADATA",
                "Name: requests\nVersion: 2.28.1\n",
            ),
            file(
                "usr/local/lib/python3.11/dist-packages/flask-3.0.0.dist-info/METADATA",
                "Name: Flask\nVersion: 3.0.0\n",
            ),
        )
    )
    assert [p.name for p in found.of_kind(DEB)] == ["python3-requests"]
    assert [p.name for p in found.of_kind(PYPI)] == ["Flask"]


def test_python_installed_by_apk_is_one_package_and_pip_installs_stay() -> None:
    installed = (
        "P:py3-requests\nV:2.31.0-r1\nA:noarch\no:py3-requests\n"
        "F:usr/lib/python3.11/site-packages/requests\nR:__init__.py\n"
        "F:usr/lib/python3.11/site-packages/requests-2.31.0.dist-info\nR:METADATA\n"
    )
    site = "usr/lib/python3.11/site-packages"
    found = scan(
        layer(
            file("etc/os-release", "ID=alpine\nVERSION_ID=3.19.1\n"),
            file("lib/apk/db/installed", installed),
            file(f"{site}/requests-2.31.0.dist-info/METADATA", "Name: requests\nVersion: 2.31.0\n"),
            file(
                f"{site}/flask-3.0.0.dist-info/METADATA", "Name: Flask\nVersion: 3.0.0\n"
            ),  # pip, same directory
        )
    )
    assert [p.name for p in found.of_kind(PYPI)] == ["Flask"]


@eco.needs_rpm
def test_python_installed_by_rpm_is_one_package() -> None:
    site = "/usr/lib/python3.9/site-packages"
    packages = (("python-idna", 0, "2.10", "7.el9", (), (f"{site}/idna-2.10.dist-info/METADATA",)),)
    found = scan(
        layer(
            file("etc/os-release", eco.ROCKY_OS_RELEASE),
            file("var/lib/rpm/rpmdb.sqlite", eco.rpm_database(packages)),
            file(f"{site[1:]}/idna-2.10.dist-info/METADATA", "Name: idna\nVersion: 2.10\n"),
            file(f"{site[1:]}/urllib3-2.0.0.dist-info/METADATA", "Name: urllib3\nVersion: 2.0.0\n"),
        )
    )
    assert [p.name for p in found.of_kind(RPM)] == ["python-idna"]
    assert [p.name for p in found.of_kind(PYPI)] == ["urllib3"]


# --- matching and the SBOM ----------------------------------------------------------------


@eco.needs_rpm
def test_new_ecosystems_are_matched_and_every_package_is_in_the_sbom_with_its_layer() -> None:
    base = layer(
        file("etc/os-release", eco.ROCKY_OS_RELEASE),
        file("var/lib/rpm/rpmdb.sqlite", eco.rpm_database(ROCKY_PACKAGES_V1)),
    )
    apps = layer(
        file("app/app.jar", eco.nested_fat_jar()),
        executable(
            "usr/bin/wharf-tool",
            eco.auditable_elf([{"name": "smallvec", "version": "1.6.0", "source": "crates.io"}]),
        ),
    )
    found = scan(base, apps)
    index = build_index(
        [
            advisory("WHARF-RPM-1", affects("Rocky Linux:9", "openssl", "1:3.0.7-27.el9")),
            advisory(
                "WHARF-RPM-2", affects("Rocky Linux:9", "bash", "5.1.8-6.el9")
            ),  # fixed at what is installed
            advisory("WHARF-MVN-1", affects("Maven", "org.apache.logging.log4j:log4j-core", "2.15.0")),
            advisory(
                "WHARF-MVN-2", affects("Maven", "org.example:inner", "3.0.0-beta1")
            ),  # fixed before 3.0.0
            advisory("WHARF-CRATE-1", affects("crates.io", "smallvec", "1.6.1", type_="SEMVER")),
        ]
    )
    findings = {(f.vulnerability_id, f.package) for f in find_vulnerabilities(found, index)}
    assert findings == {
        ("WHARF-RPM-1", "openssl"),
        ("WHARF-RPM-1", "openssl-libs"),
        ("WHARF-MVN-1", "org.apache.logging.log4j:log4j-core"),
        ("WHARF-CRATE-1", "smallvec"),
    }
    sbom = build_sbom(found, image_name="acme/rocky", image_digest="sha256:" + "0" * 64)
    components = [c for c in sbom["components"] if c["type"] == "library"]
    assert len(components) == len(found.packages)
    for component in components:
        layer_property = next(p["value"] for p in component["properties"] if p["name"] == LAYER_PROPERTY)
        assert layer_property in (digest_of(base), digest_of(apps))
        assert component["purl"].startswith(("pkg:rpm/rocky/", "pkg:maven/", "pkg:cargo/"))


def test_alpine_p1_fix_released_as_a_new_revision_is_found() -> None:
    installed = "P:lsof\nV:5.7.1p1-r0\nA:x86_64\no:lsof\n\nP:neofetch\nV:0.8.21.r1-r0\nA:noarch\n"
    found = scan(
        layer(
            file("etc/os-release", "ID=alpine\nVERSION_ID=3.20.3\n"), file("lib/apk/db/installed", installed)
        )
    )
    index = build_index(
        [
            advisory("WHARF-APK-P1", affects("Alpine:v3.20", "lsof", "5.7.1p1-r1")),
            advisory("WHARF-APK-DOT", affects("Alpine:v3.20", "neofetch", "0.8.21.r2-r0")),
        ]
    )
    assert {(f.vulnerability_id, f.package) for f in find_vulnerabilities(found, index)} == {
        ("WHARF-APK-P1", "lsof"),
        ("WHARF-APK-DOT", "neofetch"),
    }


def test_the_order_follows_the_release_advisories_were_computed_for_not_the_database_path() -> None:
    """An apk-tools 3 database (usr/lib/apk/db/installed) on Alpine 3.22 is still
    matched in apk-tools 2 order, the one Alpine's secdb computed v3.22's fixes with;
    Alpine 3.23 (which ships apk-tools 3) gets apk-tools 3's. The scan says so."""
    installed = "P:lsof\nV:5.7.1p1-r0\nA:x86_64\n"
    index = build_index(
        [
            advisory("WHARF-APK2", affects("Alpine:v3.22", "lsof", "5.7.1p1-r1")),
            advisory("WHARF-APK3", affects("Alpine:v3.23", "lsof", "5.7.1p1-r1")),
        ]
    )
    on_3_22 = scan(
        layer(
            file("etc/os-release", "ID=alpine\nVERSION_ID=3.22.1\n"),
            file("usr/lib/apk/db/installed", installed),
        )
    )
    assert [f.vulnerability_id for f in find_vulnerabilities(on_3_22, index)] == ["WHARF-APK2"]
    assert any("apk-tools 3 database" in note for note in on_3_22.notes)
    on_3_23 = scan(
        layer(
            file("etc/os-release", "ID=alpine\nVERSION_ID=3.23.0\n"),
            file("usr/lib/apk/db/installed", installed),
        )
    )
    # apk-tools 3 cannot read `p1` followed by `-r`: both versions are invalid at the
    # same token and compare equal, so it sees the fix as installed (what apk 3 does).
    assert find_vulnerabilities(on_3_23, index) == []


def test_archive_nesting_stops_at_its_limit() -> None:
    from repositories.vulns.inventory.java import MAX_NESTING

    archive = eco.maven_jar("org.deep", "level8", "8.0")
    for level in range(7, 0, -1):
        archive = eco.jar(
            eco.pom_properties("org.deep", f"level{level}", f"{level}.0"), (f"lib/l{level + 1}.jar", archive)
        )
    found = scan(layer(file("app/deep.jar", archive)))
    levels = sorted(p.name for p in found.of_kind(MAVEN))
    assert levels == [f"org.deep:level{n}" for n in range(1, MAX_NESTING + 1)]
