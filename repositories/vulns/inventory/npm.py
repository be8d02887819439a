"""npm packages: the `package.json` at the root of each package under `node_modules/`."""

from __future__ import annotations

import json

from ..layers import KeptFile
from .packages import NPM, Package
from .stanzas import text_of

NPM_ECOSYSTEM = "npm"


def is_package_manifest(path: str) -> bool:
    """`.../node_modules/<name>/package.json` or `.../node_modules/@scope/<name>/package.json`.

    Files deeper inside a package (fixtures, nested `package.json` markers without a
    name) are not packages.
    """
    parts = path.split("/")
    if len(parts) < 3 or parts[-1] != "package.json":
        return False
    if parts[-3] == "node_modules" and not parts[-2].startswith((".", "@")):
        return True
    return len(parts) >= 4 and parts[-4] == "node_modules" and parts[-3].startswith("@")


def packages_from(kept: KeptFile) -> list[Package]:
    """The package one `package.json` declares; none for invalid JSON or no name/version."""
    try:
        manifest = json.loads(text_of(kept.data))
    except ValueError:
        return []
    if not isinstance(manifest, dict):
        return []
    name, version = manifest.get("name"), manifest.get("version")
    if not isinstance(name, str) or not isinstance(version, str) or not name.strip() or not version.strip():
        return []  # e.g. a private workspace package without a version
    name, version = name.strip(), version.strip()
    return [
        Package(
            kind=NPM,
            name=name,
            version=version,
            source_name=name,
            source_version=version,
            ecosystem=NPM_ECOSYSTEM,
            layer=kept.layer,
            path=kept.path,
        )
    ]
