"""Packagist version order: PHP's `version_compare`, and PHP itself on generated versions.

The examples spell out the special-form order PHP documents for `version_compare`
(each checked with PHP 8.2 when written); where Debian's `php-cli` is installed (`make
test` installs it) the port is compared with PHP on 4,000 generated versions.
"""

from __future__ import annotations

import json
import random
import shutil
import subprocess
from pathlib import Path

import pytest

from repositories.vulns.versions import PACKAGIST, scheme_for
from repositories.vulns.versions.base import cmp
from repositories.vulns.versions.packagist import version_compare

DOCUMENTED = [
    ("5.2", "5.2.0", -1),
    ("1.0rc1", "1.0", -1),
    ("1.0-dev", "1.0-alpha", -1),
    ("1.0alpha", "1.0beta", -1),
    ("1.0a1", "1.0b1", -1),
    ("1.0b1", "1.0RC1", -1),
    ("1.0RC1", "1.0", -1),
    ("1.0", "1.0pl1", -1),
    ("1.0pl1", "1.0.1", 1),  # pl ranks above a number
    ("1.0-foo", "1.0-dev", -1),  # any other word is below dev
    ("5.3.0-dev", "5.3.0", -1),
    ("8.2.0", "8.10.0", -1),
    ("1.0.0", "1.0.0", 0),
    ("1-0", "1.0", 0),
    ("1a", "1.a", 0),
]


@pytest.mark.parametrize(("a", "b", "expected"), DOCUMENTED)
def test_documented_examples(a: str, b: str, expected: int) -> None:
    assert version_compare(a, b) == expected
    assert version_compare(b, a) == -expected


def test_composer_tags_with_a_v_compare_like_advisory_versions() -> None:
    assert PACKAGIST.compare("v5.4.30", "5.4.31") == -1
    assert PACKAGIST.compare("v5.4.31", "5.4.31") == 0
    assert cmp(PACKAGIST.sort_key("v5.4.30"), PACKAGIST.sort_key("5.4.31")) == -1
    assert scheme_for("Packagist") is PACKAGIST


@pytest.mark.skipif(
    shutil.which("php") is None, reason="Debian's php-cli is not installed (make test installs it)"
)
def test_agrees_with_php_itself_on_generated_versions(tmp_path: Path) -> None:
    rng = random.Random(5)
    pieces = [
        "1",
        "2",
        "10",
        "0",
        "01",
        ".",
        ".",
        "-",
        "_",
        "+",
        "dev",
        "alpha",
        "a",
        "beta",
        "b",
        "RC",
        "rc",
        "pl",
        "p",
        "patch",
        "foo",
    ]
    pairs = [
        (
            "".join(rng.choice(pieces) for _ in range(rng.randint(1, 6))),
            "".join(rng.choice(pieces) for _ in range(rng.randint(1, 6))),
        )
        for _ in range(4000)
    ]
    data = tmp_path / "pairs.json"
    data.write_text(json.dumps(pairs))
    script = f'foreach (json_decode(file_get_contents("{data}")) as $p) {{ echo version_compare($p[0], $p[1]), " "; }}'
    answers = [
        int(word)
        for word in subprocess.run(
            ["php", "-r", script], capture_output=True, text=True, check=True
        ).stdout.split()
    ]
    assert len(answers) == len(pairs)
    assert [(a, b, e) for (a, b), e in zip(pairs, answers, strict=True) if version_compare(a, b) != e] == []
