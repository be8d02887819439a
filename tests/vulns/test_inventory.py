"""The package inventory: os-release, dpkg, apk, Python and npm metadata."""

from __future__ import annotations

import pytest

from repositories.vulns.inventory import Inventory, inventory, wanted
from repositories.vulns.inventory.osrelease import distro_from_os_release, parse_os_release
from repositories.vulns.inventory.packages import APK, DEB, NPM, PYPI
from repositories.vulns.layers import read_layers
from tests.vulns import images
from tests.vulns.tarballs import digest_of, file, layer, layers, symlink


def scan_inventory(*blobs: bytes) -> Inventory:
    return inventory(read_layers(layers(*blobs), wanted))


# --- os-release ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "ecosystem", "ecosystems"),
    [
        (images.DEBIAN_OS_RELEASE, "Debian:12", ("Debian:12",)),
        (
            'ID=ubuntu\nVERSION="22.04.3 LTS (Jammy Jellyfish)"\nVERSION_ID="22.04"\n',
            "Ubuntu:22.04",
            ("Ubuntu:22.04", "Ubuntu:22.04:LTS"),
        ),
        (
            'ID=ubuntu\nVERSION="23.10 (Mantic Minotaur)"\nVERSION_ID="23.10"\n',
            "Ubuntu:23.10",
            ("Ubuntu:23.10",),
        ),
        (images.ALPINE_OS_RELEASE, "Alpine:v3.19", ("Alpine:v3.19",)),
        ("ID=alpine\nVERSION_ID=3.20.0_alpha20240329\n", "Alpine:v3.20", ("Alpine:v3.20",)),
        ('ID="fedora"\nVERSION_ID=39\n', None, ()),
        ('ID=debian\nPRETTY_NAME="Debian GNU/Linux trixie/sid"\n', None, ()),  # testing: no VERSION_ID
    ],
)
def test_os_release_names_the_osv_ecosystem(
    text: str, ecosystem: str | None, ecosystems: tuple[str, ...]
) -> None:
    distro = distro_from_os_release(text)
    assert distro is not None
    assert distro.ecosystem == ecosystem
    assert distro.ecosystems == ecosystems


def test_os_release_parsing_follows_shell_quoting_and_ignores_noise() -> None:
    fields = parse_os_release(
        '# comment\nNAME="Debian GNU/Linux"\nID=debian\nBROKEN="unbalanced\nnot a line\n'
    )
    assert fields == {"NAME": "Debian GNU/Linux", "ID": "debian", "BROKEN": "unbalanced"}
    assert distro_from_os_release("NAME=nothing\n") is None


def test_os_release_is_read_through_its_symlink_and_usr_lib_is_the_fallback() -> None:
    via_link = scan_inventory(
        layer(
            file("usr/lib/os-release", images.DEBIAN_OS_RELEASE),
            symlink("etc/os-release", "../usr/lib/os-release"),
        )
    )
    only_usr_lib = scan_inventory(layer(file("usr/lib/os-release", images.ALPINE_OS_RELEASE)))
    dangling = scan_inventory(layer(symlink("etc/os-release", "../usr/lib/os-release")))
    assert via_link.distro is not None and via_link.distro.ecosystem == "Debian:12"
    assert only_usr_lib.distro is not None and only_usr_lib.distro.ecosystem == "Alpine:v3.19"
    assert dangling.distro is None


# --- dpkg ---------------------------------------------------------------------------------


