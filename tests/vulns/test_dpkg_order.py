"""Debian/Ubuntu version order agrees with the real `dpkg --compare-versions`."""

from __future__ import annotations

import itertools
import re
import shutil
import subprocess
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from repositories.vulns.versions import DPKG, scheme_for
from repositories.vulns.versions.base import cmp

DPKG_BIN = shutil.which("dpkg")
STATUS = Path("/var/lib/dpkg/status")
needs_dpkg = pytest.mark.skipif(
    DPKG_BIN is None or not STATUS.exists(), reason="needs dpkg and its status file"
)


def dpkg_says(a: str, op: str, b: str) -> bool:
    """Ask the real dpkg (exit status 0 means the relation holds)."""
    assert DPKG_BIN is not None
    return subprocess.run([DPKG_BIN, "--compare-versions", a, op, b], check=False).returncode == 0


def installed_versions() -> list[str]:
    """Every binary `Version:` and every `Source: name (version)` in the dpkg status file."""
    text = STATUS.read_text(encoding="utf-8", errors="replace")
    versions = set(re.findall(r"^Version: (\S+)$", text, re.MULTILINE))
    versions |= set(re.findall(r"^Source: \S+ \((\S+)\)$", text, re.MULTILINE))
    return sorted(versions)


@needs_dpkg
def test_sorting_every_installed_version_agrees_with_dpkg_on_each_adjacent_pair() -> None:
    versions = sorted(installed_versions(), key=DPKG.sort_key)
    assert len(versions) > 50, "expected a real dpkg status file"
    disagreements = []
    for a, b in itertools.pairwise(versions):
        ours = DPKG.compare(a, b)
        op = "eq" if ours == 0 else "lt"
        if ours > 0 or not dpkg_says(a, op, b):
            disagreements.append((a, op, b))
    assert disagreements == []


@needs_dpkg
def test_compare_agrees_with_sort_key_on_every_installed_version_pair_nearby() -> None:
    versions = sorted(installed_versions(), key=DPKG.sort_key)
    for i, a in enumerate(versions):
        for b in versions[i : i + 8]:
            assert DPKG.compare(a, b) == cmp(DPKG.sort_key(a), DPKG.sort_key(b)), (a, b)


# Each row is strictly increasing.
LADDERS = [
    # `~` sorts before everything, even the end of the string.
    ["1.0~~", "1.0~~a", "1.0~", "1.0~beta1", "1.0~rc1", "1.0", "1.0a", "1.0+b1", "1.0.1"],
    # Letters sort before non-letters; digit runs compare numerically.
    ["1.0-1", "1.0-1a", "1.0-1+b1", "1.0-1.1", "1.0-2", "1.0-10"],
    # Debian backports and stable updates around the same revision.
    ["2.36-9~bpo11+1", "2.36-9", "2.36-9+deb12u1", "2.36-9+deb12u10", "2.36-10"],
    # Epochs beat everything else.
    ["9.9.9-9", "1:0.1-1", "1:0.2-1", "2:0.0.1"],
    # Numeric, not lexicographic, digit runs.
    ["2.4", "2.9", "2.30", "2.300"],
    # Ubuntu-style revisions.
    ["1.2.3-0ubuntu1~22.04.1", "1.2.3-0ubuntu1", "1.2.3-0ubuntu1.1", "1.2.3-1ubuntu1"],
    # Upstream `+` vs `.` vs `~`.
    ["1.2~dfsg", "1.2", "1.2+dfsg", "1.2+dfsg1", "1.2.0"],
]

EQUAL = [
    ("1.0", "1.0-0"),  # a missing revision compares like "0"
    ("0:1.0-1", "1.0-1"),  # epoch 0 is the default
    ("1.00", "1.0"),  # leading zeros in digit runs do not count
    ("1.0-01", "1.0-1"),
    ("1a0", "1a"),
]


@pytest.mark.parametrize("ladder", LADDERS, ids=lambda ladder: ladder[0])
def test_hand_picked_ladders_are_strictly_increasing(ladder: list[str]) -> None:
    for a, b in itertools.pairwise(ladder):
        assert DPKG.compare(a, b) == -1, (a, b)
        assert DPKG.compare(b, a) == 1, (b, a)
    assert sorted(reversed(ladder), key=DPKG.sort_key) == ladder


@needs_dpkg
@pytest.mark.parametrize("ladder", LADDERS, ids=lambda ladder: ladder[0])
def test_hand_picked_ladders_agree_with_dpkg(ladder: list[str]) -> None:
    for a, b in itertools.pairwise(ladder):
        assert dpkg_says(a, "lt", b), (a, b)


@pytest.mark.parametrize(("a", "b"), EQUAL)
def test_equivalent_spellings_compare_equal(a: str, b: str) -> None:
    assert DPKG.compare(a, b) == 0
    assert DPKG.sort_key(a) == DPKG.sort_key(b)


@needs_dpkg
@pytest.mark.parametrize(("a", "b"), EQUAL)
def test_equivalent_spellings_are_equal_for_dpkg_too(a: str, b: str) -> None:
    assert dpkg_says(a, "eq", b)


def test_debian_and_ubuntu_ecosystems_use_the_dpkg_order() -> None:
    assert scheme_for("Debian:12") is DPKG
    assert scheme_for("Debian") is DPKG
    assert scheme_for("Ubuntu:22.04:LTS") is DPKG


def test_strings_dpkg_rejects_still_get_a_place_instead_of_raising() -> None:
    for odd in ["", "abc", "x:1.0", "1.0-", ":", "1:"]:
        assert DPKG.compare(odd, odd) == 0
        assert isinstance(DPKG.compare(odd, "1.0"), int)
    assert not DPKG.is_valid("x:1.0")
    assert DPKG.is_valid("1:2.3.4-5+deb12u1")


plausible_debian = st.from_regex(r"\A([0-9]{1,2}:)?[0-9][0-9a-z.+~]{0,6}(-[0-9a-z.+~]{1,5})?\Z")


@needs_dpkg
@settings(max_examples=150, deadline=None)
@given(plausible_debian, plausible_debian)
def test_random_pairs_agree_with_dpkg(a: str, b: str) -> None:
    ours = DPKG.compare(a, b)
    op = {-1: "lt", 0: "eq", 1: "gt"}[ours]
    assert dpkg_says(a, op, b), (a, op, b)
