""".NET applications: the `<app>.deps.json` the SDK writes next to every published app.

Its `libraries` object names each dependency as `Name/Version` with a `type`:
`package` entries came from NuGet (ecosystem NuGet, matched case-insensitively, as
NuGet ids are), `project` entries are the application's own projects and
`reference`/`runtimepack` entries the framework's, so only packages are listed.
"""

from __future__ import annotations

import json

from ..layers import KeptFile
from .packages import NUGET, Package
from .stanzas import text_of

NUGET_ECOSYSTEM = "NuGet"


def is_deps_file(path: str) -> bool:
    return path.endswith(".deps.json")


def packages_from(kept: KeptFile) -> list[Package]:
    try:
        document = json.loads(text_of(kept.data))
    except ValueError:
        return []
    libraries = document.get("libraries") if isinstance(document, dict) else None
    found: list[Package] = []
    for key, library in (libraries or {}).items() if isinstance(libraries, dict) else ():
        if not isinstance(library, dict) or library.get("type") != "package" or "/" not in key:
            continue
        name, _, version = key.partition("/")
        if not name or not version:
            continue
        found.append(
            Package(
                kind=NUGET,
                name=name,
                version=version,
                source_name=name.lower(),
                source_version=version,
                ecosystem=NUGET_ECOSYSTEM,
                layer=kept.layer,
                path=kept.path,
            )
        )
    return found
