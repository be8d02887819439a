"""CycloneDX SBOMs of scanned images: valid against the official CycloneDX 1.6 JSON
schema, the same document `cyclonedx-python-lib` wrote before they were built
directly, package URLs encoded as `packageurl-python` encodes them, and reproducible.
"""

from __future__ import annotations

import datetime as dt
import json
import subprocess
import sys
import uuid
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from repositories.vulns.inventory import Inventory, inventory, wanted
from repositories.vulns.inventory.osrelease import Distro
from repositories.vulns.inventory.packages import (
    APK,
    CARGO,
    COMPOSER,
    DEB,
    GEM,
    GOLANG,
    MAVEN,
    NPM,
    NUGET,
    PYPI,
    RPM,
    Package,
)
from repositories.vulns.layers import read_layers
from repositories.vulns.sbom import LAYER_PROPERTY, SPEC_VERSION, build_sbom, purl_for, sbom_json
from tests.vulns import images
from tests.vulns.tarballs import digest_of, file, layer, layers

validation = pytest.importorskip("cyclonedx.validation.json")
reference = pytest.importorskip("tests.vulns.sbom_reference")

ROOT = Path(__file__).resolve().parents[2]
IMAGE = "registry.example/acme/web"
DIGEST = "sha256:" + "ab" * 32
SERIAL = uuid.UUID("12345678-1234-5678-1234-567812345678")
WHEN = dt.datetime(2026, 11, 29, 12, 0, tzinfo=dt.UTC)
IMAGES = [images.debian_image, images.distroless_image, images.alpine_image, images.language_image]
DEBIAN_12 = Distro("debian", "12", "Debian GNU/Linux 12 (bookworm)", ("Debian:12",))


def inventory_of(blobs: list[bytes]) -> Inventory:
    return inventory(read_layers(layers(*blobs), wanted))


def sbom_of(blobs: list[bytes]) -> dict[str, Any]:
    return json.loads(
        sbom_json(
            inventory_of(blobs), image_name=IMAGE, image_digest=DIGEST, serial_number=SERIAL, timestamp=WHEN
        )
    )


def library_sbom(found: Inventory, *, image_name: str = IMAGE, image_digest: str = DIGEST) -> dict[str, Any]:
    return json.loads(
        reference.reference_sbom_json(
            found, image_name=image_name, image_digest=image_digest, serial_number=SERIAL, timestamp=WHEN
        )
    )


def direct_sbom(found: Inventory, *, image_name: str = IMAGE, image_digest: str = DIGEST) -> dict[str, Any]:
    return build_sbom(
        found, image_name=image_name, image_digest=image_digest, serial_number=SERIAL, timestamp=WHEN
    )


def schema_errors(text: str) -> Any:
    return validation.JsonStrictValidator(reference.SCHEMA_VERSION).validate_str(text)


def purls(sbom: dict[str, Any]) -> set[str]:
    return {c["purl"] for c in sbom["components"] if "purl" in c}


def package(kind: str, name: str, version: str, **fields: str) -> Package:
    return Package(
        kind=kind,
        name=name,
        version=version,
        source_name=fields.pop("source_name", name),
        source_version=fields.pop("source_version", version),
        **fields,
    )


def assert_purl(found: Package, distro: Distro | None, expected: str) -> None:
    """`expected`, and what packageurl-python writes for the same package."""
    assert purl_for(found, distro) == expected
    assert reference.reference_purl(found, distro).to_string() == expected


@pytest.fixture(scope="module")
def realistic() -> Inventory:
    """This machine's dpkg database (real epochs, `+deb12u1`, `~` versions) and
    os-release, the Python distributions of this environment (mixed case,
    underscores) and npm packages, scoped ones included."""
    status = Path("/var/lib/dpkg/status")
    if not status.exists():
        pytest.skip("needs a Debian-family machine's dpkg database")
    system = [file("var/lib/dpkg/status", status.read_bytes())]
    if Path("/etc/os-release").exists():
        system.append(file("etc/os-release", Path("/etc/os-release").read_bytes()))
    site = Path(next(p for p in sys.path if p.endswith("site-packages")))
    python = [
        file(f"usr/lib/python3/site-packages/{p.parent.name}/METADATA", p.read_bytes())
        for p in site.glob("*.dist-info/METADATA")
    ]
    npm = [
        file(f"app/node_modules/{name}/package.json", json.dumps({"name": name, "version": version}))
        for name, version in [
            ("@babel/traverse", "7.23.0"),
            ("@Types/Node", "20.8.10"),
            ("lodash", "4.17.20"),
            ("left-pad", "1.3.0"),
            ("@angular/core", "17.0.0-rc.1"),
        ]
    ]
    found = inventory(read_layers(layers(layer(*system), layer(*python), layer(*npm)), wanted))
    assert len(found.packages) > 100
    return found


