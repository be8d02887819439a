"""Go module and crates.io versions use SemVer 2.0.0 precedence (the SEMVER scheme,
tested against semver.org's examples in test_pypi_npm_order). These are the cases the
Go modules reference (go.dev/ref/mod, "Versions" and "Pseudo-versions") and Cargo's
SemVer documentation spell out."""

from __future__ import annotations

import pytest

from repositories.vulns.versions import SEMVER, scheme_for
from repositories.vulns.versions.base import cmp


@pytest.mark.parametrize(
    ("a", "b", "expected"),
    [
        ("v1.2.3", "1.2.3", 0),  # OSV's Go ranges drop the "v" the module version carries
        ("v0.0.0-20191109021931-daa7c04131f5", "v0.1.0", -1),  # a pseudo-version before any release
        ("v1.2.4-0.20191109021931-daa7c04131f5", "v1.2.4", -1),  # after v1.2.3, before v1.2.4
        ("v1.2.3", "v1.2.4-0.20191109021931-daa7c04131f5", -1),
        ("v1.2.3-pre.0.20191109021931-daa7c04131f5", "v1.2.3-pre", 1),  # after the pre-release it builds on
        ("v2.0.0+incompatible", "v2.0.0", 0),  # build metadata has no precedence
        ("1.0.0-alpha", "1.0.0-alpha.1", -1),  # Cargo: SemVer pre-release order
        ("1.0.0-rc.1", "1.0.0", -1),
    ],
)
def test_go_and_cargo_versions(a: str, b: str, expected: int) -> None:
    assert SEMVER.compare(a, b) == expected
    assert cmp(SEMVER.sort_key(a), SEMVER.sort_key(b)) == expected


def test_go_and_crates_use_semver() -> None:
    assert scheme_for("Go") is SEMVER and scheme_for("crates.io") is SEMVER
