"""Alpine version order of apk-tools 3 (Alpine edge, 3.23 on): its comparison cases and the suffix ladder."""

from __future__ import annotations

import itertools

import pytest

from repositories.vulns.versions import APK3 as APK
from repositories.vulns.versions import scheme_for
from repositories.vulns.versions.base import cmp

OPS = {"<": -1, "=": 0, ">": 1}

# (a, relation, b), checked both ways. Most rows are comparisons from apk-tools'
# test/version.data (the file `apk vertest` runs in apk-tools' own test suite); the
# rest spell out the documented rules.
CASES = [
    # plain numbers, any number of components
    ("1.0.0", "<", "1.0.1"),
    ("1.0.1", "<", "1.1"),
    ("1.2.1", ">", "1.2"),
    ("0.12.3", ">", "0.12"),
    ("1.2.11", "<", "1.2.12.1"),
    ("1.2.12.1", "<", "1.2.13"),
    ("2.8", "<", "2.20.1"),
    ("7.0.17", "<", "7.0.174"),
    ("2.6.15.20060110", "<", "2.6.16.20060323"),
    ("20060720", ">", "3.0.20060720"),
    ("1.0", ">", "0.99.3.20040818"),
    ("8", "<", "9"),
    ("1.0.0", "=", "1.0.0"),
    # leading zeros: the first number is numeric, later ones compare as strings
    ("006", ">", "1.0.0"),
    ("013", "<", "014-r1"),
    ("087-r1", "<", "103"),
    ("3.0.0-r2", "<", "021109-r3"),
    ("1.02", "<", "1.03-r1"),
    ("1.02.07", "<", "1.02.10-r1"),
    ("1.2.07.8", "<", "1.2.12.04"),
    ("1.2.12.04", "<", "1.2.12.05"),
    ("0.01", "<", "0.06"),
    ("1.02", "<", "1.1"),
    ("1.010", "<", "1.02"),
    # a letter after the digits: after the bare number, before a further component
    ("1.7", "<", "1.7b"),
    ("1.1a", "<", "1.3a"),
    ("2.5.1-r8", "<", "2.5.1a-r1"),
    ("0.9.8c-r1", "<", "0.9.8d"),
    ("1.0a", "<", "1.0.1"),
    ("0.15.1b", "<", "0.15.1b-r2"),
    ("2.12r-r4", "<", "2.12r-r5"),
    # pre-release suffixes: before the release, alpha < beta < pre < rc
    ("1.1", ">", "1.1_alpha1"),
    ("1.3_alpha", "<", "1.3_alpha2"),
    ("0.1.0_alpha2", ">", "0.1.0_alpha"),
    ("0.8_beta1", "<", "0.8_beta2"),
    ("0.13_beta4", "<", "0.13_beta5"),
    ("1.00_beta2", ">", "0.9.2"),
    ("0.10.0", "<", "0.10.1_rc1"),
    ("2.0.0_rc3-r1", ">", "1.5"),
    ("2.1_pre20", "<", "2.1_pre26"),
    ("0.1_pre20060810", "<", "0.1_pre20060817"),
    ("1.3_pre1-r1", "<", "1.3.2"),
    ("6.0_pre1", "<", "6.0"),
    ("0.1.0_alpha_pre2", "<", "0.1.0_alpha"),
    ("1.0.0_pre20191002222144-r0", "<", "1.0.0_pre20210530193627-r0"),
    ("1.0_alpha", "<", "1.0_beta"),
    ("1.0_beta9", "<", "1.0_pre1"),
    ("1.0_pre9", "<", "1.0_rc1"),
    ("1.0_rc9", "<", "1.0"),
    # post-release suffixes: after the release, cvs < svn < git < hg < p
    ("3.1_p16", "<", "3.1_p17"),
    ("1.0_p10-r0", ">", "1.0_p9-r0"),
    ("1.6.8_p12-r1", ">", "1.6.8_p9-r2"),
    ("1.8.5", "<", "1.8.5_p2"),
    ("6.0_p1", ">", "6.0"),
    ("4.5_p1", "<", "4.5_p1-r1"),
    ("1.0", "<", "1.0_cvs"),
    ("1.0_cvs", "<", "1.0_svn"),
    ("1.0_svn", "<", "1.0_git"),
    ("1.0_git20240101", "<", "1.0_hg"),
    ("1.0_hg", "<", "1.0_p"),
    ("1.0_git20230101", "<", "1.0_git20240101"),
    # -rN revisions: numeric, after the bare version, before any post-release suffix
    ("1.0.4-r3", "<", "1.0.4-r4"),
    ("1.3.5-r10", ">", "1.3.5-r8"),
    ("2.18.3-r10", ">", "1.05-r18"),
    ("1.2.2-r1", ">", "1.2.2"),
    ("1.23", "<", "1.23-r1"),
    ("1.0", "<", "1.0-r1"),
    ("1.0-r1", "<", "1.0_p1"),
    ("1.0-r5", "<", "1.0_p1"),
    ("1.0-r99", "<", "1.0_cvs"),
    ("1.0-r1", "<", "1.0.1"),
    ("1.3-r0", "<", "1.3.1-r0"),
    ("1.0-r0", ">", "1.0"),
    # apk 3 commit hashes: after the bare version, before -rN
    ("1.0", "<", "1.0~abc123"),
    ("1.0~abc123", "<", "1.0~abd"),
    ("1.0~abc123-r1", ">", "1.0-r1"),
    # invalid versions: comparison stops where apk stops understanding
    ("1.0", "<", "1.0bc"),
    ("23_foo", ">", "4_beta"),
    ("1.0bc", "=", "1.0bd"),
    ("1.0_foo", "<", "1.0"),
    ("1.0-x1", "<", "1.0"),
    ("", "<", "0"),
]