# --- valid CycloneDX ----------------------------------------------------------------


@pytest.mark.parametrize("image", IMAGES)
def test_sbom_validates_against_the_cyclonedx_schema(image: Any) -> None:
    text = sbom_json(inventory_of(image()), image_name=IMAGE, image_digest=DIGEST)
    assert schema_errors(text) is None


def test_the_sbom_of_a_realistic_image_validates_against_the_cyclonedx_schema(realistic: Inventory) -> None:
    assert schema_errors(sbom_json(realistic, image_name=IMAGE, image_digest=DIGEST)) is None


def test_an_empty_inventory_still_gives_a_valid_sbom() -> None:
    text = sbom_json(Inventory(None, []), image_name="app", image_digest="")
    assert schema_errors(text) is None
    assert json.loads(text)["dependencies"] == [{"ref": "pkg:oci/app"}]


def test_the_validator_does_reject_an_invalid_document() -> None:
    # Guard: the schema tests would be worthless with a validator accepting anything.
    text = json.dumps({"bomFormat": "CycloneDX", "specVersion": SPEC_VERSION, "components": [{"name": 1}]})
    assert schema_errors(text) is not None


# --- the same document as cyclonedx-python-lib ----------------------------------------


@pytest.mark.parametrize("image", IMAGES)
def test_the_sbom_is_the_document_the_library_built(image: Any) -> None:
    found = inventory_of(image())
    assert direct_sbom(found) == library_sbom(found)


def test_a_realistic_image_gets_the_document_the_library_built(realistic: Inventory) -> None:
    assert direct_sbom(realistic) == library_sbom(realistic)


def test_an_image_name_with_a_registry_port_gets_the_librarys_root_component() -> None:
    found = inventory_of(images.debian_image())
    name = "127.0.0.1:5000/Acme/Web"
    assert direct_sbom(found, image_name=name, image_digest="") == library_sbom(
        found, image_name=name, image_digest=""
    )


_TEXT = st.text(alphabet="abcXYZ019 .-_+~:@/%?#&=!É中", max_size=12)
_NAMES = _TEXT.filter(lambda name: name.strip().strip("/"))
_PACKAGES = st.builds(
    Package,
    kind=st.sampled_from([DEB, APK, PYPI, NPM, RPM, CARGO, GEM, MAVEN, GOLANG, NUGET, COMPOSER, "hackage"]),
    name=st.one_of(_NAMES, _NAMES.map(lambda name: "@" + name)),
    version=_TEXT,
    source_name=_TEXT,
    source_version=_TEXT,
    arch=st.sampled_from(["", "amd64", "x86_64", "all", " "]),
    layer=st.sampled_from(["", "sha256:" + "12" * 32]),
    path=_TEXT,
    namespace=st.sampled_from(["", "org.apache.commons"]),
    epoch=st.sampled_from(["", "1"]),
    note=st.sampled_from(["", "identified from its manifest or file name; sha1 00ff"]),
)
_DISTROS = st.one_of(
    st.none(),
    st.builds(
        Distro,
        id=st.sampled_from(["debian", "alpine", "Ubuntu", ""]),
        version_id=st.sampled_from(["", "12", "3.19.1", "22.04"]),
        pretty_name=st.sampled_from(["", "Ubuntu 22.04.3 LTS"]),
    ),
)


# Repository names as the registry allows them, with or without a registry host.
_IMAGE_NAMES = st.from_regex(r"\A([a-z0-9.-]+(:[0-9]+)?/)?[a-z0-9]+([._/-][a-z0-9]+)*\Z")


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(packages=st.lists(_PACKAGES, max_size=5), distro=_DISTROS, image_name=_IMAGE_NAMES)
def test_any_inventory_gets_the_document_the_library_built(
    packages: list[Package], distro: Distro | None, image_name: str
) -> None:
    found = Inventory(distro, packages)
    try:
        expected = library_sbom(found, image_name=image_name)
    except (ValueError, TypeError):  # packageurl-python fails on a name that normalises to nothing
        assume(False)
    assert direct_sbom(found, image_name=image_name) == expected


# --- package URLs -------------------------------------------------------------------