def test_dpkg_status_lists_installed_packages_with_their_source() -> None:
    [base, _] = images.debian_image()
    found = scan_inventory(*images.debian_image())
    deb = {p.name: p for p in found.of_kind(DEB)}
    assert set(deb) == {"libssl3", "openssl", "libcurl4", "zlib1g"}  # not the deinstalled one
    # Source without a version: the binary version is the source version.
    assert (deb["libssl3"].source_name, deb["libssl3"].source_version) == ("openssl", "3.0.9-1")
    # Source with a version in parentheses: that version.
    assert (deb["libcurl4"].version, deb["libcurl4"].source_name, deb["libcurl4"].source_version) == (
        "7.88.1-10+deb12u1+b1",
        "curl",
        "7.88.1-10+deb12u1",
    )
    # No Source field: the binary package is its own source.
    assert (deb["openssl"].source_name, deb["openssl"].source_version) == ("openssl", "3.0.9-1")
    assert deb["zlib1g"].source_version == "1:1.2.13.dfsg-1"
    assert {p.ecosystem for p in deb.values()} == {"Debian:12"}
    assert {p.layer for p in deb.values()} == {digest_of(base)}
    assert deb["libssl3"].arch == "amd64" and deb["libssl3"].path == "var/lib/dpkg/status"


def test_dpkg_status_skips_packages_not_fully_installed() -> None:
    status = (
        "Package: half\nStatus: install reinstreq half-installed\nVersion: 1\n\n"
        "Package: held\nStatus: hold ok installed\nVersion: 2\n\n"
        "Package: nostatus\nVersion: 3\n\n"
        "Package: noversion\nStatus: install ok installed\n"
    )
    found = scan_inventory(layer(file("var/lib/dpkg/status", status)))
    assert [p.name for p in found.packages] == ["held"]


def test_distroless_status_d_files_list_packages_without_a_status_field() -> None:
    found = scan_inventory(*images.distroless_image())
    deb = {p.name: p for p in found.packages}
    assert set(deb) == {"libssl3", "base-files", "tzdata"}  # the .md5sums file is not a package
    assert deb["libssl3"].source_name == "openssl"
    assert deb["tzdata"].path == "var/lib/dpkg/status.d/base"


def test_a_package_is_attributed_to_the_layer_that_installed_it() -> None:
    first = layer(file("var/lib/dpkg/status", "Package: a\nStatus: install ok installed\nVersion: 1\n"))
    second = layer(
        file(
            "var/lib/dpkg/status",
            "Package: a\nStatus: install ok installed\nVersion: 1\n\n"
            "Package: b\nStatus: install ok installed\nVersion: 1\n",
        )
    )
    third = layer(
        file(
            "var/lib/dpkg/status",
            "Package: a\nStatus: install ok installed\nVersion: 2\n\n"
            "Package: b\nStatus: install ok installed\nVersion: 1\n\n"
            "Package: c\nStatus: install ok installed\nVersion: 1\n",
        )
    )
    found = scan_inventory(first, second, third)
    assert {p.name: p.layer for p in found.packages} == {
        "a": digest_of(third),  # upgraded there
        "b": digest_of(second),
        "c": digest_of(third),
    }


# --- apk ----------------------------------------------------------------------------------


def test_apk_database_lists_packages_with_their_origin() -> None:
    found = scan_inventory(*images.alpine_image())
    apk = {p.name: p for p in found.of_kind(APK)}
    assert set(apk) == {"libcrypto3", "libssl3", "musl", "busybox"}
    assert (apk["libcrypto3"].source_name, apk["libcrypto3"].source_version) == ("openssl", "3.1.4-r1")
    assert apk["busybox"].source_name == "busybox"  # no origin: its own name
    assert apk["musl"].arch == "x86_64" and apk["musl"].ecosystem == "Alpine:v3.19"


# --- Python and npm -------------------------------------------------------------------


def test_python_and_npm_packages_are_found_with_their_ecosystems() -> None:
    blobs = images.language_image()
    found = scan_inventory(*blobs)
    assert {(p.name, p.version, p.ecosystem) for p in found.of_kind(PYPI)} == {
        ("PyYAML", "5.3.1", "PyPI"),
        ("requests", "2.31.0", "PyPI"),
    }
    assert {p.source_name for p in found.of_kind(PYPI)} == {"pyyaml", "requests"}
    npm = {p.name: p for p in found.of_kind(NPM)}
    assert set(npm) == {"lodash", "@babel/traverse"}  # not the private app root
    assert npm["lodash"].layer == digest_of(blobs[-1])
    assert npm["@babel/traverse"].path == "app/node_modules/@babel/traverse/package.json"


