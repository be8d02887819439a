"""Alpine version order of apk-tools 2 (Alpine 3.x up to 3.22, Wolfi, Chainguard).

The reference is apk-tools 2's own comparison test data, `test/version.data` of
alpinelinux/apk-tools (the file `apk vertest` replays in apk-tools' test suite),
copied verbatim into `tests/vulns/vectors/apk-tools-2-version.data`: 729 comparisons.
apk-tools itself is not installable on Debian, so its data stands in for it.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from repositories.vulns.versions import APK, APK3, scheme_for
from repositories.vulns.versions.base import cmp

VECTORS = Path(__file__).parent / "vectors" / "apk-tools-2-version.data"
OPS = {"<": -1, "=": 0, ">": 1}


def vectors() -> list[tuple[str, str, str]]:
    rows = []
    for line in VECTORS.read_text().splitlines():
        line = line.split("#", 1)[0].strip()
        if line:
            a, op, b = line.split()
            rows.append((a, op, b))
    return rows


def test_every_apk_tools_2_vector_holds_both_ways_and_for_the_sort_key() -> None:
    rows = vectors()
    assert len(rows) == 729
    wrong = [
        (a, op, b)
        for a, op, b in rows
        if APK.compare(a, b) != OPS[op]
        or APK.compare(b, a) != -OPS[op]
        or cmp(APK.sort_key(a), APK.sort_key(b)) != OPS[op]
    ]
    assert wrong == []


# The cases the issue names, where apk-tools 3's order (the previous implementation)
# disagrees with apk-tools 2: a letter followed by digits, dot runs, `-r` without a
# number, leading zeros.
@pytest.mark.parametrize(
    ("a", "op", "b"),
    [
        ("6.6.2p1", "<", "6.6.2p2"),
        ("5.7.1p1-r0", "<", "5.7.1p1-r1"),
        ("3.3.3p1-r3", ">", "3.3.3p1-r2"),
        ("0.8.21.r2", ">", "0.8.21.r1"),
        ("1-r", "=", "1-r0"),
        ("1.0-r", "<", "1.0-r1"),
        ("1.0a01", "=", "1.0a1"),  # digits after a letter are a plain number
        ("1.05", "<", "1.5"),  # after a dot, leading zeros sort as a fraction
        ("1.00", "<", "1.0"),
        ("2.15.05", "<", "2.16.01"),
    ],
)
def test_apk_tools_2_differs_from_apk_tools_3_where_the_issue_says(a: str, op: str, b: str) -> None:
    assert APK.compare(a, b) == OPS[op]
    assert cmp(APK.sort_key(a), APK.sort_key(b)) == OPS[op]


def test_apk_tools_3_order_disagrees_on_those_cases() -> None:
    assert APK3.compare("6.6.2p1", "6.6.2p2") == 0
    assert APK3.compare("0.8.21.r2", "0.8.21.r1") == 0


# Invalid versions are ordered, never refused: apk-tools 2 stops at the token it
# cannot read, and so does the port. These are its consequences, spelled out.
@pytest.mark.parametrize(
    ("a", "op", "b"),
    [
        ("1.0", "<", "1.0bc"),  # from apk-tools' data: "invalid. do string sort"
        ("23_foo", ">", "4_beta"),
        ("1.0bc", "=", "1.0bd"),  # both invalid at the same token, after equal ones
        ("1.0_foo", ">", "1.0"),  # a zero component leaves an empty digit token behind
        ("1.0_rc1", ">", "1.0"),  # ... which apk-tools 2 sorts above the end of "1.0"
        ("1.1_rc1", "<", "1.1"),  # a pre-release suffix right after a number is older
        ("1.0-x1", ">", "1.0"),
        ("", "=", "0"),
    ],
)
def test_invalid_versions_sort_where_apk_tools_2_puts_them(a: str, op: str, b: str) -> None:
    assert APK.compare(a, b) == OPS[op]
    assert APK.compare(b, a) == -OPS[op]
    assert cmp(APK.sort_key(a), APK.sort_key(b)) == OPS[op]


def test_validity_is_apk_version_validate() -> None:
    # apk-tools 2 accepts a repeated revision and an empty or letter-led version.
    for valid in [
        "1",
        "1.2.3",
        "1.2a",
        "1.0_rc1",
        "1.0_alpha_pre2",
        "1.0_p1-r3",
        "6.6.2p1",
        "1-r",
        "",
        "a1",
        "1-r1-r2",
    ]:
        assert APK.is_valid(valid), valid
    for invalid in ["1.0bc", "1.0_foo", "1.0-1", "1.0A", "1.0~c0ffee"]:
        assert not APK.is_valid(invalid), invalid


def test_alpine_3_x_up_to_3_22_wolfi_and_chainguard_use_apk_tools_2() -> None:
    for ecosystem in ["Alpine:v3.19", "Alpine:v3.20", "Alpine:v3.22", "Alpine:v3.3", "Wolfi", "Chainguard"]:
        assert scheme_for(ecosystem) is APK, ecosystem