def test_debian_packages_get_deb_purls_with_arch_distro_and_upstream() -> None:
    sbom = sbom_of(images.debian_image())
    assert "pkg:deb/debian/libssl3@3.0.9-1?arch=amd64&distro=debian-12&upstream=openssl" in purls(sbom)
    assert "pkg:deb/debian/openssl@3.0.9-1?arch=amd64&distro=debian-12" in purls(sbom)
    assert (
        "pkg:deb/debian/libcurl4@7.88.1-10%2Bdeb12u1%2Bb1?arch=amd64&distro=debian-12&upstream=curl%407.88.1-10%2Bdeb12u1"
        in purls(sbom)
    )
    os_component = next(c for c in sbom["components"] if c["type"] == "operating-system")
    assert (os_component["name"], os_component["version"]) == ("debian", "12")


def test_alpine_python_and_npm_packages_get_their_purls() -> None:
    sbom = sbom_of(images.language_image())
    assert "pkg:apk/alpine/libcrypto3@3.1.4-r1?arch=x86_64&distro=alpine-3.19.1&upstream=openssl" in purls(
        sbom
    )
    assert "pkg:pypi/pyyaml@5.3.1" in purls(sbom)
    assert "pkg:npm/lodash@4.17.20" in purls(sbom)
    assert "pkg:npm/%40babel/traverse@7.23.0" in purls(sbom)


def test_a_scoped_npm_package_has_its_scope_as_an_encoded_namespace() -> None:
    assert_purl(package(NPM, "@babel/core", "7.23.0"), None, "pkg:npm/%40babel/core@7.23.0")


def test_a_scoped_npm_name_is_lowercased_but_its_scope_is_kept_as_written() -> None:
    assert_purl(package(NPM, "@Types/Node", "20.8.10"), None, "pkg:npm/%40Types/node@20.8.10")


def test_a_debian_epoch_keeps_its_colon() -> None:
    found = package(DEB, "libgcrypt20", "1:1.10.1-3", arch="amd64")
    assert_purl(found, DEBIAN_12, "pkg:deb/debian/libgcrypt20@1:1.10.1-3?arch=amd64&distro=debian-12")


def test_debian_plus_and_tilde_versions_encode_the_plus_only() -> None:
    found = package(DEB, "tzdata", "2024a-0+deb12u1~bpo1", arch="all")
    assert_purl(found, DEBIAN_12, "pkg:deb/debian/tzdata@2024a-0%2Bdeb12u1~bpo1?arch=all&distro=debian-12")


def test_an_upstream_with_its_own_epoch_version_is_one_encoded_qualifier() -> None:
    found = package(
        DEB,
        "libpython3.11",
        "3.11.2-6+deb12u1",
        source_name="python3.11",
        source_version="1:3.11.2-6",
        arch="amd64",
    )
    assert_purl(
        found,
        DEBIAN_12,
        "pkg:deb/debian/libpython3.11@3.11.2-6%2Bdeb12u1?arch=amd64&distro=debian-12"
        "&upstream=python3.11%401:3.11.2-6",
    )


def test_qualifiers_are_sorted_by_key_and_empty_ones_dropped() -> None:
    alpine = Distro("alpine", "3.19.1")
    found = package(APK, "busybox", "1.36.1-r15", arch="x86_64", source_name="busybox")
    assert_purl(found, alpine, "pkg:apk/alpine/busybox@1.36.1-r15?arch=x86_64&distro=alpine-3.19.1")
    assert_purl(
        package(APK, "busybox", "1.36.1-r15", arch=" "), Distro("alpine"), "pkg:apk/alpine/busybox@1.36.1-r15"
    )


def test_pypi_names_are_lowercased_with_underscores_as_dashes() -> None:
    assert_purl(package(PYPI, "PyYAML", "6.0.1"), None, "pkg:pypi/pyyaml@6.0.1")
    assert_purl(package(PYPI, "typing_extensions", "4.9.0"), None, "pkg:pypi/typing-extensions@4.9.0")
    # Dots stay: packageurl-python does not apply PEP 503's full normalisation.
    assert_purl(package(PYPI, "zope.interface", "6.1"), None, "pkg:pypi/zope.interface@6.1")


def test_apk_names_are_lowercased_after_encoding_as_packageurl_python_does() -> None:
    assert_purl(
        package(APK, "libstdc++", "13.2.1_git20231014-r0"),
        None,
        "pkg:apk/alpine/libstdc%2b%2b@13.2.1_git20231014-r0",
    )


def test_os_packages_without_a_distribution_still_get_a_purl() -> None:
    assert_purl(package(DEB, "a", "1", arch="all"), None, "pkg:deb/debian/a@1?arch=all")


def test_other_ecosystems_get_generic_purls_with_spaces_encoded() -> None:
    assert_purl(package("hackage", "Some Gem", "1.0"), None, "pkg:generic/Some%20Gem@1.0")


