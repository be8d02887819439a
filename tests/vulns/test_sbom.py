"""CycloneDX SBOMs of scanned images, validated against the CycloneDX 1.6 schema."""

from __future__ import annotations

import datetime as dt
import json
import uuid
from typing import Any

import pytest

from repositories.vulns.inventory import Inventory, inventory, wanted
from repositories.vulns.inventory.packages import DEB, Package
from repositories.vulns.layers import read_layers
from repositories.vulns.sbom import LAYER_PROPERTY, SCHEMA_VERSION, purl_for, sbom_json
from tests.vulns import images
from tests.vulns.tarballs import digest_of, layers

validation = pytest.importorskip("cyclonedx.validation.json")

IMAGE = "registry.example/acme/web"
DIGEST = "sha256:" + "ab" * 32
SERIAL = uuid.UUID("12345678-1234-5678-1234-567812345678")
WHEN = dt.datetime(2026, 11, 29, 12, 0, tzinfo=dt.UTC)


def inventory_of(blobs: list[bytes]) -> Inventory:
    return inventory(read_layers(layers(*blobs), wanted))


def sbom_of(blobs: list[bytes]) -> dict[str, Any]:
    text = sbom_json(
        inventory_of(blobs), image_name=IMAGE, image_digest=DIGEST, serial_number=SERIAL, timestamp=WHEN
    )
    return json.loads(text)


def purls(sbom: dict[str, Any]) -> set[str]:
    return {c["purl"] for c in sbom["components"] if "purl" in c}


@pytest.mark.parametrize(
    "image", [images.debian_image, images.distroless_image, images.alpine_image, images.language_image]
)
def test_sbom_validates_against_the_cyclonedx_schema(image: Any) -> None:
    text = sbom_json(inventory_of(image()), image_name=IMAGE, image_digest=DIGEST)
    errors = validation.JsonStrictValidator(SCHEMA_VERSION).validate_str(text)
    assert errors is None, errors


def test_the_validator_does_reject_an_invalid_document() -> None:
    # Guard: the schema test above would be worthless with a validator accepting anything.
    text = json.dumps({"bomFormat": "CycloneDX", "specVersion": "1.6", "components": [{"name": 1}]})
    assert validation.JsonStrictValidator(SCHEMA_VERSION).validate_str(text) is not None


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


def test_the_same_inputs_give_the_same_document() -> None:
    assert sbom_of(images.alpine_image()) == sbom_of(images.alpine_image())


def test_packages_sharing_a_purl_keep_unique_bom_refs() -> None:
    packages = [
        Package(
            kind="pypi", name="PyYAML", version="6.0", source_name="pyyaml", source_version="6.0", path="a"
        ),
        Package(
            kind="pypi", name="pyyaml", version="6.0", source_name="pyyaml", source_version="6.0", path="b"
        ),
    ]
    text = sbom_json(Inventory(None, packages), image_name="x", image_digest=DIGEST)
    refs = [c["bom-ref"] for c in json.loads(text)["components"]]
    assert len(refs) == len(set(refs)) == 2
    assert validation.JsonStrictValidator(SCHEMA_VERSION).validate_str(text) is None


def test_os_packages_without_a_distribution_still_get_a_purl() -> None:
    package = Package(kind=DEB, name="a", version="1", source_name="a", source_version="1", arch="all")
    assert purl_for(package).to_string() == "pkg:deb/debian/a@1?arch=all"
