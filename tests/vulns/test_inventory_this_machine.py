"""The inventory agrees with the package managers of this machine about this machine.

Layers are built from this machine's own dpkg status file and Python environment,
and what the scanner lists is compared with `dpkg-query` and `importlib.metadata`.
"""

from __future__ import annotations

import importlib.metadata
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from repositories.vulns.inventory import inventory, wanted
from repositories.vulns.inventory.packages import DEB, PYPI
from repositories.vulns.layers import read_layers
from tests.vulns.tarballs import file, layer, layers

STATUS = Path("/var/lib/dpkg/status")
OS_RELEASE = Path("/etc/os-release")


@pytest.mark.skipif(not STATUS.exists() or shutil.which("dpkg-query") is None, reason="needs dpkg")
def test_dpkg_packages_and_their_sources_agree_with_dpkg_query() -> None:
    output = subprocess.run(
        [
            "dpkg-query",
            "-W",
            "-f=${db:Status-Status}\\t${Package}\\t${Version}\\t${source:Package}\\t${source:Version}\\t${Architecture}\\n",
        ],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    expected = {tuple(line.split("\t")[1:]) for line in output.splitlines() if line.startswith("installed\t")}
    assert len(expected) > 50  # a real system, not an empty status file

    files = [file("var/lib/dpkg/status", STATUS.read_bytes())]
    if OS_RELEASE.exists():
        files.append(file("etc/os-release", OS_RELEASE.read_bytes()))
    found = inventory(read_layers(layers(layer(*files)), wanted))
    listed = {(p.name, p.version, p.source_name, p.source_version, p.arch) for p in found.of_kind(DEB)}
    assert listed == expected


def test_python_distributions_agree_with_importlib_metadata() -> None:
    site = Path(next(p for p in sys.path if p.endswith("site-packages")))
    expected = {(d.metadata["Name"], d.version) for d in importlib.metadata.distributions(path=[str(site)])}
    metadata_files = [*site.glob("*.dist-info/METADATA"), *site.glob("*.egg-info/PKG-INFO")]
    metadata_files += [p for p in site.glob("*.egg-info") if p.is_file()]
    entries = [file(f"usr/lib/{p.relative_to(site.parent)}", p.read_bytes()) for p in metadata_files]
    assert len(expected) > 20
    found = inventory(read_layers(layers(layer(*entries)), wanted))
    assert {(p.name, p.version) for p in found.of_kind(PYPI)} == expected
