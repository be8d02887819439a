"""PyPI (PEP 440) and npm (SemVer 2.0.0) precedence tables."""

from __future__ import annotations

import itertools

import pytest

from repositories.vulns.versions import PEP440, SEMVER, scheme_for

PEP440_LADDER = [
    "1.0.dev0",
    "1.0a1.dev1",
    "1.0a1",
    "1.0a2",
    "1.0b1",
    "1.0rc1",
    "1.0rc1.post1",
    "1.0",
    "1.0+local.1",
    "1.0.post1",
    "1.0.1",
    "1.1",
    "1.9",
    "1.10",
    "2.0",
    "1!0.1",  # an epoch outranks everything without one
]


def test_pep440_ladder_is_strictly_increasing() -> None:
    assert sorted(reversed(PEP440_LADDER), key=PEP440.sort_key) == PEP440_LADDER
    for a, b in itertools.pairwise(PEP440_LADDER):
        assert PEP440.compare(a, b) == -1, (a, b)
        assert PEP440.compare(b, a) == 1, (b, a)


@pytest.mark.parametrize(
    ("a", "b"),
    [
        ("1.0", "1.0.0"),
        ("1.0", "1.0.0.0"),
        ("1.0a1", "1.0alpha1"),
        ("1.0.post1", "1.0-1"),
        ("1.0rc1", "1.0c1"),
        ("v1.0", "1.0"),
    ],
)
def test_pep440_equivalent_spellings_compare_equal(a: str, b: str) -> None:
    assert PEP440.compare(a, b) == 0
    assert PEP440.sort_key(a) == PEP440.sort_key(b)


def test_pep440_invalid_versions_sort_before_every_valid_one_and_never_raise() -> None:
    invalid = ["2004d-beta", "1.0-SNAPSHOT", "latest", ""]
    for version in invalid:
        assert not PEP440.is_valid(version)
        assert PEP440.compare(version, "0.0.dev0") == -1
        assert PEP440.compare("0.0.dev0", version) == 1
        assert PEP440.compare(version, version) == 0
    # among themselves: digit runs numerically
    assert PEP440.compare("build-9-x", "build-10-x") == -1


def test_pypi_ecosystem_uses_pep440() -> None:
    assert scheme_for("PyPI") is PEP440


# semver.org, section 11, in order.
SEMVER_ORG_EXAMPLE = [
    "1.0.0-alpha",
    "1.0.0-alpha.1",
    "1.0.0-alpha.beta",
    "1.0.0-beta",
    "1.0.0-beta.2",
    "1.0.0-beta.11",
    "1.0.0-rc.1",
    "1.0.0",
]


def test_semver_org_precedence_example() -> None:
    assert sorted(reversed(SEMVER_ORG_EXAMPLE), key=SEMVER.sort_key) == SEMVER_ORG_EXAMPLE
    for a, b in itertools.pairwise(SEMVER_ORG_EXAMPLE):
        assert SEMVER.compare(a, b) == -1, (a, b)
        assert SEMVER.compare(b, a) == 1, (b, a)


@pytest.mark.parametrize(
    ("a", "b"),
    [
        ("1.0.0", "2.0.0"),
        ("2.0.0", "2.1.0"),
        ("2.1.0", "2.1.1"),
        ("1.9.0", "1.10.0"),  # numeric, not lexicographic
        ("1.0.0-2", "1.0.0-10"),  # numeric identifiers numerically
        ("1.0.0-10", "1.0.0-1a"),  # numeric below alphanumeric
        ("1.0.0-Z", "1.0.0-a"),  # ASCII order
        ("1.0.0-alpha", "1.0.0-alpha.0"),  # fewer identifiers first
        ("1.0.0-rc.1", "1.0.0"),
    ],
)
def test_semver_precedence_rules(a: str, b: str) -> None:
    assert SEMVER.compare(a, b) == -1
    assert SEMVER.compare(b, a) == 1


@pytest.mark.parametrize(
    ("a", "b"),
    [
        ("1.0.0+build.1", "1.0.0+build.2"),
        ("1.0.0-rc.1+a", "1.0.0-rc.1"),
        ("v1.2.3", "1.2.3"),
        ("=1.2.3", " 1.2.3 "),
    ],
)
def test_semver_build_metadata_and_a_leading_v_do_not_count(a: str, b: str) -> None:
    assert SEMVER.compare(a, b) == 0
    assert SEMVER.sort_key(a) == SEMVER.sort_key(b)


def test_semver_invalid_versions_sort_before_every_valid_one_and_never_raise() -> None:
    for version in ["1.2", "01.2.3", "1.0.0-01", "latest", "1.0.0-", ""]:
        assert not SEMVER.is_valid(version), version
        assert SEMVER.compare(version, "0.0.0-0") == -1
        assert SEMVER.compare(version, version) == 0
    assert SEMVER.compare("1.2", "1.10") == -1


def test_npm_ecosystem_uses_semver() -> None:
    assert scheme_for("npm") is SEMVER