@pytest.mark.parametrize(("a", "op", "b"), CASES, ids=[f"{a} {op} {b}" for a, op, b in CASES])
def test_apk_tools_cases(a: str, op: str, b: str) -> None:
    expected = OPS[op]
    assert APK.compare(a, b) == expected
    assert APK.compare(b, a) == -expected
    assert cmp(APK.sort_key(a), APK.sort_key(b)) == expected


LADDER = [
    "1.0_alpha",
    "1.0_alpha1",
    "1.0_alpha2",
    "1.0_beta",
    "1.0_pre1",
    "1.0_rc1",
    "1.0",
    "1.0-r1",
    "1.0-r5",
    "1.0_cvs",
    "1.0_svn",
    "1.0_git20240101",
    "1.0_hg",
    "1.0_p1",
    "1.0_p2-r1",
    "1.0a",
    "1.0b",
    "1.0.1",
    "1.1",
]


def test_the_suffix_ladder_sorts_in_apk_order() -> None:
    assert sorted(reversed(LADDER), key=APK.sort_key) == LADDER
    for a, b in itertools.pairwise(LADDER):
        assert APK.compare(a, b) == -1, (a, b)


def test_validity_follows_the_apk_grammar() -> None:
    for valid in ["1", "1.2.3", "1.2a", "1.0_rc1", "1.0_alpha_pre2", "1.0_p1-r3", "1.0~c0ffee-r2"]:
        assert APK.is_valid(valid), valid
    for invalid in ["", "a1", "1.0bc", "1.0_foo", "1.0-1", "1.", "1.0-r", "1.0A", "1.0-r1-r2"]:
        assert not APK.is_valid(invalid), invalid


def test_alpine_edge_and_3_23_on_use_the_apk_tools_3_order() -> None:
    assert scheme_for("Alpine:v3.23") is APK
    assert scheme_for("Alpine:v4.0") is APK
    assert scheme_for("Alpine") is APK
    assert scheme_for("Alpine:edge") is APK
