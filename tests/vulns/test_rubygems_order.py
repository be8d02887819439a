"""RubyGems version order: the comparisons of RubyGems' own `test/rubygems/test_gem_version.rb`
(rubygems/rubygems: `test_spaceship`, `test_equals2`, `test_eql_eh`, and the `+`-free
part of `test_semver`): 16 vectors. Ruby is not installed here, so its test data is
the reference.
"""

from __future__ import annotations

import pytest

from repositories.vulns.versions import RUBYGEMS, scheme_for
from repositories.vulns.versions.base import cmp

VECTORS = [
    # test_spaceship
    ("1.0", "1.0.0", 0),
    ("1.0", "1.0.a", 1),
    ("1.8.2", "0.0.0", 1),
    ("1.8.2", "1.8.2.a", 1),
    ("1.8.2.b", "1.8.2.a", 1),
    ("1.8.2.a", "1.8.2", -1),
    ("1.8.2.a10", "1.8.2.a9", 1),
    ("", "0", 0),
    # test_equals2 / test_eql_eh (== ignores trailing zeros; eql? does not, and is not an order)
    ("1.2", "1.2", 0),
    ("1.2", "1.3", -1),
    ("1.2.b1", "1.2.b.1", 0),
    ("1.2", "1.2.0", 0),
    # test_semver, without build metadata (`+` is not in RubyGems' version pattern)
    ("1.0.0-alpha", "1.0.0-alpha.1", -1),
    ("1.0.0-alpha.1", "1.0.0-beta.2", -1),
    ("1.0.0-beta.2", "1.0.0-beta.11", -1),
    ("1.0.0-beta.11", "1.0.0-rc.1", -1),
]


@pytest.mark.parametrize(("a", "b", "expected"), VECTORS)
def test_rubygems_vectors(a: str, b: str, expected: int) -> None:
    assert RUBYGEMS.compare(a, b) == expected
    assert RUBYGEMS.compare(b, a) == -expected
    assert cmp(RUBYGEMS.sort_key(a), RUBYGEMS.sort_key(b)) == expected


def test_malformed_versions_sort_first_and_are_invalid() -> None:
    assert not RUBYGEMS.is_valid("junk") and not RUBYGEMS.is_valid("1.0\n2.0")
    assert RUBYGEMS.is_valid(" 1.0 ") and RUBYGEMS.is_valid("1.0.0-rc.1")
    assert RUBYGEMS.compare("junk", "0.0.1") == -1


def test_rubygems_ecosystem_uses_it() -> None:
    assert scheme_for("RubyGems") is RUBYGEMS
    assert len(VECTORS) == 16
