"""PHP packages installed by Composer: `vendor/composer/installed.json`.

Composer 2 writes `{"packages": [...]}`, Composer 1 a plain list; each entry has the
package's `name` (`vendor/package`, ecosystem Packagist, lower case) and `version`
(often with a `v`: `v5.4.30`). A `composer.lock` lists what *would* be installed, so
only the installed file is read, as Trivy does for images.
"""

from __future__ import annotations

import json
from typing import Any

from ..layers import KeptFile
from .packages import COMPOSER, Package
from .stanzas import text_of

PACKAGIST_ECOSYSTEM = "Packagist"


def is_installed_json(path: str) -> bool:
    return path.endswith("vendor/composer/installed.json")


def packages_from(kept: KeptFile) -> list[Package]:
    try:
        document: Any = json.loads(text_of(kept.data))
    except ValueError:
        return []
    entries = document.get("packages") if isinstance(document, dict) else document
    found: list[Package] = []
    for entry in entries if isinstance(entries, list) else ():
        if not isinstance(entry, dict):
            continue
        name, version = entry.get("name"), entry.get("version")
        if not isinstance(name, str) or not isinstance(version, str) or "/" not in name or not version:
            continue
        found.append(
            Package(
                kind=COMPOSER,
                name=name.lower(),
                version=version,
                source_name=name.lower(),
                source_version=version,
                ecosystem=PACKAGIST_ECOSYSTEM,
                layer=kept.layer,
                path=kept.path,
            )
        )
    return found