def test_egg_info_metadata_is_read_as_a_directory_or_a_file() -> None:
    site = "usr/lib/python3/dist-packages"
    found = scan_inventory(
        layer(
            file(
                f"{site}/Zope.Interface-5.0.egg-info/PKG-INFO",
                "Metadata-Version: 1.1\nName: Zope.Interface\nVersion: 5.0\n",
            ),
            file(
                f"{site}/six-1.16.0.egg-info",
                "Metadata-Version: 1.1\nName: six\nVersion: 1.16.0\n\nName: body\n",
            ),
            file(f"{site}/broken-1.0.dist-info/METADATA", "Metadata-Version: 2.1\nSummary: no name\n"),
        )
    )
    assert {(p.name, p.source_name, p.version) for p in found.packages} == {
        ("Zope.Interface", "zope-interface", "5.0"),
        ("six", "six", "1.16.0"),
    }


def test_invalid_or_incomplete_package_json_files_are_skipped() -> None:
    found = scan_inventory(
        layer(
            file("n/node_modules/bad/package.json", "{not json"),
            file("n/node_modules/array/package.json", "[1, 2]"),
            file("n/node_modules/noversion/package.json", '{"name": "noversion", "private": true}'),
            file("n/node_modules/ok/package.json", '{"name": "ok", "version": "1.0.0"}'),
            file("n/node_modules/ok/lib/package.json", '{"type": "module"}'),
            file("n/node_modules/ok/node_modules/dep/package.json", '{"name": "dep", "version": "2.0.0"}'),
        )
    )
    assert {(p.name, p.version) for p in found.packages} == {("ok", "1.0.0"), ("dep", "2.0.0")}


def test_the_same_package_found_twice_is_listed_once_from_the_lowest_layer() -> None:
    lower = layer(file("a/node_modules/x/package.json", '{"name": "x", "version": "1.0.0"}'))
    upper = layer(file("b/node_modules/x/package.json", '{"name": "x", "version": "1.0.0"}'))
    [package] = scan_inventory(lower, upper).packages
    assert package.layer == digest_of(lower)


def test_os_packages_without_a_known_distribution_are_listed_with_a_note() -> None:
    found = scan_inventory(
        layer(file("var/lib/dpkg/status", "Package: a\nStatus: install ok installed\nVersion: 1\n"))
    )
    assert [(p.name, p.ecosystem) for p in found.packages] == [("a", None)]
    assert any("not matched" in note for note in found.notes)


# --- which files are read ------------------------------------------------------------


@pytest.mark.parametrize(
    ("path", "is_wanted"),
    [
        ("etc/os-release", True),
        ("usr/lib/os-release", True),
        ("var/lib/dpkg/status", True),
        ("var/lib/dpkg/status-old", False),
        ("var/lib/dpkg/status.d/openssl", True),
        ("var/lib/dpkg/status.d/openssl.md5sums", False),
        ("lib/apk/db/installed", True),
        ("usr/lib/apk/db/installed", True),
        ("usr/lib/python3.11/site-packages/pip-23.0.dist-info/METADATA", True),
        ("usr/lib/python3.11/site-packages/pip-23.0.dist-info/RECORD", False),
        ("usr/lib/python3/dist-packages/six-1.16.0.egg-info", True),
        ("app/node_modules/lodash/package.json", True),
        ("app/node_modules/@scope/pkg/package.json", True),
        ("app/node_modules/lodash/fp/package.json", False),
        ("app/package.json", False),
        ("etc/passwd", False),
    ],
)
def test_only_the_files_the_inventory_parses_are_wanted(path: str, is_wanted: bool) -> None:
    assert (wanted(path) is not None) is is_wanted


def test_package_databases_may_be_larger_than_package_manifests() -> None:
    assert wanted("var/lib/dpkg/status") > wanted("app/node_modules/x/package.json")  # type: ignore[operator]
