"""Load the part of the OSV database one scan needs, as the engine's advisory index.

Matching never reads the whole database: the scan first lists the image's
packages, then `load_index(keys)` reads only the `AdvisoryPackage` rows for those
(ecosystem, normalised name) pairs (one query per ecosystem, on the
`advisorypkg_eco_name` index) and rebuilds each advisory with just those
`affected[]` entries, the shape `repositories.vulns.osv.match` reads.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from ..models import AdvisoryPackage
from ..vulns.inventory import Inventory
from ..vulns.inventory.packages import OS_KINDS
from ..vulns.names import normalize_name

AdvisoryIndex = dict[tuple[str, str], list[dict[str, Any]]]

# Keeps each IN (...) list to a size PostgreSQL plans well.
NAMES_PER_QUERY = 2000


def match_keys(inventory: Inventory) -> set[tuple[str, str]]:
    """The (ecosystem, normalised name) pairs the engine will look up for `inventory`.

    Mirrors `repositories.vulns.scanner.find_vulnerabilities`: OS packages are looked
    up under every ecosystem of the distribution by source name, language packages
    under their own ecosystem by name.
    """
    keys: set[tuple[str, str]] = set()
    distro = inventory.distro
    for package in inventory.packages:
        if package.kind in OS_KINDS:
            ecosystems: tuple[str, ...] = distro.ecosystems if distro else ()
        else:
            ecosystems = (package.ecosystem,) if package.ecosystem else ()
        for ecosystem in ecosystems:
            keys.add((ecosystem, normalize_name(ecosystem, package.source_name)))
    return keys


def load_index(keys: Iterable[tuple[str, str]]) -> AdvisoryIndex:
    """The advisories (not withdrawn) affecting any of `keys`, indexed by key."""
    by_ecosystem: dict[str, list[str]] = {}
    for ecosystem, name in keys:
        by_ecosystem.setdefault(ecosystem, []).append(name)
    rows: list[AdvisoryPackage] = []
    for ecosystem, names in by_ecosystem.items():
        for start in range(0, len(names), NAMES_PER_QUERY):
            rows.extend(
                AdvisoryPackage.objects.filter(
                    ecosystem=ecosystem,
                    name__in=names[start : start + NAMES_PER_QUERY],
                    advisory__withdrawn__isnull=True,
                )
                .select_related("advisory")
                .defer("advisory__raw")
                .order_by("advisory__osv_id", "id")
            )
    affected: dict[int, list[dict[str, Any]]] = {}
    keys_of: dict[int, list[tuple[str, str]]] = {}
    advisories: dict[int, Any] = {}
    for row in rows:
        advisories[row.advisory_id] = row.advisory
        affected.setdefault(row.advisory_id, []).append(row.affected)
        key = (row.ecosystem, row.name)
        if key not in keys_of.setdefault(row.advisory_id, []):
            keys_of[row.advisory_id].append(key)
    index: AdvisoryIndex = {}
    for advisory_id, advisory in advisories.items():
        record = advisory.for_matching(affected[advisory_id])
        for key in keys_of[advisory_id]:
            index.setdefault(key, []).append(record)
    return index