def test_new_ecosystems_get_their_purl_types() -> None:
    assert_purl(package(RPM, "openssl-libs", "1:3.0.7-24.el9", arch="x86_64", source_name="openssl", epoch="1"), Distro("rhel", "9.4"),
                "pkg:rpm/redhat/openssl-libs@3.0.7-24.el9?arch=x86_64&distro=rhel-9.4&epoch=1&upstream=openssl")  # fmt: skip
    assert_purl(package(MAVEN, "org.apache.logging.log4j:log4j-core", "2.14.1", namespace="org.apache.logging.log4j"), None,
                "pkg:maven/org.apache.logging.log4j/log4j-core@2.14.1")  # fmt: skip
    assert_purl(package(GOLANG, "github.com/Foo/bar", "v1.2.3"), None, "pkg:golang/github.com/Foo/bar@v1.2.3")
    assert_purl(package(CARGO, "serde", "1.0.100"), None, "pkg:cargo/serde@1.0.100")


# --- the document -------------------------------------------------------------------


def test_the_image_is_the_metadata_component_and_packages_carry_their_layer() -> None:
    blobs = images.debian_image()
    sbom = sbom_of(blobs)
    root = sbom["metadata"]["component"]
    assert (root["type"], root["name"], root["version"]) == ("container", IMAGE, DIGEST)
    assert root["purl"].startswith("pkg:oci/web@sha256:")
    assert sbom["serialNumber"] == f"urn:uuid:{SERIAL}"
    libssl = next(c for c in sbom["components"] if c["name"] == "libssl3")
    properties = {p["name"]: p["value"] for p in libssl["properties"]}
    assert properties[LAYER_PROPERTY] == digest_of(blobs[0])
    [dependency] = [d for d in sbom["dependencies"] if d["ref"] == root["bom-ref"]]
    assert len(dependency["dependsOn"]) == len(sbom["components"])


def test_packages_sharing_a_purl_keep_unique_bom_refs() -> None:
    packages = [
        package(PYPI, "PyYAML", "6.0", source_name="pyyaml", path="a"),
        package(PYPI, "pyyaml", "6.0", source_name="pyyaml", path="b"),
    ]
    text = sbom_json(Inventory(None, packages), image_name="x", image_digest=DIGEST)
    refs = [c["bom-ref"] for c in json.loads(text)["components"]]
    assert len(refs) == len(set(refs)) == 2
    assert schema_errors(text) is None


# --- reproducible -------------------------------------------------------------------


@pytest.mark.parametrize("image", IMAGES)
def test_the_same_inventory_and_time_give_the_same_bytes(image: Any) -> None:
    found = inventory_of(image())
    first = sbom_json(found, image_name=IMAGE, image_digest=DIGEST, timestamp=WHEN)
    again = sbom_json(inventory_of(image()), image_name=IMAGE, image_digest=DIGEST, timestamp=WHEN)
    assert first == again


def test_the_serial_number_is_derived_from_the_image_and_the_time() -> None:
    found = inventory_of(images.alpine_image())

    def serial(name: str, when: dt.datetime) -> str:
        return build_sbom(found, image_name=name, image_digest=DIGEST, timestamp=when)["serialNumber"]

    assert serial(IMAGE, WHEN) == serial(IMAGE, WHEN)
    assert serial(IMAGE, WHEN) != serial(IMAGE, WHEN + dt.timedelta(microseconds=1))
    assert serial(IMAGE, WHEN) != serial(IMAGE + "2", WHEN)
    assert uuid.UUID(serial(IMAGE, WHEN).removeprefix("urn:uuid:")).version == 5


def test_a_document_without_a_given_time_is_stamped_now_in_utc() -> None:
    before = dt.datetime.now(dt.UTC)
    sbom = build_sbom(Inventory(None, []), image_name=IMAGE, image_digest=DIGEST)
    stamped = dt.datetime.fromisoformat(sbom["metadata"]["timestamp"])
    assert before <= stamped <= dt.datetime.now(dt.UTC)


def test_writing_an_sbom_loads_no_sbom_library() -> None:
    # The runtime no longer needs cyclonedx-python-lib, nor packageurl-python for writing.
    probe = (
        "import sys\n"
        "import repositories.vulns.sbom\n"
        "print(','.join(sorted(n for n in sys.modules if n.split('.')[0] in {'cyclonedx', 'packageurl', 'django'})))\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", probe], cwd=ROOT, capture_output=True, text=True, check=True, env={"PATH": ""}
    )
    assert result.stdout.strip() == ""
