"""RPM version order: rpm's own test vectors, and rpm itself on random versions.

`RPMVERCMP_AT` are the comparisons of rpm's test suite (`tests/rpmvercmp.at` of
rpm-software-management/rpm, each checked there with `rpm --eval
'%{lua: print(rpm.vercmp(a, b))}'`): 69 vectors. Debian's `rpm` package is the
reference implementation; where it is installed (`make test` installs it) the port
is also compared with it on a few thousand generated versions and EVRs.
"""

from __future__ import annotations

import random
import shutil
import subprocess

import pytest

from repositories.vulns.versions import RPM, scheme_for
from repositories.vulns.versions.base import cmp
from repositories.vulns.versions.rpm import rpmvercmp

RPMVERCMP_AT = [
    ("1.0", "1.0", 0), ("1.0", "2.0", -1), ("2.0", "1.0", 1),
    ("2.0.1", "2.0.1", 0), ("2.0", "2.0.1", -1), ("2.0.1", "2.0", 1),
    ("2.0.1a", "2.0.1a", 0), ("2.0.1a", "2.0.1", 1), ("2.0.1", "2.0.1a", -1),
    ("5.5p1", "5.5p1", 0), ("5.5p1", "5.5p2", -1), ("5.5p2", "5.5p1", 1),
    ("5.5p10", "5.5p10", 0), ("5.5p1", "5.5p10", -1), ("5.5p10", "5.5p1", 1),
    ("10xyz", "10.1xyz", -1), ("10.1xyz", "10xyz", 1),
    ("xyz10", "xyz10", 0), ("xyz10", "xyz10.1", -1), ("xyz10.1", "xyz10", 1),
    ("xyz.4", "xyz.4", 0), ("xyz.4", "8", -1), ("8", "xyz.4", 1), ("xyz.4", "2", -1), ("2", "xyz.4", 1),
    ("5.5p2", "5.6p1", -1), ("5.6p1", "5.5p2", 1),
    ("5.6p1", "6.5p1", -1), ("6.5p1", "5.6p1", 1),
    ("6.0.rc1", "6.0", 1), ("6.0", "6.0.rc1", -1),
    ("10b2", "10a1", 1), ("10a2", "10b2", -1),
    ("1.0aa", "1.0aa", 0), ("1.0a", "1.0aa", -1), ("1.0aa", "1.0a", 1),
    ("10.0001", "10.0001", 0), ("10.0001", "10.1", 0), ("10.1", "10.0001", 0),
    ("10.0001", "10.0039", -1), ("10.0039", "10.0001", 1),
    ("4.999.9", "5.0", -1), ("5.0", "4.999.9", 1),
    ("20101121", "20101121", 0), ("20101121", "20101122", -1), ("20101122", "20101121", 1),
    ("2_0", "2_0", 0), ("2.0", "2_0", 0), ("2_0", "2.0", 0),
    ("a", "a", 0), ("a+", "a+", 0), ("a+", "a_", 0), ("a_", "a+", 0),
    ("+a", "+a", 0), ("+a", "_a", 0), ("_a", "+a", 0),
    ("+_", "+_", 0), ("_+", "+_", 0), ("_+", "_+", 0), ("+", "_", 0), ("_", "+", 0),
    ("1.0~rc1", "1.0~rc1", 0), ("1.0~rc1", "1.0", -1), ("1.0", "1.0~rc1", 1),
    ("1.0~rc1", "1.0~rc2", -1), ("1.0~rc2", "1.0~rc1", 1),
    ("1.0~rc1~git123", "1.0~rc1~git123", 0), ("1.0~rc1~git123", "1.0~rc1", -1),
    ("1.0~rc1", "1.0~rc1~git123", 1),
]  # fmt: skip


def test_rpm_test_suite_vectors() -> None:
    assert len(RPMVERCMP_AT) == 69
    wrong = [(a, b, expected) for a, b, expected in RPMVERCMP_AT if rpmvercmp(a, b) != expected]
    assert wrong == []
    for a, b, expected in RPMVERCMP_AT:
        assert cmp(RPM.sort_key(a), RPM.sort_key(b)) == expected, (a, b)


@pytest.mark.parametrize(
    ("a", "b", "expected"),
    [
        ("1:1.0-1.el9", "2.0-1.el9", 1),  # the epoch first
        ("0:1.0-1", "1.0-1", 0),  # epoch 0 is no epoch
        ("1.0-1.el9", "1.0-1.el9_2", -1),
        ("1.0-1", "1.0", 1),  # a missing release is older than any
        ("1.0^git1-1", "1.0-1", 1),  # caret: after the end, before anything else
        ("1.0^git1-1", "1.0.1-1", -1),
        ("3.0.7-24.el9", "3.0.7-27.el9", -1),
    ],
)
def test_epoch_version_release(a: str, b: str, expected: int) -> None:
    assert RPM.compare(a, b) == expected
    assert cmp(RPM.sort_key(a), RPM.sort_key(b)) == expected


def _generated(rng: random.Random) -> str:
    pieces = ["1", "2", "10", "0", "01", "a", "b", "rc", "p", "el9", "git", ".", ".", "_", "~", "^", "+"]
    version = "".join(rng.choice(pieces) for _ in range(rng.randint(1, 6)))
    if rng.random() < 0.5:
        version += "-" + "".join(rng.choice(pieces) for _ in range(rng.randint(1, 4)))
    if rng.random() < 0.2:
        version = f"{rng.randint(0, 2)}:{version}"
    return version


@pytest.mark.skipif(
    shutil.which("rpm") is None, reason="Debian's rpm is not installed (make test installs it)"
)
def test_agrees_with_rpm_itself_on_generated_versions() -> None:
    rng = random.Random(17)
    pairs = [(_generated(rng), _generated(rng)) for _ in range(3000)]
    pairs += [(a, b) for a, b, _ in RPMVERCMP_AT]
    table = ",".join(f'{{"{a}","{b}"}}' for a, b in pairs)
    script = f"%{{lua: for _, p in ipairs({{{table}}}) do print(rpm.vercmp(p[1], p[2]) .. ' ') end}}"
    output = subprocess.run(["rpm", "--eval", script], capture_output=True, text=True, check=True).stdout
    answers = [int(word) for word in output.split()]
    assert len(answers) == len(pairs)
    wrong = [
        (a, b, expected)
        for (a, b), expected in zip(pairs, answers, strict=True)
        if RPM.compare(a, b) != expected
    ]
    assert wrong == []


def test_rpm_distributions_use_the_rpm_order() -> None:
    for ecosystem in [
        "Red Hat:enterprise_linux:9::appstream",
        "Rocky Linux:9",
        "AlmaLinux:8",
        "SUSE:Linux Enterprise Server 15 SP5",
        "openSUSE:Leap 15.5",
    ]:
        assert scheme_for(ecosystem) is RPM
